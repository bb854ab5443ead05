// The LMTP transport: Unix-socket and loopback TCP listeners, one coroutine per connection
// driving a sans-I/O lmtp::Session. Recipient checks and deliveries (which fsync) run on the
// BlockingPool, never on an I/O thread.
#pragma once

#include <asio/io_context.hpp>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "auth/passwd_file.hpp"
#include "config/config.hpp"
#include "core/result.hpp"
#include "net/blocking_pool.hpp"

namespace mailport::lmtp {
class LocalDelivery;
}

namespace mailport::net {

class LmtpServer {
 public:
  LmtpServer(const config::Config& config, auth::PassDb& passdb, BlockingPool& pool);
  ~LmtpServer();
  LmtpServer(const LmtpServer&) = delete;
  LmtpServer& operator=(const LmtpServer&) = delete;

  // Binds every lmtp.listen address; a stale socket file left by a crash is replaced.
  Result<void> open(asio::io_context& context);
  // What was bound, for the log: "unix:/run/mailport/lmtp", "127.0.0.1:2424" (actual port).
  const std::vector<std::string>& addresses() const { return addresses_; }

  // Starts accepting on `accept_context`; each connection runs on the context `next` returns.
  void start(asio::io_context& accept_context, std::function<asio::io_context&()> next);
  // Closes the listening sockets (before their io_context goes) and removes the socket files.
  // Deliveries still on the pool keep using this object, so it must outlive the pool.
  void close();

 private:
  struct Listeners;
  const config::Config& config_;
  BlockingPool& pool_;
  std::unique_ptr<lmtp::LocalDelivery> delivery_;
  std::unique_ptr<Listeners> listeners_;
  std::vector<std::string> addresses_;
};

}  // namespace mailport::net
