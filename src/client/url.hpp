// The server address of `mailport fetch`: pop3s://USER@HOST[:PORT] or pop3://USER@HOST[:PORT].
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/result.hpp"

namespace mailport::client {

inline constexpr std::uint16_t kPop3Port = 110;
inline constexpr std::uint16_t kPop3sPort = 995;

struct ServerUrl {
  bool implicit_tls = true;  // pop3s:// (RFC 8314); pop3:// upgrades with STLS
  std::string user;          // percent-decoded, so "me%40example.org" logs in as me@example.org
  std::string host;          // without the brackets of an IPv6 literal
  std::uint16_t port = kPop3sPort;

  // "user@host:port", the name of the account in logs, summaries and state files.
  std::string display() const;
};

// A password in the URL is refused: argv is readable by every local user (/proc/PID/cmdline).
Result<ServerUrl> parse_server_url(std::string_view text);

}  // namespace mailport::client
