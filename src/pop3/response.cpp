#include "pop3/response.hpp"

namespace mailport::pop3 {

namespace {

constexpr std::string_view kCrlf = "\r\n";

bool control_byte(char c) {
  const auto byte = static_cast<unsigned char>(c);
  return byte < 0x20 || byte == 0x7F;
}

bool utf8_continuation(char c) {
  return (static_cast<unsigned char>(c) & 0xC0) == 0x80;
}

// Appends `prefix` + `text` + CRLF within kMaxResponseLine. Configured text (greeting,
// implementation) could otherwise smuggle a line break or overflow the client's buffer.
void append_line(std::string& out, std::string_view prefix, std::string_view text) {
  const std::size_t room = kMaxResponseLine - kCrlf.size() - prefix.size();
  if (text.size() > room) {
    std::size_t cut = room;
    while (cut > 0 && utf8_continuation(text[cut])) --cut;  // do not split a character
    text = text.substr(0, cut);
  }
  out.append(prefix);
  const std::size_t start = out.size();
  out.append(text);  // one copy; listings append 100,000 lines
  for (std::size_t i = start; i < out.size(); ++i) {
    if (control_byte(out[i])) out[i] = ' ';
  }
  out.append(kCrlf);
}

}  // namespace

void append_ok(std::string& out, std::string_view text) {
  append_line(out, text.empty() ? "+OK" : "+OK ", text);
}

void append_err(std::string& out, std::string_view text) {
  append_line(out, "-ERR ", text);
}

std::string ok_line(std::string_view text) {
  std::string line;
  append_ok(line, text);
  return line;
}

void append_listing_line(std::string& out, std::string_view line) {
  append_line(out, needs_dot_stuffing(line) ? "." : "", line);
}

void append_end_of_listing(std::string& out) {
  out.append(".\r\n");
}

void append_challenge(std::string& out, std::string_view base64) {
  out.append("+ ");
  out.append(base64);
  out.append(kCrlf);
}

}  // namespace mailport::pop3
