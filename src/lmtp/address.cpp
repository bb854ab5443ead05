#include "lmtp/address.hpp"

namespace mailport::lmtp {
namespace {

// RFC 5321 §4.5.3.1.3: a path is at most 256 octets including the brackets.
constexpr std::size_t kMaxPath = 254;

bool is_control(char c) {
  const auto byte = static_cast<unsigned char>(c);
  return byte < 0x20 || byte == 0x7f;
}

// "@relay1,@relay2:user@domain" -> "user@domain" (RFC 5321 §4.1.2 says to ignore the route).
std::string_view without_source_route(std::string_view inner) {
  if (inner.empty() || inner.front() != '@') return inner;
  const std::size_t colon = inner.find(':');
  return colon == std::string_view::npos ? std::string_view() : inner.substr(colon + 1);
}

}  // namespace

std::optional<ParsedPath> parse_path(std::string_view text) {
  if (text.empty() || text.front() != '<') return std::nullopt;
  bool quoted = false;
  for (std::size_t i = 1; i < text.size(); ++i) {
    const char c = text[i];
    if (is_control(c)) return std::nullopt;
    if (quoted && c == '\\') {
      if (++i == text.size() || is_control(text[i])) return std::nullopt;
    } else if (c == '"') {
      quoted = !quoted;
    } else if (!quoted && c == ' ') {
      return std::nullopt;
    } else if (!quoted && c == '>') {
      const std::string_view inner = text.substr(1, i - 1);
      if (inner.size() > kMaxPath) return std::nullopt;
      const std::string_view address = without_source_route(inner);
      if (address.empty() && !inner.empty()) return std::nullopt;
      return ParsedPath{std::string(address), text.substr(i + 1)};
    }
  }
  return std::nullopt;
}

std::string_view local_part(std::string_view address) {
  return address.substr(0, address.rfind('@'));
}

std::string_view domain_part(std::string_view address) {
  const std::size_t at = address.rfind('@');
  return at == std::string_view::npos ? std::string_view() : address.substr(at + 1);
}

}  // namespace mailport::lmtp
