// Pieces shared by the loader, the validator and the writer; not part of the public API.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "config/config.hpp"

namespace mailport::config::detail {

inline constexpr std::array<std::string_view, 5> kLogLevels = {"trace", "debug", "info", "warn",
                                                               "error"};
inline constexpr std::array<std::string_view, 2> kLogFormats = {"text", "json"};
inline constexpr std::array<std::string_view, 2> kTlsVersions = {"TLSv1.2", "TLSv1.3"};
// SASL mechanisms the server implements (src/sasl), in the order CAPA lists them by default.
inline constexpr std::array<std::string_view, 4> kSaslMechanisms = {"PLAIN", "LOGIN",
                                                                    "SCRAM-SHA-256", "SCRAM-SHA-1"};
inline constexpr std::array<std::string_view, 2> kClientWorkarounds = {"outlook-no-nuls",
                                                                       "oe-ns-eoh"};
inline constexpr std::array<std::string_view, 3> kPlaintextAuthValues = {"never", "loopback",
                                                                         "always"};

// mail.location may name its backend, as in "maildir:/var/mail/%u" or "mbox:/var/mail/%u".
inline constexpr std::string_view kMaildirPrefix = "maildir:";
inline constexpr std::string_view kMboxPrefix = "mbox:";
// "postgres:CONNINFO" (mail.location, auth.passdb): a libpq connection string or URI.
inline constexpr std::string_view kPostgresPrefix = "postgres:";

// The backend prefix of a mail location ("maildir:", "mbox:") or an empty view.
inline std::string_view location_prefix(std::string_view location) {
  if (location.starts_with(kMaildirPrefix)) return kMaildirPrefix;
  if (location.starts_with(kMboxPrefix)) return kMboxPrefix;
  return {};
}

// Bounds of lmtp.max_message_size: the message is held in memory while it is delivered.
inline constexpr std::uint64_t kMinMessageSize = 1024;
inline constexpr std::uint64_t kMaxMessageSize = 1024ull * 1024 * 1024;
inline constexpr unsigned kMaxSocketMode = 0777;
inline constexpr std::string_view kUnixPrefix = "unix:";

// What a configuration file starts from: the embedded default's listeners and tunables, but no
// paths (a file must name them) and no fallback ports (a file says exactly where to listen).
Config file_defaults();

template <std::size_t N>
bool is_one_of(std::string_view value, const std::array<std::string_view, N>& choices) {
  for (std::string_view choice : choices) {
    if (value == choice) return true;
  }
  return false;
}

// "a, b or c", quoted, for messages.
template <std::size_t N>
std::string describe_choices(const std::array<std::string_view, N>& choices) {
  std::string text;
  for (std::size_t i = 0; i < N; ++i) {
    if (i > 0) text += i + 1 == N ? " or " : ", ";
    text += '"';
    text += choices[i];
    text += '"';
  }
  return text;
}

// Text that ends up on a POP3 response line (greeting, CAPA IMPLEMENTATION): printable ASCII
// only, so a configuration cannot inject CR LF into the protocol, and short enough to fit the
// 512-octet response limit with the rest of the line. Throws std::invalid_argument.
void check_response_text(std::string_view text);

// "NEVER" or a number of days, as RFC 2449's EXPIRE capability allows. Throws
// std::invalid_argument.
void check_expire(std::string_view text);

// "ADDR" or "ADDR/PREFIX" with a numeric IPv4 or IPv6 address and a prefix within its size.
// Throws std::invalid_argument.
void check_cidr(std::string_view text);

}  // namespace mailport::config::detail
