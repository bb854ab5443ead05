// The classic Unix mbox format as local delivery agents write it: each message starts with a
// "From sender date" line at the start of the file or after an empty line, and is followed by an
// empty line. Body lines that start with "From " are written as ">From " (the quoting the MTA's
// local delivery uses); reading leaves them as stored, like other POP3 servers on mbox spools.
#pragma once

#include <cstdint>
#include <ctime>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace mailport::store {

struct MboxEntry {
  std::uint64_t from_offset = 0;     // the "From " line
  std::uint64_t content_offset = 0;  // first header line
  std::uint64_t content_length = 0;  // up to, not including, the separating empty line
  std::uint64_t wire_size = 0;       // content with every line end counted as CRLF
  std::string uidl;                  // X-UIDL header if valid, else a digest of From_ + headers
};

// Splits a spool (or its tail from a message boundary on) into messages, fed in chunks of any
// size. Only a bounded prefix of each line is kept, so a huge message costs no memory.
class MboxScanner {
 public:
  // `start_offset`: where the fed bytes begin in the file (a "From " line or the start).
  explicit MboxScanner(std::uint64_t start_offset = 0);
  ~MboxScanner();
  MboxScanner(const MboxScanner&) = delete;
  MboxScanner& operator=(const MboxScanner&) = delete;

  void feed(std::string_view chunk);
  // End of input: closes the last message and returns all of them, in file order.
  std::vector<MboxEntry> finish();
  // Bytes before the first "From " line (not an mbox, or a damaged one); they are skipped.
  bool had_garbage() const { return garbage_; }

 private:
  struct Digest;
  void end_line(bool has_lf, bool crlf);
  void close_message(std::uint64_t content_end, std::uint64_t separator_wire);

  std::uint64_t offset_;      // file offset of the next byte fed
  std::uint64_t line_start_;  // file offset of the line being read
  std::uint64_t line_length_ = 0;
  std::string line_prefix_;     // the first bytes of the line being read
  bool last_byte_cr_ = false;   // a CR right before an LF makes that line end CRLF
  bool previous_empty_ = true;  // the start of input counts as after an empty line
  std::uint64_t previous_start_ = 0;
  bool in_message_ = false;
  bool in_headers_ = false;
  bool garbage_ = false;
  MboxEntry current_;
  std::string x_uidl_;
  std::unique_ptr<Digest> digest_;  // SHA-256 of the From_ line and the header block
  std::vector<MboxEntry> entries_;
};

// The "From sender date" line for a new message (sender "" is written as MAILER-DAEMON), with
// the time in the asctime() layout.
std::string mbox_from_line(std::string_view sender, std::time_t when);

// `message` (LF line ends) as it is appended: From_ line, ">From " quoting, a final line end
// and the separating empty line. `need_separator` prepends the line ends a spool that does not
// end in an empty line needs (0, 1 or 2 LFs).
std::string mbox_entry(std::string_view message, std::string_view from_line,
                       std::size_t need_separator);

}  // namespace mailport::store
