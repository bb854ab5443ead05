#include "config/config.hpp"

#include <arpa/inet.h>
#include <fmt/format.h>

#include <charconv>
#include <stdexcept>
#include <utility>

#include "config/detail.hpp"

namespace mailport::config {
namespace {

constexpr std::string_view kLoopback = "127.0.0.1";
constexpr std::uint16_t kPop3Port = 110;
constexpr std::uint16_t kPop3sPort = 995;
// Unprivileged ports for a non-root start of the embedded default.
constexpr std::uint16_t kPop3FallbackPort = 1110;
constexpr std::uint16_t kPop3sFallbackPort = 1995;
constexpr std::size_t kMaxResponseText = 200;

std::string format_error(const std::string& file, unsigned line, const std::string& key,
                         const std::string& message) {
  std::string text = file;
  if (line > 0) text += fmt::format(":{}", line);
  text += ": ";
  if (!key.empty()) text += key + ": ";
  return text + message;
}

}  // namespace

ConfigError::ConfigError(std::string file, unsigned line, std::string key, std::string message)
    : std::runtime_error(format_error(file, line, key, message)),
      file_(std::move(file)),
      line_(line),
      key_(std::move(key)) {}

std::optional<PlaintextAuth> parse_plaintext_auth(std::string_view text) {
  if (text == "never") return PlaintextAuth::never;
  if (text == "loopback") return PlaintextAuth::loopback;
  if (text == "always") return PlaintextAuth::always;
  return std::nullopt;
}

std::string_view to_string(PlaintextAuth value) {
  switch (value) {
    case PlaintextAuth::never:
      return "never";
    case PlaintextAuth::loopback:
      return "loopback";
    case PlaintextAuth::always:
      return "always";
  }
  return "never";
}

Config embedded_default(const std::filesystem::path& data_dir) {
  Config config = detail::file_defaults();
  config.data_dir = data_dir;
  config.embedded_default = true;
  config.listen.pop3_fallback_port = kPop3FallbackPort;
  config.listen.pop3s_fallback_port = kPop3sFallbackPort;
  const std::filesystem::path base = std::filesystem::absolute(data_dir).lexically_normal();
  config.tls.cert = base / "tls" / "cert.pem";
  config.tls.key = base / "tls" / "key.pem";
  config.auth.passwd = base / "passwd";
  config.mail.location = (base / "mail" / "%u" / "Maildir").string();
  return config;
}

namespace detail {

Config file_defaults() {
  Config config;
  config.listen.pop3 = Endpoint{std::string(kLoopback), kPop3Port};
  config.listen.pop3s = Endpoint{std::string(kLoopback), kPop3sPort};
  return config;
}

void check_response_text(std::string_view text) {
  if (text.size() > kMaxResponseText) {
    throw std::invalid_argument(
        fmt::format("too long ({} characters, at most {})", text.size(), kMaxResponseText));
  }
  for (char c : text) {
    if (c < 0x20 || c > 0x7e) {
      throw std::invalid_argument(
          "only printable ASCII is allowed (no control characters, no line breaks)");
    }
  }
}

void check_expire(std::string_view text) {
  if (text == "NEVER") return;
  const bool digits = !text.empty() && text.size() <= 9 &&
                      text.find_first_not_of("0123456789") == std::string_view::npos;
  if (!digits) {
    throw std::invalid_argument(
        fmt::format("\"{}\" is neither \"NEVER\" nor a number of days", text));
  }
}

void check_cidr(std::string_view text) {
  const auto slash = text.find('/');
  const std::string address(text.substr(0, slash));
  unsigned char buffer[16];
  const bool v4 = ::inet_pton(AF_INET, address.c_str(), buffer) == 1;
  const bool v6 = !v4 && ::inet_pton(AF_INET6, address.c_str(), buffer) == 1;
  if (!v4 && !v6) {
    throw std::invalid_argument(fmt::format("\"{}\" is not a numeric IP address", address));
  }
  if (slash == std::string_view::npos) return;
  const std::string_view digits = text.substr(slash + 1);
  const unsigned max_prefix = v4 ? 32 : 128;
  unsigned prefix = 0;
  auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), prefix);
  if (digits.empty() || error != std::errc() || end != digits.data() + digits.size() ||
      prefix > max_prefix) {
    throw std::invalid_argument(
        fmt::format("bad prefix length \"{}\" (0 to {})", digits, max_prefix));
  }
}

}  // namespace detail
}  // namespace mailport::config
