// Turns stored message bytes into the body of a RETR/TOP multi-line response: bare LF becomes
// CRLF, lines starting with "." are dot-stuffed, TOP stops after the header and `top_lines` body
// lines, and finish() terminates with CRLF "." CRLF (adding the CRLF a last line may lack).
// Works on arbitrary chunk boundaries.
#pragma once

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
  bool done() const;
  // Appends the end of the response ("\r\n" if needed, then ".\r\n").
  void finish(std::string& out);

 private:
  std::optional<std::uint64_t> top_lines_;
  // The implementation (body_encoder.cpp) owns the rest of the private state.
};

}  // namespace mailport::pop3
