// Splits client input into command lines with bounded memory: once the line being received can
// no longer fit its limit, only its first octets are kept and the rest is dropped on arrival up
// to its line feed, so a 1 MiB line costs no more memory than a short one.
//
// A line ends with LF; a CR right before it is part of the line end, so both CRLF and the bare
// LF some clients send are accepted. Any other control byte (a bare CR, NUL, 0x01-0x1F, 0x7F)
// makes the whole line invalid: it is reported, never truncated and executed.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace mailport::pop3 {

class LineReader {
 public:
  enum class Problem { none, too_long, control_byte };
  struct Line {
    std::string_view text;  // without the line end; valid until the next feed() or clear()
    Problem problem = Problem::none;
  };

  // `max_limit`: the largest limit next() is ever called with.
  explicit LineReader(std::size_t max_limit) : max_limit_(max_limit) {}

  // `next_limit`: the limit next() will apply to the first line not yet returned. While that
  // line is incomplete it is cut at that limit; lines queued behind it are cut at max_limit.
  void feed(std::string_view bytes, std::size_t next_limit);

  // The next line, or too_long as soon as the line is known to exceed `limit` octets (counting
  // its line end). nullopt: no complete line buffered.
  std::optional<Line> next(std::size_t limit);

  // Forgets all buffered input (after STLS nothing sent in plaintext may be executed).
  void clear();

  std::size_t buffered() const { return buffer_.size() - read_pos_; }

 private:
  void compact();
  void append_partial(std::string_view bytes, std::size_t limit);

  std::size_t max_limit_;
  std::string buffer_;
  std::size_t read_pos_ = 0;        // start of the first line not yet returned
  std::size_t line_start_ = 0;      // start of the incomplete line at the end of buffer_
  bool discarding_ = false;         // dropping input up to the next LF
  bool cut_line_buffered_ = false;  // the cut prefix is still in buffer_ and needs its LF
};

}  // namespace mailport::pop3
