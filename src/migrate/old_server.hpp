// A logged-in session with the old POP3 server, shared by `migrate pull` (which copies its
// messages) and `migrate import --from pop3` (which only reads its UIDL listing): the fetch
// client's TLS rules (pop3s://, or STLS on pop3://; plaintext only with insecure_plaintext) and
// authentication choices (client/login_session.hpp). Nothing here ever sends DELE.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "client/connection.hpp"
#include "client/login_session.hpp"
#include "client/pop3_client.hpp"
#include "core/result.hpp"

namespace mailport::migrate {

using OldServerOptions = client::ServerAccess;

// One message of the old server's listing, in its order.
struct OldMessage {
  std::uint64_t number = 0;
  std::string uidl;
  std::uint64_t size = 0;  // octets as LIST reported them
};

using NoteFn = std::function<void(const std::string& line)>;

class OldServer {
 public:
  // Connects and logs in; `warn` hears about a plaintext login the options allowed, `note`
  // about progress. Errors: network, TLS, a refused login (errc::auth_failed), no STLS.
  static Result<OldServer> open(const OldServerOptions& options, std::string_view password,
                                const NoteFn& note, const NoteFn& warn);

  // UIDL and LIST, cross-checked (every message in both); errc::permanent_failure when the server
  // knows no UIDL, so there are no old UIDLs to keep.
  Result<std::vector<OldMessage>> listing();

  client::Pop3Client& client() { return *client_; }

 private:
  std::unique_ptr<client::Connection> connection_;
  std::unique_ptr<client::Pop3Client> client_;
};

}  // namespace mailport::migrate
