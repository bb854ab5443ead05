#include "net/server.hpp"

#include <spdlog/spdlog.h>
#include <sys/resource.h>

#include <algorithm>
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/ip/v6_only.hpp>
#include <asio/signal_set.hpp>
#include <asio/steady_timer.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>
#include <csignal>
#include <thread>

#include "auth/pg_passdb.hpp"
#include "net/connection.hpp"
#include "net/lmtp_listener.hpp"
#include "net/tls_context.hpp"
#include "pg/conninfo.hpp"
#include "pg/pool.hpp"

namespace mailport::net {

using asio::ip::tcp;

std::string_view to_string(ListenerKind kind) {
  return kind == ListenerKind::pop3 ? "pop3" : "pop3s";
}

AbuseSettings abuse_settings(const config::Config& config) {
  AbuseSettings settings;
  settings.max_connections = config.limits.max_connections;
  settings.max_connections_per_ip = config.limits.max_connections_per_ip;
  settings.failure_delay = config.auth.failure_delay;
  settings.max_failure_delay = config.auth.max_failure_delay;
  settings.ban_after_failures = config.auth.ban_after_failures;
  settings.failure_window = config.auth.failure_window;
  settings.ban_duration = config.auth.ban_duration;
  for (const std::string& text : config.auth.trusted_networks) {
    // The config layer validated the syntax already.
    if (auto cidr = parse_cidr(text)) settings.trusted_networks.push_back(*cidr);
  }
  return settings;
}

namespace {

// Upgraded hashes go back where the users are: the passwd file, or PostgreSQL's users table.
StoreHash hash_store(const config::Config& config) {
  if (auto conninfo = pg::strip_prefix(config.auth.passdb)) {
    return [pool = pg::shared_pool(std::string(*conninfo))](
               const std::string& user, const std::string& expected, const std::string& hash) {
      return auth::pg_replace_password(*pool, user, expected, hash);
    };
  }
  return [path = config.auth.passwd](const std::string& user, const std::string& expected,
                                     const std::string& hash) {
    return auth::replace_password(path, user, expected, hash);
  };
}

}  // namespace

// The reloadable part of the configuration, immutable once built; connections share it.
struct Server::Generation {
  config::Config config;
  std::shared_ptr<asio::ssl::context> tls;
};

struct Server::Listener {
  Listener(asio::io_context& context, ListenerKind kind) : acceptor(context), kind(kind) {}
  tcp::acceptor acceptor;
  ListenerKind kind;
};

Server::Server(config::Config config, std::unique_ptr<auth::PassDb> passdb,
               std::unique_ptr<store::MailStore> store)
    : config_(std::move(config)), passdb_(std::move(passdb)), store_(std::move(store)) {
  unsigned threads = config_.threads ? config_.threads : std::thread::hardware_concurrency();
  threads = std::max(1u, threads);
  for (unsigned i = 0; i < threads; ++i) {
    contexts_.push_back(std::make_unique<asio::io_context>(1));
  }
  pool_ = std::make_unique<BlockingPool>(threads);
  hash_pool_ = std::make_unique<BlockingPool>(threads);
  guard_ = std::make_unique<AbuseGuard>(abuse_settings(config_));
  proxy_ = proxy_settings(config_.listen.proxy_trusted);
  login_ = std::make_unique<LoginService>(
      *passdb_, *store_, *pool_, *hash_pool_, *guard_,
      LoginSettings{.lock_timeout = config_.mail.lock_timeout,
                    .login_delay = config_.mail.login_delay,
                    .rehash = config_.auth.rehash,
                    .store_hash = hash_store(config_),
                    .credential_cache_ttl = config_.auth.credential_cache_ttl});
  lmtp_ = std::make_unique<LmtpServer>(config_, *passdb_, *pool_);
}

Server::~Server() {
  // Sessions (and the mailbox locks they hold) go before the pool their work may sit in.
  listeners_.clear();
  lmtp_->close();
  for (auto& context : contexts_) context->stop();
  contexts_.clear();
  pool_.reset();
  hash_pool_.reset();
}

Result<void> Server::open() {
  const auto& listen = config_.listen;
  if (listen.pop3 || listen.pop3s) {
    if (!config_.tls.cert.empty() || listen.pop3s) {
      auto context = make_tls(config_);
      if (!context) return context.error();
      tls_ = std::move(*context);
    }
  }
  if (listen.pop3) {
    if (auto bound = bind_listener(ListenerKind::pop3, *listen.pop3, listen.pop3_fallback_port);
        !bound) {
      return bound;
    }
  }
  if (listen.pop3s) {
    if (auto bound = bind_listener(ListenerKind::pop3s, *listen.pop3s, listen.pop3s_fallback_port);
        !bound) {
      return bound;
    }
  }
  if (bound_.empty()) return make_error(errc::invalid_input, "no listener is enabled");
  return lmtp_->open(*contexts_.front());
}

const std::vector<std::string>& Server::lmtp_addresses() const {
  return lmtp_->addresses();
}

Result<void> Server::bind_listener(ListenerKind kind, const config::Endpoint& endpoint,
                                   std::optional<std::uint16_t> fallback_port) {
  asio::error_code ec;
  auto address = asio::ip::make_address(endpoint.address, ec);
  if (ec) return make_error(errc::invalid_input, "bad listen address " + endpoint.address);
  auto listener = std::make_unique<Listener>(*contexts_.front(), kind);
  auto try_bind = [&](std::uint16_t port) -> asio::error_code {
    asio::error_code error;
    tcp::endpoint where(address, port);
    listener->acceptor = tcp::acceptor(*contexts_.front());
    listener->acceptor.open(where.protocol(), error);
    if (!error) listener->acceptor.set_option(tcp::acceptor::reuse_address(true), error);
    if (!error && address.is_v6()) listener->acceptor.set_option(asio::ip::v6_only(true), error);
    if (!error) listener->acceptor.bind(where, error);
    if (!error) listener->acceptor.listen(asio::socket_base::max_listen_connections, error);
    return error;
  };
  bool fell_back = false;
  ec = try_bind(endpoint.port);
  if (ec && fallback_port &&
      (ec == asio::error::access_denied || ec == asio::error::address_in_use)) {
    spdlog::warn("cannot bind {} on {}:{} ({}); using port {} instead", to_string(kind),
                 endpoint.address, endpoint.port, ec.message(), *fallback_port);
    ec = try_bind(*fallback_port);
    fell_back = true;
  }
  if (ec) {
    return make_error(errc::invalid_input, "cannot listen for " + std::string(to_string(kind)) +
                                               " on " + config::format_endpoint(endpoint) + ": " +
                                               ec.message());
  }
  bound_.push_back({kind, listener->acceptor.local_endpoint(), fell_back});
  listeners_.push_back(std::move(listener));
  return {};
}

asio::io_context& Server::next_context() {
  asio::io_context& context = *contexts_[next_context_];
  next_context_ = (next_context_ + 1) % contexts_.size();
  return context;
}

asio::awaitable<void> Server::accept_loop(Listener& listener) {
  constexpr auto kAsTuple = asio::experimental::as_tuple(asio::use_awaitable);
  while (listener.acceptor.is_open()) {
    asio::io_context& home = next_context();
    auto [ec, socket] = co_await listener.acceptor.async_accept(home, kAsTuple);
    if (ec == asio::error::operation_aborted) co_return;
    if (ec) {
      // Out of descriptors or similar: back off briefly instead of spinning.
      spdlog::warn("accept on {} failed: {}", to_string(listener.kind), ec.message());
      asio::steady_timer pause(co_await asio::this_coro::executor, std::chrono::milliseconds(50));
      co_await pause.async_wait(kAsTuple);
      continue;
    }
    // Responses are written whole; Nagle would hold the last segment back for a delayed ACK
    // (about 40 ms per command round trip).
    asio::error_code ignored;
    socket.set_option(tcp::no_delay(true), ignored);
    const std::shared_ptr<const Generation> current = generation();
    ConnectionEnv env{current->config,    *login_, *pool_, *guard_, proxy_,
                      current->tls.get(), current};
    asio::co_spawn(
        home,
        serve_connection(env, std::move(socket), listener.kind, next_session_id_.fetch_add(1)),
        asio::detached);
  }
}

namespace {

// Every session holds a socket and, once logged in, the maildrop's lock; while it works on the
// maildrop also its three directories and a message. The usual soft limit of 1024 would stop a
// server far below its connection caps.
void raise_descriptor_limit(unsigned max_connections) {
  constexpr rlim_t kPerConnection = 6;
  constexpr rlim_t kSpare = 256;  // listeners, users file, certificates, log, metrics
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0) return;
  const rlim_t wanted = static_cast<rlim_t>(max_connections) * kPerConnection + kSpare;
  if (limit.rlim_cur >= wanted) return;
  const rlim_t previous = limit.rlim_cur;
  limit.rlim_cur = limit.rlim_max == RLIM_INFINITY ? wanted : std::min(wanted, limit.rlim_max);
  if (limit.rlim_cur > previous && setrlimit(RLIMIT_NOFILE, &limit) != 0) return;
  if (limit.rlim_cur < wanted) {
    spdlog::warn(
        "event=fd-limit open-files={} wanted={}: limits.max_connections={} cannot all be "
        "served; raise the hard limit (LimitNOFILE= in the systemd unit)",
        limit.rlim_cur, wanted, max_connections);
  }
}

}  // namespace

void Server::run() {
  raise_descriptor_limit(config_.limits.max_connections);
  // OpenSSL writes TLS records to the socket with write(2), which has no MSG_NOSIGNAL: a client
  // that vanished must cost an EPIPE error, not the process.
  std::signal(SIGPIPE, SIG_IGN);
  asio::io_context& main = *contexts_.front();
  asio::signal_set signals(main, SIGINT, SIGTERM);
  signals.async_wait([this](const asio::error_code& ec, int signal) {
    if (ec) return;
    spdlog::info("signal {} received: shutting down (open sessions end without UPDATE)", signal);
    stop();
  });
  generation_ = std::make_shared<const Generation>(Generation{config_, tls_});
  asio::signal_set hangup(main, SIGHUP);
  await_reload(hangup);
  for (auto& listener : listeners_) {
    asio::co_spawn(main, accept_loop(*listener), asio::detached);
  }
  lmtp_->start(main, [this]() -> asio::io_context& { return next_context(); });
  // Keep every context alive while it has no connection yet.
  std::vector<asio::executor_work_guard<asio::io_context::executor_type>> guards;
  for (auto& context : contexts_) guards.push_back(asio::make_work_guard(*context));
  std::vector<std::thread> threads;
  for (std::size_t i = 1; i < contexts_.size(); ++i) {
    threads.emplace_back([context = contexts_[i].get()] { context->run(); });
  }
  main.run();
  for (auto& context : contexts_) context->stop();
  for (auto& thread : threads) thread.join();
}

void Server::stop() {
  for (auto& context : contexts_) context->stop();
}

Result<std::shared_ptr<asio::ssl::context>> Server::make_tls(const config::Config& config) {
  const std::chrono::seconds rotation = config.tls.ticket_key_rotation;
  if (rotation.count() == 0) {
    ticket_keys_.reset();
  } else if (!ticket_keys_ || ticket_keys_->rotation() != rotation) {
    ticket_keys_ = std::make_shared<TicketKeys>(rotation);
  }
  TlsOptions tls{config.tls.cert, config.tls.key, config.tls.min_version, config.tls.ciphers, {},
                 ticket_keys_};
  for (const auto& pair : config.tls.certificates)
    tls.certificates.push_back({pair.cert, pair.key});
  return make_server_tls_context(tls);
}

std::shared_ptr<const Server::Generation> Server::generation() const {
  std::lock_guard lock(generation_mutex_);
  return generation_;
}

void Server::await_reload(asio::signal_set& hangup) {
  hangup.async_wait([this, &hangup](const asio::error_code& ec, int) {
    if (ec) return;
    spdlog::info("signal SIGHUP received: reloading the configuration");
    if (auto done = reload_now(); !done) {
      spdlog::error("reload failed, keeping the running configuration: {}",
                    done.error().describe());
    }
    await_reload(hangup);
  });
}

Result<void> Server::reload_now() {
  if (!reloader_) return make_error(errc::invalid_input, "no configuration source to reload from");
  auto fresh = reloader_();
  if (!fresh) return fresh.error();
  return reload(std::move(*fresh));
}

namespace {

// Keys bound at start-up keep their running values; a change is logged, not silently ignored.
template <class T>
void keep_running(const char* key, T& fresh, const T& running) {
  if (fresh == running) return;
  spdlog::warn("reload: {} changed; it takes effect after a restart", key);
  fresh = running;
}

}  // namespace

Result<void> Server::reload(config::Config fresh) {
  const config::Config& running = config_;
  keep_running("listen", fresh.listen, running.listen);
  keep_running("threads", fresh.threads, running.threads);
  keep_running("data_dir", fresh.data_dir, running.data_dir);
  keep_running("mail", fresh.mail, running.mail);
  keep_running("lmtp", fresh.lmtp, running.lmtp);
  keep_running("limits", fresh.limits, running.limits);
  keep_running("privileges", fresh.privileges, running.privileges);
  keep_running("auth.passwd", fresh.auth.passwd, running.auth.passwd);
  keep_running("auth.failure_delay", fresh.auth.failure_delay, running.auth.failure_delay);
  keep_running("auth.max_failure_delay", fresh.auth.max_failure_delay,
               running.auth.max_failure_delay);
  keep_running("auth.ban_after_failures", fresh.auth.ban_after_failures,
               running.auth.ban_after_failures);
  keep_running("auth.failure_window", fresh.auth.failure_window, running.auth.failure_window);
  keep_running("auth.ban_duration", fresh.auth.ban_duration, running.auth.ban_duration);
  keep_running("auth.trusted_networks", fresh.auth.trusted_networks, running.auth.trusted_networks);
  keep_running("auth.rehash", fresh.auth.rehash, running.auth.rehash);
  keep_running("postgres", fresh.postgres, running.postgres);
  keep_running("auth.credential_cache_ttl", fresh.auth.credential_cache_ttl,
               running.auth.credential_cache_ttl);
  fresh.embedded_default = running.embedded_default;
  std::shared_ptr<asio::ssl::context> tls;
  if (!fresh.tls.cert.empty()) {
    auto context = make_tls(fresh);
    if (!context) return context.error();
    tls = std::move(*context);
  } else if (config_.listen.pop3s) {
    return make_error(errc::invalid_input, "listen.pop3s needs a certificate");
  }
  spdlog::set_level(spdlog::level::from_str(fresh.log_level));
  auto next = std::make_shared<const Generation>(Generation{std::move(fresh), std::move(tls)});
  std::lock_guard lock(generation_mutex_);
  generation_ = std::move(next);
  spdlog::info("reloaded: new connections use the new configuration and certificates");
  return {};
}

}  // namespace mailport::net
