// Connect to a POP3 server and log in, the way every client command does it (`fetch`,
// `migrate pull`, `migrate import --from pop3`): pop3s:// starts TLS at once; pop3:// upgrades
// with STLS when offered (and asks CAPA again, RFC 2595 §4) and logs in without TLS only when
// the caller allows plaintext; the login picks the method from the capabilities.
#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "client/connection.hpp"
#include "client/pop3_client.hpp"
#include "client/url.hpp"
#include "core/result.hpp"

namespace mailport::client {

struct ServerAccess {
  ServerUrl url;
  std::optional<std::filesystem::path> cafile;
  bool insecure_plaintext = false;  // pop3:// may log in without TLS when STLS is missing
  AuthMethod auth = AuthMethod::automatic;
  std::chrono::milliseconds timeout{std::chrono::seconds(60)};
};

struct LoggedIn {
  std::unique_ptr<Connection> connection;
  std::unique_ptr<Pop3Client> client;         // talks over *connection
  std::optional<Capabilities> caps;           // CAPA before login (after TLS); nullopt: no CAPA
  AuthMethod method = AuthMethod::automatic;  // the method that succeeded
};

// `warn` hears about a plaintext login that `insecure_plaintext` allowed. Errors: network, TLS,
// errc::permanent_failure for a server without STLS when plaintext is not allowed, the login's.
Result<LoggedIn> connect_and_login(const ServerAccess& access, std::string_view password,
                                   const std::function<void(std::string)>& warn);

}  // namespace mailport::client
