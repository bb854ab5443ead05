// Turns stored message bytes into the body of a RETR/TOP multi-line response: bare LF becomes
// CRLF, lines starting with "." are dot-stuffed, TOP stops after the header and `top_lines` body
// lines, and finish() terminates with CRLF "." CRLF (adding the CRLF a last line may lack).
// Works on arbitrary chunk boundaries.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace mailport::pop3 {

// Changes to what RETR/TOP send, for clients known to mishandle valid messages. All are off by
// default; docs/compatibility.md says which client needs which.
struct ClientWorkarounds {
  // "outlook-no-nuls": NUL octets are sent as 0x80, which keeps the size; some clients stop
  // reading a message at a NUL and then wait forever for the rest.
  bool outlook_no_nuls = false;
  // "oe-ns-eoh": a message whose header never ends (no empty line) gets the empty line, two
  // octets the announced size does not count; some clients cannot show such a message.
  bool oe_ns_eoh = false;

  bool operator==(const ClientWorkarounds&) const = default;
};

// Turns the workaround called `name` on; false if there is no workaround of that name.
bool enable_client_workaround(ClientWorkarounds& workarounds, std::string_view name);

class BodyEncoder {
 public:
  explicit BodyEncoder(std::optional<std::uint64_t> top_lines = std::nullopt,
                       ClientWorkarounds workarounds = {});

  // Appends the encoded form of `chunk` to `out`.
  void encode(std::string_view chunk, std::string& out);
  // True once TOP has emitted everything it will: the caller may stop reading the message.
  bool done() const { return done_; }
  // Appends the end of the response ("\r\n" if needed, then ".\r\n").
  void finish(std::string& out);

 private:
  void end_line();

  void append_text(std::string_view text, std::string& out) const;

  std::optional<std::uint64_t> top_lines_;
  ClientWorkarounds workarounds_;
  bool at_line_start_ = true;
  bool after_cr_ = false;  // the last byte written was a CR, so a following LF completes a CRLF
  std::size_t line_octets_ = 0;  // written on the current line, not counting its line end
  bool in_header_ = true;        // before the empty line that ends the header
  std::uint64_t body_lines_ = 0;
  bool done_ = false;
};

// Octets of `content` once every bare LF is sent as CRLF, before dot-stuffing: the message size
// RFC 1939 §11 asks for. A bare CR stays one octet, as BodyEncoder passes it through.
std::uint64_t wire_octets(std::string_view content);

}  // namespace mailport::pop3
