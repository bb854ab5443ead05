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

class BodyEncoder {
 public:
  explicit BodyEncoder(std::optional<std::uint64_t> top_lines = std::nullopt);

  // Appends the encoded form of `chunk` to `out`.
  void encode(std::string_view chunk, std::string& out);
  // True once TOP has emitted everything it will: the caller may stop reading the message.
  bool done() const { return done_; }
  // Appends the end of the response ("\r\n" if needed, then ".\r\n").
  void finish(std::string& out);

 private:
  void end_line();

  std::optional<std::uint64_t> top_lines_;
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
