// Parsing and formatting of the value syntaxes a configuration uses: endpoints, LMTP addresses,
// durations and sizes.
#include <arpa/inet.h>
#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cstdint>
#include <limits>
#include <stdexcept>

#include "config/config.hpp"
#include "config/detail.hpp"

namespace mailport::config {
namespace {

using std::chrono::milliseconds;

// Keeps every duration far from the range limits of the clocks and timers that consume it.
constexpr milliseconds kMaxDuration = std::chrono::hours(24 * 365);

struct DurationUnit {
  std::string_view suffix;
  milliseconds length;
};
// Largest first, which is the order format_duration needs.
constexpr std::array<DurationUnit, 4> kUnits = {{
    {"h", std::chrono::hours(1)},
    {"m", std::chrono::minutes(1)},
    {"s", std::chrono::seconds(1)},
    {"ms", milliseconds(1)},
}};

struct SizeUnit {
  char suffix;
  std::uint64_t length;
};
// Largest first, which is the order format_size needs.
constexpr std::array<SizeUnit, 3> kSizeUnits = {{
    {'G', std::uint64_t{1} << 30},
    {'M', std::uint64_t{1} << 20},
    {'K', std::uint64_t{1} << 10},
}};

bool all_digits(std::string_view text) {
  return !text.empty() && text.find_first_not_of("0123456789") == std::string_view::npos;
}

std::uint16_t parse_port(std::string_view text) {
  unsigned value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (!all_digits(text) || ec != std::errc() || end != text.data() + text.size() ||
      value > std::numeric_limits<std::uint16_t>::max()) {
    throw std::invalid_argument(fmt::format("port \"{}\" is not a number from 0 to 65535", text));
  }
  return static_cast<std::uint16_t>(value);
}

bool is_numeric_address(int family, const std::string& address) {
  std::array<unsigned char, 16> buffer{};
  return inet_pton(family, address.c_str(), buffer.data()) == 1;
}

Endpoint parse_bracketed(std::string_view text) {
  const std::size_t close = text.find(']');
  if (close == std::string_view::npos) {
    throw std::invalid_argument(fmt::format("\"{}\": missing ']' after the IPv6 address", text));
  }
  if (close + 1 >= text.size() || text[close + 1] != ':') {
    throw std::invalid_argument(fmt::format("\"{}\": expected \":PORT\" after ']'", text));
  }
  std::string address(text.substr(1, close - 1));
  if (!is_numeric_address(AF_INET6, address)) {
    throw std::invalid_argument(fmt::format("\"{}\" is not a numeric IPv6 address", address));
  }
  return Endpoint{std::move(address), parse_port(text.substr(close + 2))};
}

Endpoint parse_plain(std::string_view text) {
  const std::size_t colon = text.rfind(':');
  if (colon == std::string_view::npos) {
    throw std::invalid_argument(fmt::format("\"{}\": missing \":PORT\"", text));
  }
  std::string address(text.substr(0, colon));
  if (address.find(':') != std::string::npos) {
    throw std::invalid_argument(
        fmt::format("\"{}\": write IPv6 addresses in brackets, e.g. \"[::1]:110\"", text));
  }
  if (!is_numeric_address(AF_INET, address)) {
    throw std::invalid_argument(
        fmt::format("\"{}\" is not a numeric IPv4 address (host names are not accepted)", address));
  }
  return Endpoint{std::move(address), parse_port(text.substr(colon + 1))};
}

}  // namespace

std::optional<Endpoint> parse_endpoint(std::string_view text) {
  if (text == "off") return std::nullopt;
  if (text.empty()) {
    throw std::invalid_argument("empty; expected \"ADDR:PORT\", \"[IPv6]:PORT\" or \"off\"");
  }
  return text.front() == '[' ? parse_bracketed(text) : parse_plain(text);
}

std::optional<Endpoint> parse_metrics_endpoint(std::string_view text) {
  const bool bare_port = !text.empty() && std::all_of(text.begin(), text.end(),
                                                      [](char c) { return c >= '0' && c <= '9'; });
  if (bare_port) return Endpoint{"127.0.0.1", parse_port(text)};
  return parse_endpoint(text);
}

std::string format_endpoint(const std::optional<Endpoint>& endpoint) {
  if (!endpoint) return "off";
  if (endpoint->address.find(':') != std::string::npos) {
    return fmt::format("[{}]:{}", endpoint->address, endpoint->port);
  }
  return fmt::format("{}:{}", endpoint->address, endpoint->port);
}

std::optional<LmtpAddress> parse_lmtp_address(std::string_view text) {
  if (!text.starts_with(detail::kUnixPrefix)) {
    std::optional<Endpoint> tcp = parse_endpoint(text);
    if (!tcp) return std::nullopt;
    return LmtpAddress{{}, std::move(tcp)};
  }
  const std::string_view path = text.substr(detail::kUnixPrefix.size());
  if (path.empty() || path.front() != '/') {
    throw std::invalid_argument(fmt::format(
        "\"{}\": a Unix socket needs an absolute path, e.g. \"unix:/run/mailport/lmtp\"", text));
  }
  // sockaddr_un holds at most 107 octets plus the terminating NUL.
  if (path.size() > 107 || path.find('\0') != std::string_view::npos) {
    throw std::invalid_argument(
        fmt::format("\"{}\": a Unix socket path must be at most 107 octets", text));
  }
  return LmtpAddress{std::filesystem::path(path).lexically_normal(), std::nullopt};
}

std::string format_lmtp_address(const LmtpAddress& address) {
  if (address.tcp) return format_endpoint(address.tcp);
  return std::string(detail::kUnixPrefix) + address.unix_path.string();
}

std::uint64_t parse_size(std::string_view text) {
  std::uint64_t multiplier = 1;
  std::string_view number = text;
  for (const SizeUnit& unit : kSizeUnits) {
    if (!text.empty() && text.back() == unit.suffix) {
      multiplier = unit.length;
      number.remove_suffix(1);
    }
  }
  std::uint64_t count = 0;
  const auto [end, ec] = std::from_chars(number.data(), number.data() + number.size(), count);
  if (!all_digits(number) || end != number.data() + number.size()) {
    throw std::invalid_argument(fmt::format(
        "\"{}\" is not a size; write a number of bytes, optionally with K, M or G (\"50M\")",
        text));
  }
  if (ec != std::errc() || count > std::numeric_limits<std::uint64_t>::max() / multiplier) {
    throw std::invalid_argument(fmt::format("\"{}\": too large", text));
  }
  return count * multiplier;
}

std::string format_size(std::uint64_t bytes) {
  for (const SizeUnit& unit : kSizeUnits) {
    if (bytes != 0 && bytes % unit.length == 0) {
      return fmt::format("{}{}", bytes / unit.length, unit.suffix);
    }
  }
  return std::to_string(bytes);
}

milliseconds parse_duration(std::string_view text) {
  if (!text.empty() && text.front() == '-') {
    throw std::invalid_argument(fmt::format("\"{}\": a duration must not be negative", text));
  }
  for (const DurationUnit& unit : kUnits) {
    if (!text.ends_with(unit.suffix)) continue;
    const std::string_view number = text.substr(0, text.size() - unit.suffix.size());
    std::uint64_t count = 0;
    const auto [end, ec] = std::from_chars(number.data(), number.data() + number.size(), count);
    // "500ms" also ends with "s"; the digit check sends it on to the "ms" unit.
    if (!all_digits(number) || end != number.data() + number.size()) continue;
    if (ec != std::errc() || count > static_cast<std::uint64_t>(kMaxDuration / unit.length)) {
      throw std::invalid_argument(fmt::format("\"{}\": longer than 365 days", text));
    }
    return unit.length * static_cast<std::int64_t>(count);
  }
  throw std::invalid_argument(fmt::format(
      "\"{}\" is not a duration; write a whole number with a unit: \"500ms\", \"2s\", \"10m\" or "
      "\"1h\"",
      text));
}

std::string format_duration(milliseconds value) {
  if (value.count() == 0) return "0s";
  for (const DurationUnit& unit : kUnits) {
    if (value % unit.length == milliseconds(0)) {
      return fmt::format("{}{}", value / unit.length, unit.suffix);
    }
  }
  return fmt::format("{}ms", value.count());
}

}  // namespace mailport::config
