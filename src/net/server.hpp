// The POP3/POP3S server: listeners, one coroutine per connection on a small set of I/O threads,
// and a blocking pool for password checks and mailbox I/O.
#pragma once

#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/signal_set.hpp>
#include <asio/ssl/context.hpp>
#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "auth/passwd_file.hpp"
#include "config/config.hpp"
#include "core/result.hpp"
#include "net/abuse_guard.hpp"
#include "net/blocking_pool.hpp"
#include "net/login_service.hpp"
#include "net/proxy_reader.hpp"
#include "net/tls_context.hpp"
#include "store/mail_store.hpp"

namespace mailport::net {

class LmtpServer;

enum class ListenerKind { pop3, pop3s };
std::string_view to_string(ListenerKind kind);

AbuseSettings abuse_settings(const config::Config& config);

struct BoundListener {
  ListenerKind kind;
  asio::ip::tcp::endpoint endpoint;
  bool fell_back = false;  // the configured (privileged) port could not be bound
};

class Server {
 public:
  Server(config::Config config, std::unique_ptr<auth::PassDb> passdb,
         std::unique_ptr<store::MailStore> store);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Loads TLS and binds every configured listener. Errors name the address or file.
  Result<void> open();
  AbuseGuard& guard() { return *guard_; }
  const std::vector<BoundListener>& listeners() const { return bound_; }
  // Bound LMTP addresses ("unix:/run/mailport/lmtp", "127.0.0.1:2424"), for the log.
  const std::vector<std::string>& lmtp_addresses() const;

  // SIGHUP calls `reloader` for a fresh configuration (an error keeps the running one) and hands
  // it to reload().
  using Reloader = std::function<Result<config::Config>()>;
  void set_reloader(Reloader reloader) { reloader_ = std::move(reloader); }
  // New connections get the new TLS certificates and settings, session settings and log level;
  // open sessions keep what they started with. Keys bound at start-up (listeners, storage,
  // privileges, limits, penalties, the users file's path) keep their running values and are
  // logged as needing a restart. The users file itself is re-read whenever it changes.
  Result<void> reload(config::Config fresh);

  // Serves until SIGINT/SIGTERM or stop(). Open sessions end without UPDATE.
  void run();
  void stop();

 private:
  struct Listener;
  struct Generation;
  Result<std::shared_ptr<asio::ssl::context>> make_tls(const config::Config& config);
  std::shared_ptr<const Generation> generation() const;
  void await_reload(asio::signal_set& hangup);
  Result<void> reload_now();
  Result<void> bind_listener(ListenerKind kind, const config::Endpoint& endpoint,
                             std::optional<std::uint16_t> fallback_port);
  asio::awaitable<void> accept_loop(Listener& listener);
  asio::io_context& next_context();

  config::Config config_;
  std::unique_ptr<auth::PassDb> passdb_;
  std::unique_ptr<store::MailStore> store_;
  std::vector<std::unique_ptr<asio::io_context>> contexts_;
  std::unique_ptr<BlockingPool> pool_;
  std::unique_ptr<BlockingPool> hash_pool_;
  std::unique_ptr<AbuseGuard> guard_;
  ProxySettings proxy_;  // listen.proxy_trusted, bound at start-up like the listeners
  std::unique_ptr<LoginService> login_;
  std::unique_ptr<LmtpServer> lmtp_;
  std::shared_ptr<asio::ssl::context> tls_;
  std::shared_ptr<TicketKeys> ticket_keys_;
  mutable std::mutex generation_mutex_;
  std::shared_ptr<const Generation> generation_;  // what new connections get
  Reloader reloader_;
  std::vector<std::unique_ptr<Listener>> listeners_;
  std::vector<BoundListener> bound_;
  std::size_t next_context_ = 0;
  std::atomic<std::uint64_t> next_session_id_{1};
};

}  // namespace mailport::net
