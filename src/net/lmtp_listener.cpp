#include "net/lmtp_listener.hpp"

#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/local/stream_protocol.hpp>
#include <asio/steady_timer.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>
#include <atomic>
#include <climits>
#include <filesystem>
#include <type_traits>

#include "lmtp/local_delivery.hpp"
#include "lmtp/session.hpp"
#include "net/metrics.hpp"
#include "net/proxy_reader.hpp"

namespace mailport::net {
namespace {

using asio::ip::tcp;
using unix_socket = asio::local::stream_protocol;
using Clock = std::chrono::steady_clock;
constexpr auto kAsTuple = asio::experimental::as_tuple(asio::use_awaitable);
constexpr std::size_t kReadChunk = 64 * 1024;

std::atomic<std::uint64_t> next_lmtp_session{1};

std::string local_hostname() {
  std::array<char, HOST_NAME_MAX + 1> host{};
  if (::gethostname(host.data(), host.size() - 1) != 0 || host[0] == '\0') return "localhost";
  return host.data();
}

const char* outcome_name(lmtp::Outcome outcome) {
  switch (outcome) {
    case lmtp::Outcome::ok:
      return "ok";
    case lmtp::Outcome::no_such_user:
      return "no-such-user";
    case lmtp::Outcome::temporary_failure:
      return "temp-failure";
    case lmtp::Outcome::storage_full:
      return "storage-full";
    case lmtp::Outcome::mailbox_busy:
      return "mailbox-busy";
    case lmtp::Outcome::permanent_failure:
      return "perm-failure";
  }
  return "?";
}

struct LmtpEnv {
  lmtp::LocalDelivery& delivery;
  BlockingPool& pool;
  lmtp::Options options;
  std::chrono::seconds idle_timeout;
  ProxySettings proxy;  // for the TCP listeners
};

template <class Socket>
struct LmtpConnection {
  LmtpConnection(const LmtpEnv& env, Socket socket, std::uint64_t id)
      : env(env),
        socket(std::move(socket)),
        timer(this->socket.get_executor()),
        id(id),
        session(env.options) {}

  void extend_deadline() { deadline = Clock::now() + env.idle_timeout; }

  const LmtpEnv& env;
  Socket socket;
  asio::steady_timer timer;
  Clock::time_point deadline;
  bool alive = true;
  std::uint64_t id;
  lmtp::Session session;
};

template <class Socket>
asio::awaitable<void> watchdog(std::shared_ptr<LmtpConnection<Socket>> conn) {
  while (conn->alive) {
    conn->timer.expires_at(conn->deadline);
    co_await conn->timer.async_wait(kAsTuple);
    if (conn->alive && Clock::now() >= conn->deadline) {
      asio::error_code ignored;
      conn->socket.close(ignored);
      co_return;
    }
  }
}

template <class Socket>
asio::awaitable<void> deliver(LmtpConnection<Socket>& conn, lmtp::Deliver& request) {
  const std::size_t size = request.message.size();
  // The envelope and message live in `request` until the pool is done with them.
  std::vector<lmtp::Outcome> outcomes = co_await conn.env.pool.run(
      [&] { return conn.env.delivery.deliver(request.envelope, request.message); });
  for (std::size_t i = 0; i < request.envelope.recipients.size(); ++i) {
    const lmtp::Outcome outcome = outcomes[i];
    metrics::metrics().message_delivered(outcome == lmtp::Outcome::ok);
    spdlog::log(outcome == lmtp::Outcome::ok ? spdlog::level::info : spdlog::level::warn,
                "lmtp={} event=deliver from=<{}> rcpt=<{}> size={} result={}", conn.id,
                request.envelope.sender, request.envelope.recipients[i], size,
                outcome_name(outcome));
  }
  conn.session.complete_delivery(outcomes);
}

template <class Socket>
asio::awaitable<void> drive(LmtpConnection<Socket>& conn) {
  std::vector<char> buffer(kReadChunk);
  for (;;) {
    lmtp::Event event = conn.session.poll();
    if (!conn.session.output().empty()) {
      conn.extend_deadline();
      auto [ec, n] =
          co_await asio::async_write(conn.socket, asio::buffer(conn.session.output()), kAsTuple);
      if (ec) co_return;
      conn.session.output().clear();
    }
    if (auto* check = std::get_if<lmtp::CheckRecipient>(&event)) {
      const lmtp::Outcome outcome = co_await conn.env.pool.run(
          // Only references and pointers in pool lambdas: the request outlives the co_await.
          [&conn, check] { return conn.env.delivery.check(check->address); });
      if (outcome != lmtp::Outcome::ok) {
        spdlog::info("lmtp={} event=rcpt rcpt=<{}> result={}", conn.id, check->address,
                     outcome_name(outcome));
      }
      conn.session.complete_recipient(outcome);
    } else if (auto* request = std::get_if<lmtp::Deliver>(&event)) {
      co_await deliver(conn, *request);
    } else if (std::holds_alternative<lmtp::Close>(event)) {
      co_return;
    } else if (std::holds_alternative<lmtp::NeedInput>(event)) {
      conn.extend_deadline();
      auto [ec, n] = co_await conn.socket.async_read_some(asio::buffer(buffer), kAsTuple);
      if (ec) co_return;
      conn.session.receive(std::string_view(buffer.data(), n));
    }
  }
}

template <class Socket>
asio::awaitable<void> serve(const LmtpEnv& env, Socket socket) {
  const std::uint64_t id = next_lmtp_session.fetch_add(1);
  std::string origin_fields;  // where a TCP client is, behind any trusted proxy
  if constexpr (std::is_same_v<Socket, tcp::socket>) {
    Result<ClientOrigin> origin = co_await accept_origin(socket, env.proxy);
    if (!origin) {
      asio::error_code ignored;
      spdlog::warn("lmtp={} event=proxy-failed proxy={} error=\"{}\"", id,
                   socket.remote_endpoint(ignored).address().to_string(),
                   origin.error().describe());
      co_return;
    }
    origin_fields = " rip=" + origin->peer.address().to_string() +
                    " rport=" + std::to_string(origin->peer.port()) + origin->log_suffix();
  }
  auto conn = std::make_shared<LmtpConnection<Socket>>(env, std::move(socket), id);
  metrics::OpenConnection counted(metrics::metrics(), "lmtp");
  spdlog::info("lmtp={} event=connect{}", conn->id, origin_fields);
  conn->extend_deadline();
  asio::co_spawn(conn->socket.get_executor(), watchdog(conn), asio::detached);
  conn->session.start();
  co_await drive(*conn);
  spdlog::info("lmtp={} event=disconnect messages={} recipients={}", conn->id,
               conn->session.delivered_messages(), conn->session.delivered_recipients());
  conn->alive = false;
  conn->timer.cancel();
  asio::error_code ignored;
  conn->socket.close(ignored);
}

template <class Acceptor>
asio::awaitable<void> accept_loop(Acceptor& acceptor, const LmtpEnv& env,
                                  std::function<asio::io_context&()> next) {
  while (acceptor.is_open()) {
    asio::io_context& home = next();
    auto [ec, socket] = co_await acceptor.async_accept(home, kAsTuple);
    if (ec == asio::error::operation_aborted) co_return;
    if (ec) {
      spdlog::warn("lmtp accept failed: {}", ec.message());
      asio::steady_timer pause(co_await asio::this_coro::executor, std::chrono::milliseconds(50));
      co_await pause.async_wait(kAsTuple);
      continue;
    }
    // As the protocol's plain socket type (the accept gave one bound to io_context's executor),
    // so that TCP connections match what the PROXY header reader takes.
    using Plain = typename decltype(socket)::protocol_type::socket;
    asio::co_spawn(home, serve(env, Plain(std::move(socket))), asio::detached);
  }
}

}  // namespace

struct LmtpServer::Listeners {
  std::optional<LmtpEnv> env;
  std::vector<std::unique_ptr<tcp::acceptor>> tcp_acceptors;
  std::vector<std::unique_ptr<unix_socket::acceptor>> unix_acceptors;
  std::vector<std::filesystem::path> socket_files;  // removed by close()
};

LmtpServer::LmtpServer(const config::Config& config, auth::PassDb& passdb, BlockingPool& pool)
    : config_(config), pool_(pool), listeners_(std::make_unique<Listeners>()) {
  const std::string hostname = local_hostname();
  delivery_ = std::make_unique<lmtp::LocalDelivery>(
      passdb, lmtp::DeliverySettings{.location = store::parse_mail_location(config.mail.location),
                                     .store_options = {.lock_timeout = config.mail.lock_timeout},
                                     .recipient_delimiter = config.lmtp.recipient_delimiter,
                                     .hostname = hostname});
  lmtp::Limits limits;
  limits.max_message_size = config.lmtp.max_message_size;
  limits.max_recipients = config.lmtp.max_recipients;
  limits.max_bad_commands = config.session.max_bad_commands;
  listeners_->env.emplace(LmtpEnv{*delivery_, pool_, lmtp::Options{hostname, limits},
                                  config.session.idle_timeout,
                                  proxy_settings(config.listen.proxy_trusted)});
}

LmtpServer::~LmtpServer() = default;

Result<void> LmtpServer::open(asio::io_context& context) {
  for (const config::LmtpAddress& address : config_.lmtp.listen) {
    asio::error_code ec;
    const std::string where = config::format_lmtp_address(address);
    if (address.tcp) {
      auto ip = asio::ip::make_address(address.tcp->address, ec);
      auto acceptor = std::make_unique<tcp::acceptor>(context);
      const tcp::endpoint endpoint(ip, address.tcp->port);
      if (!ec) acceptor->open(endpoint.protocol(), ec);
      if (!ec) acceptor->set_option(tcp::acceptor::reuse_address(true), ec);
      if (!ec) acceptor->bind(endpoint, ec);
      if (!ec) acceptor->listen(asio::socket_base::max_listen_connections, ec);
      if (ec)
        return make_error(errc::invalid_input,
                          "cannot listen for lmtp on " + where + ": " + ec.message());
      const tcp::endpoint bound = acceptor->local_endpoint();
      addresses_.push_back(
          config::format_endpoint(config::Endpoint{bound.address().to_string(), bound.port()}));
      listeners_->tcp_acceptors.push_back(std::move(acceptor));
      continue;
    }
    const std::filesystem::path& path = address.unix_path;
    std::error_code fs_error;
    std::filesystem::create_directories(path.parent_path(), fs_error);
    // Only a socket is replaced: a regular file at that path is a configuration mistake.
    struct stat info {};
    if (::lstat(path.c_str(), &info) == 0 && S_ISSOCK(info.st_mode)) ::unlink(path.c_str());
    auto acceptor = std::make_unique<unix_socket::acceptor>(context);
    acceptor->open(unix_socket(), ec);
    if (!ec) acceptor->bind(unix_socket::endpoint(path.string()), ec);
    if (!ec) acceptor->listen(asio::socket_base::max_listen_connections, ec);
    if (ec)
      return make_error(errc::invalid_input,
                        "cannot listen for lmtp on " + where + ": " + ec.message());
    listeners_->socket_files.push_back(path);
    if (::chmod(path.c_str(), config_.lmtp.socket_mode) != 0) {
      return Error::from_errno(errno, "chmod " + path.string());
    }
    addresses_.push_back(where);
    listeners_->unix_acceptors.push_back(std::move(acceptor));
  }
  return {};
}

void LmtpServer::start(asio::io_context& accept_context, std::function<asio::io_context&()> next) {
  for (auto& acceptor : listeners_->tcp_acceptors) {
    asio::co_spawn(accept_context, accept_loop(*acceptor, *listeners_->env, next), asio::detached);
  }
  for (auto& acceptor : listeners_->unix_acceptors) {
    asio::co_spawn(accept_context, accept_loop(*acceptor, *listeners_->env, next), asio::detached);
  }
}

void LmtpServer::close() {
  listeners_->tcp_acceptors.clear();
  listeners_->unix_acceptors.clear();
  for (const auto& path : listeners_->socket_files) ::unlink(path.c_str());
  listeners_->socket_files.clear();
}

}  // namespace mailport::net
