// Decodes the DATA section of an SMTP/LMTP transaction as it arrives: finds the terminating
// "." line, removes dot-stuffing (RFC 5321 §4.5.2) and stores line ends as LF. Holds no more
// than the message itself, and stops storing (but keeps scanning for the end) once the message
// is larger than its limit, so an oversized message costs no memory beyond the limit.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace mailport::lmtp {

class DataDecoder {
 public:
  // `max_size`: the largest message kept, counted as sent (CRLF line ends, before stuffing is
  // removed counts the unstuffed text).
  void start(std::uint64_t max_size);

  // Consumes bytes up to and including the terminating line. Returns how many of `bytes` were
  // used; the rest belongs to the commands that follow.
  std::size_t feed(std::string_view bytes);

  bool done() const { return state_ == State::done; }
  bool too_big() const { return size_ > max_size_; }
  // CRLF-counted size of the unstuffed message seen so far.
  std::uint64_t size() const { return size_; }
  std::string take_message() { return std::move(message_); }

 private:
  enum class State { line_start, dot, dot_cr, middle, cr, done };
  void emit(std::string_view text);
  void emit_line_end();

  State state_ = State::done;
  std::uint64_t max_size_ = 0;
  std::uint64_t size_ = 0;
  std::string message_;
};

}  // namespace mailport::lmtp
