#include "client/url.hpp"

#include <charconv>
#include <optional>

namespace mailport::client {
namespace {

Error bad_url(std::string_view text, std::string_view why) {
  return make_error(errc::invalid_input,
                    "invalid server URL '" + std::string(text) + "': " + std::string(why));
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// RFC 3986 percent-decoding; nullopt for a truncated or non-hex escape or an encoded NUL.
std::optional<std::string> percent_decode(std::string_view text) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '%') {
      out.push_back(text[i]);
      continue;
    }
    if (i + 2 >= text.size()) return std::nullopt;
    const int high = hex_value(text[i + 1]);
    const int low = hex_value(text[i + 2]);
    if (high < 0 || low < 0 || (high == 0 && low == 0)) return std::nullopt;
    out.push_back(static_cast<char>(high * 16 + low));
    i += 2;
  }
  return out;
}

bool valid_host_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.' || c == '_';
}

}  // namespace

std::string ServerUrl::display() const {
  const bool ipv6 = host.find(':') != std::string::npos;
  return user + "@" + (ipv6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

Result<ServerUrl> parse_server_url(std::string_view text) {
  ServerUrl url;
  std::string_view rest = text;
  if (rest.starts_with("pop3s://")) {
    rest.remove_prefix(8);
  } else if (rest.starts_with("pop3://")) {
    url.implicit_tls = false;
    url.port = kPop3Port;
    rest.remove_prefix(7);
  } else {
    return bad_url(text, "expected pop3s://USER@HOST[:PORT] or pop3://USER@HOST[:PORT]");
  }
  if (rest.ends_with('/')) rest.remove_suffix(1);
  const auto at = rest.rfind('@');
  if (at == std::string_view::npos || at == 0) return bad_url(text, "no user name before '@'");
  const auto userinfo = rest.substr(0, at);
  if (userinfo.find(':') != std::string_view::npos) {
    return bad_url(text,
                   "a password does not belong in the URL (other users can read the command "
                   "line); use --password-file, MAILPORT_PASSWORD or the prompt");
  }
  auto user = percent_decode(userinfo);
  if (!user || user->empty()) return bad_url(text, "malformed percent-escape in the user name");
  url.user = std::move(*user);

  std::string_view hostport = rest.substr(at + 1);
  std::string_view port_text;
  if (hostport.starts_with('[')) {
    const auto close = hostport.find(']');
    if (close == std::string_view::npos) return bad_url(text, "unterminated IPv6 address");
    url.host = std::string(hostport.substr(1, close - 1));
    const auto after = hostport.substr(close + 1);
    if (!after.empty() && !after.starts_with(':')) return bad_url(text, "junk after ']'");
    if (!after.empty()) port_text = after.substr(1);
    if (url.host.empty() ||
        url.host.find_first_not_of("0123456789abcdefABCDEF:.") != std::string::npos) {
      return bad_url(text, "malformed IPv6 address");
    }
  } else {
    const auto colon = hostport.find(':');
    url.host = std::string(hostport.substr(0, colon));
    if (colon != std::string_view::npos) port_text = hostport.substr(colon + 1);
    if (url.host.empty()) return bad_url(text, "no host name");
    for (char c : url.host) {
      if (!valid_host_char(c)) return bad_url(text, "invalid character in the host name");
    }
  }
  if (!port_text.empty() || hostport.ends_with(':')) {
    unsigned value = 0;
    const auto [end, ec] =
        std::from_chars(port_text.data(), port_text.data() + port_text.size(), value);
    if (ec != std::errc() || end != port_text.data() + port_text.size() || value == 0 ||
        value > 65535) {
      return bad_url(text, "the port must be a number from 1 to 65535");
    }
    url.port = static_cast<std::uint16_t>(value);
  }
  return url;
}

}  // namespace mailport::client
