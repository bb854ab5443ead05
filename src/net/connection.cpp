#include "net/connection.hpp"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/read.hpp>
#include <asio/steady_timer.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>
#include <optional>
#include <random>
#include <utility>
#include <variant>

#include "net/metrics.hpp"
#include "net/server.hpp"
#include "net/tls_context.hpp"
#include "net/tls_socket.hpp"
#include "pop3/body_encoder.hpp"
#include "pop3/session.hpp"

namespace mailport::net {
namespace {

using asio::ip::tcp;
using Clock = std::chrono::steady_clock;
constexpr auto kAsTuple = asio::experimental::as_tuple(asio::use_awaitable);
constexpr std::size_t kReadChunk = 4096;
// A message is read in 128 KiB chunks and written in batches of at least 256 KiB (sixteen full
// TLS records): few system calls per megabyte, and one pass over the bytes to encode them.
constexpr std::size_t kMessageChunk = 128 * 1024;
constexpr std::size_t kWriteBatch = 256 * 1024;

// A login name comes from the client: quote it so a '"' or '\' cannot forge log fields.
std::string log_quoted(std::string_view text) {
  std::string out;
  out.reserve(text.size() + 2);
  out += '"';
  for (char c : text) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  out += '"';
  return out;
}

const char* login_status_name(pop3::LoginStatus status) {
  switch (status) {
    case pop3::LoginStatus::ok:
      return "ok";
    case pop3::LoginStatus::bad_credentials:
      return "failed";
    case pop3::LoginStatus::in_use:
      return "in-use";
    case pop3::LoginStatus::login_delay:
      return "login-delay";
    case pop3::LoginStatus::temporary_failure:
      return "temp-failure";
    case pop3::LoginStatus::permanent_failure:
      return "perm-failure";
  }
  return "unknown";
}

const char* state_name(pop3::State state) {
  switch (state) {
    case pop3::State::authorization:
      return "authorization";
    case pop3::State::transaction:
      return "transaction";
    case pop3::State::update:
      return "update";
    case pop3::State::closed:
      return "closed";
  }
  return "?";
}

const char* mechanism_name(const pop3::LoginRequest& request) {
  switch (request.mechanism) {
    case pop3::Mechanism::user_pass:
      return "USER";
    case pop3::Mechanism::apop:
      return "APOP";
    case pop3::Mechanism::sasl:
      return request.sasl_mechanism.c_str();
  }
  return "?";
}

std::string make_apop_timestamp() {
  std::random_device device;
  std::array<char, 256> host{};
  gethostname(host.data(), host.size() - 1);
  return "<" + std::to_string(device()) + "." + std::to_string(getpid()) + "@" + host.data() + ">";
}

// Per-connection state shared by the session coroutine and its watchdog.
struct Connection {
  Connection(ConnectionEnv env, tcp::socket socket, ListenerKind kind, std::uint64_t id,
             ClientOrigin origin)
      : env(env),
        socket(std::move(socket)),
        timer(this->socket.get_executor()),
        kind(kind),
        id(id),
        origin(std::move(origin)),
        peer(this->origin.peer),
        session(make_options()) {}

  pop3::Options make_options() {
    const config::Config& config = env.config;
    pop3::Options options;
    options.tls_active = kind == ListenerKind::pop3s;  // TLS from the first byte
    options.stls_offered = kind == ListenerKind::pop3 && env.tls != nullptr;
    // A proxied client whose address the proxy did not send is neither local nor trusted, however
    // local the proxy is.
    options.plaintext_auth_allowed =
        origin.address_known && (plaintext_allowed(config.auth.plaintext_auth, peer.address()) ||
                                 env.guard.trusted(peer.address()));
    options.apop_enabled = config.auth.apop;
    if (options.apop_enabled) options.apop_timestamp = make_apop_timestamp();
    options.implementation = config.session.implementation;
    options.login_delay = config.mail.login_delay;
    options.expire = config.mail.expire;
    options.greeting = config.session.greeting;
    options.plaintext_refusal_hint = config.session.plaintext_refusal_hint;
    options.limits.max_bad_commands = config.session.max_bad_commands;
    options.limits.max_auth_attempts = config.auth.max_attempts;
    options.sasl_mechanisms = config.auth.mechanisms;
    for (const std::string& name : config.session.client_workarounds) {
      pop3::enable_client_workaround(options.client_workarounds, name);  // names validated
    }
    return options;
  }

  // After login, every read or write restarts the idle timer. Before login the limit is absolute
  // from the connect: a client dribbling one byte at a time (slowloris) cannot hold its slot.
  void extend_deadline() {
    const bool authenticated = session.state() == pop3::State::transaction;
    deadline = authenticated ? Clock::now() + env.config.session.idle_timeout
                             : connected_at + env.config.session.prelogin_timeout;
  }

  void close_transport() {
    asio::error_code ignored;
    socket.close(ignored);
  }

  std::string tls_version() {
    return tls ? tls_version_of(tls->native_handle()) : std::string("none");
  }

  ConnectionEnv env;
  tcp::socket socket;
  std::optional<TlsSocket> tls;  // over `socket`, once TLS started
  asio::steady_timer timer;
  Clock::time_point connected_at = Clock::now();
  Clock::time_point deadline;
  bool alive = true;
  bool timed_out = false;
  ListenerKind kind;
  std::uint64_t id;
  metrics::OpenConnection counted{metrics::metrics(), to_string(kind)};
  ClientOrigin origin;
  tcp::endpoint peer;  // the client, behind any trusted proxy
  pop3::Session session;
  std::unique_ptr<store::Mailbox> mailbox;
};

asio::awaitable<void> watchdog(std::shared_ptr<Connection> conn) {
  while (conn->alive) {
    conn->timer.expires_at(conn->deadline);
    co_await conn->timer.async_wait(kAsTuple);
    if (conn->alive && Clock::now() >= conn->deadline) {
      conn->timed_out = true;
      conn->close_transport();
      co_return;
    }
  }
}

asio::awaitable<bool> write_all(tcp::socket& socket, std::string_view data) {
  auto [ec, n] = co_await asio::async_write(socket, asio::buffer(data), kAsTuple);
  metrics::metrics().bytes_sent(n);
  co_return !ec;
}

asio::awaitable<bool> write_all(TlsSocket& tls, std::string_view data) {
  const std::error_code ec = co_await tls.write_all(data);
  if (!ec) metrics::metrics().bytes_sent(data.size());
  co_return !ec;
}

// One read buffer per I/O thread, so that a waiting session holds none: reads start only once
// the socket is readable, and the session takes the bytes before its coroutine suspends again.
std::span<char> read_buffer() {
  thread_local std::array<char, kReadChunk> buffer;
  return buffer;
}

// The bytes received, or nothing at the end of the stream or on an error. The socket is
// non-blocking (see run_session), so the read after the wait cannot stall the thread.
asio::awaitable<std::string_view> receive(tcp::socket& socket) {
  for (;;) {
    auto [ec] = co_await socket.async_wait(tcp::socket::wait_read, kAsTuple);
    if (ec) co_return std::string_view();
    const std::span<char> buffer = read_buffer();
    asio::error_code read_error;
    const std::size_t n = socket.read_some(asio::buffer(buffer.data(), buffer.size()), read_error);
    if (read_error == asio::error::would_block || read_error == asio::error::try_again) continue;
    if (read_error) co_return std::string_view();
    co_return std::string_view(buffer.data(), n);
  }
}

asio::awaitable<std::string_view> receive(TlsSocket& tls) {
  // OpenSSL allocates its record buffer when a read starts: wait for data first.
  if (co_await tls.wait_readable()) co_return std::string_view();
  const std::span<char> buffer = read_buffer();
  auto [ec, n] = co_await tls.read_some(buffer);
  if (ec) co_return std::string_view();
  co_return std::string_view(buffer.data(), n);
}

// Output buffers grown by a long listing or a retrieval are not kept for an idle client.
constexpr std::size_t kIdleOutputCapacity = 4096;

void release_idle_resources(Connection& conn) {
  if (conn.mailbox) conn.mailbox->release_idle();
  std::string& output = conn.session.output();
  if (output.capacity() > kIdleOutputCapacity) std::string().swap(output);
}

enum class SendResult { sent, not_started, aborted };

// A database-backed maildrop waits on the network for every chunk: that goes to the blocking
// pool. Files are read in place, as a thread hop per chunk would cost more than the read.
asio::awaitable<Result<std::unique_ptr<store::MessageReader>>> open_reader(Connection& conn,
                                                                           std::size_t index) {
  store::Mailbox& mailbox = *conn.mailbox;
  if (!mailbox.reads_block()) co_return mailbox.open_message(index);
  auto reader =
      co_await conn.env.pool.run([&mailbox, index] { return mailbox.open_message(index); });
  co_return reader;
}

asio::awaitable<Result<std::size_t>> read_chunk(Connection& conn, store::MessageReader& reader,
                                                std::span<char> chunk) {
  if (!conn.mailbox->reads_block()) co_return reader.read(chunk);
  auto got = co_await conn.env.pool.run([&reader, chunk] { return reader.read(chunk); });
  co_return got;
}

// Streams one message as the body of a RETR/TOP response.
template <class Stream>
asio::awaitable<std::pair<SendResult, pop3::RetrieveStatus>> send_message(
    Stream& stream, Connection& conn, const pop3::Retrieve& request) {
  auto reader = co_await open_reader(conn, request.index);
  if (!reader) {
    auto status = reader.error().is(errc::not_found) ? pop3::RetrieveStatus::vanished
                                                     : pop3::RetrieveStatus::temporary_failure;
    spdlog::warn("session={} event=retrieve-failed msg={} error=\"{}\"", conn.id, request.index + 1,
                 reader.error().describe());
    co_return std::pair{SendResult::not_started, status};
  }
  pop3::BodyEncoder encoder(request.top_lines, request.workarounds);
  std::string out;
  // Encoding at most doubles a chunk (a file of bare LFs), so the batch never reallocates.
  out.reserve(kWriteBatch + 2 * kMessageChunk + request.ok_line.size());
  out = request.ok_line;
  const auto chunk_memory = std::make_unique_for_overwrite<char[]>(kMessageChunk);
  const std::span<char> chunk(chunk_memory.get(), kMessageChunk);
  while (!encoder.done()) {
    auto got = co_await read_chunk(conn, **reader, chunk);
    if (!got) {
      spdlog::error("session={} event=read-failed msg={} error=\"{}\"", conn.id, request.index + 1,
                    got.error().describe());
      co_return std::pair{SendResult::aborted, pop3::RetrieveStatus::temporary_failure};
    }
    if (*got == 0) break;
    encoder.encode(std::string_view(chunk.data(), *got), out);
    if (out.size() >= kWriteBatch) {
      conn.extend_deadline();
      if (!co_await write_all(stream, out)) {
        co_return std::pair{SendResult::aborted, pop3::RetrieveStatus::ok};
      }
      out.clear();
    }
  }
  encoder.finish(out);
  if (!co_await write_all(stream, out)) {
    co_return std::pair{SendResult::aborted, pop3::RetrieveStatus::ok};
  }
  if (!request.top_lines) metrics::metrics().message_retrieved();
  co_return std::pair{SendResult::sent, pop3::RetrieveStatus::ok};
}

// UPDATE (RFC 1939 §6): the DELE'd messages go, and with a retention policy (EXPIRE, RFC 2449
// §6.7) so do retrieved ones: at once for "EXPIRE 0", else once retrieved `days` ago. Blocking.
Result<void> apply_update(store::Mailbox& mailbox, const pop3::Update& update,
                          const std::optional<std::string>& expire, std::uint64_t session_id) {
  std::vector<std::size_t> doomed = update.deleted;
  if (expire && *expire != "NEVER") {
    const long days = std::stol(*expire);  // validated digits
    if (days == 0) {
      doomed.insert(doomed.end(), update.retrieved.begin(), update.retrieved.end());
    } else {
      if (auto marked = mailbox.mark_retrieved(update.retrieved); !marked) {
        spdlog::warn("session={} event=mark-retrieved-failed error=\"{}\"", session_id,
                     marked.error().describe());
      }
      const auto cutoff = std::chrono::system_clock::now() - std::chrono::hours(24) * days;
      if (auto old = mailbox.retrieved_before(cutoff); old) {
        doomed.insert(doomed.end(), old->begin(), old->end());
      }
    }
    std::ranges::sort(doomed);
    doomed.erase(std::unique(doomed.begin(), doomed.end()), doomed.end());
    if (doomed.size() > update.deleted.size()) {
      spdlog::info("session={} event=expire expired={}", session_id,
                   doomed.size() - update.deleted.size());
    }
  }
  Result<void> expunged = mailbox.expunge(doomed);
  if (expunged) metrics::metrics().messages_deleted(doomed.size());
  return expunged;
}

enum class DriveEnd { closed, start_tls };

asio::awaitable<void> handle_login(Connection& conn, const pop3::LoginRequest& request) {
  const auto started = Clock::now();
  LoginResult result = co_await conn.env.login.login(request, conn.peer.address());
  metrics::metrics().login(mechanism_name(request), login_status_name(result.outcome.status),
                           Clock::now() - started);
  const auto level =
      result.outcome.status == pop3::LoginStatus::ok ? spdlog::level::info : spdlog::level::warn;
  spdlog::log(level,
              "session={} event=login result={} user={} mech={} rip={} rport={} "
              "listener={} tls={}{}{}",
              conn.id, login_status_name(result.outcome.status), log_quoted(request.user),
              mechanism_name(request), conn.peer.address().to_string(), conn.peer.port(),
              to_string(conn.kind), conn.tls_version(), result.reason.empty() ? "" : " reason=",
              result.reason.empty() ? "" : "\"" + result.reason + "\"");
  conn.mailbox = std::move(result.mailbox);
  conn.session.complete_login(std::move(result.outcome));
}

// Runs the session over `stream` until it closes or asks for TLS.
template <class Stream>
asio::awaitable<DriveEnd> drive(Stream& stream, Connection& conn) {
  pop3::Session& session = conn.session;
  auto received_at = Clock::now();
  bool answered = false;  // a read that ends mid-line answers nothing: not a command's latency
  for (;;) {
    for (bool need_input = false; !need_input;) {
      pop3::Event event = session.poll();
      if (!session.output().empty()) {
        conn.extend_deadline();
        if (!co_await write_all(stream, session.output())) co_return DriveEnd::closed;
        session.output().clear();
        answered = true;
      }
      if (std::holds_alternative<pop3::NeedInput>(event)) {
        need_input = true;
      } else if (auto* login = std::get_if<pop3::Login>(&event)) {
        co_await handle_login(conn, login->request);
      } else if (auto* lookup = std::get_if<pop3::LookupSecrets>(&event)) {
        ScramSecrets secrets = co_await conn.env.pool.run(
            [&conn, lookup] { return conn.env.login.scram_secrets(lookup->user, lookup->hash); });
        session.complete_secrets(secrets);
      } else if (std::holds_alternative<pop3::StartTls>(event)) {
        co_return DriveEnd::start_tls;
      } else if (auto* retrieve = std::get_if<pop3::Retrieve>(&event)) {
        auto [sent, status] = co_await send_message(stream, conn, *retrieve);
        if (sent == SendResult::aborted) co_return DriveEnd::closed;
        session.complete_retrieve(status);
      } else if (auto* update = std::get_if<pop3::Update>(&event)) {
        auto expunged = co_await conn.env.pool.run([&conn, update] {
          return apply_update(*conn.mailbox, *update, conn.env.config.mail.expire, conn.id);
        });
        if (!expunged) {
          spdlog::error("session={} event=update-failed error=\"{}\"", conn.id,
                        expunged.error().describe());
        }
        session.complete_update(expunged.ok());
      } else if (std::holds_alternative<pop3::Close>(event)) {
        co_return DriveEnd::closed;
      }
    }
    if (std::exchange(answered, false)) metrics::metrics().command(Clock::now() - received_at);
    conn.extend_deadline();
    release_idle_resources(conn);
    const std::string_view received = co_await receive(stream);
    if (received.empty()) co_return DriveEnd::closed;
    received_at = Clock::now();
    session.receive(received);
  }
}

asio::awaitable<bool> handshake(Connection& conn) {
  conn.tls.emplace(conn.socket, conn.env.tls->native_handle());
  conn.extend_deadline();
  const std::error_code ec = co_await conn.tls->handshake();
  if (ec) {
    metrics::metrics().tls_failed(to_string(conn.kind));
    spdlog::info("session={} event=tls-failed rip={} error=\"{}\"", conn.id,
                 conn.peer.address().to_string(), ec.message());
    co_return false;
  }
  conn.counted.tls_established(conn.tls_version());
  co_return true;
}

asio::awaitable<void> run_session(std::shared_ptr<Connection> conn) {
  AbuseGuard::Ticket ticket = conn->env.guard.admit(conn->peer.address());
  if (!ticket) {
    metrics::metrics().connection_refused(to_string(conn->kind));
    spdlog::warn("session={} event=refused reason=too-many-connections rip={} listener={}",
                 conn->id, conn->peer.address().to_string(), to_string(conn->kind));
    // On 995 the client expects TLS: plain text there would only confuse it.
    if (conn->kind == ListenerKind::pop3) {
      co_await write_all(conn->socket,
                         "-ERR [SYS/TEMP] Too many connections; try again later.\r\n");
    }
    conn->close_transport();
    co_return;
  }
  spdlog::info("session={} event=connect rip={} rport={} listener={}{}", conn->id,
               conn->peer.address().to_string(), conn->peer.port(), to_string(conn->kind),
               conn->origin.log_suffix());
  conn->extend_deadline();
  asio::error_code ignored;
  conn->socket.non_blocking(true, ignored);  // receive() reads only after waiting
  asio::co_spawn(conn->socket.get_executor(), watchdog(conn), asio::detached);
  if (conn->kind == ListenerKind::pop3s) {
    if (co_await handshake(*conn)) {
      conn->session.start();
      co_await drive(*conn->tls, *conn);
    }
  } else {
    conn->session.start();
    if (co_await drive(conn->socket, *conn) == DriveEnd::start_tls) {
      bool ok = co_await handshake(*conn);
      conn->session.complete_stls(ok);
      if (ok) co_await drive(*conn->tls, *conn);
    }
  }
  spdlog::info(
      "session={} event=disconnect user={} state={} retrieved={} bytes={} "
      "deleted={}{}",
      conn->id, log_quoted(conn->session.user()), state_name(conn->session.state()),
      conn->session.retrieved_messages(), conn->session.retrieved_octets(),
      conn->session.deleted_messages(), conn->timed_out ? " reason=timeout" : "");
  conn->alive = false;
  conn->timer.cancel();
  conn->close_transport();
}

}  // namespace

bool plaintext_allowed(config::PlaintextAuth policy, const asio::ip::address& peer) {
  switch (policy) {
    case config::PlaintextAuth::always:
      return true;
    case config::PlaintextAuth::never:
      return false;
    case config::PlaintextAuth::loopback:
      if (peer.is_v6() && peer.to_v6().is_v4_mapped()) {
        return asio::ip::make_address_v4(asio::ip::v4_mapped, peer.to_v6()).is_loopback();
      }
      return peer.is_loopback();
  }
  return false;
}

asio::awaitable<void> serve_connection(ConnectionEnv env, tcp::socket socket, ListenerKind kind,
                                       std::uint64_t session_id) {
  // Before anything else (TLS, the greeting, the per-address cap): who the client really is.
  Result<ClientOrigin> origin = co_await accept_origin(socket, env.proxy);
  if (!origin) {
    asio::error_code ignored;
    spdlog::warn("session={} event=proxy-failed proxy={} listener={} error=\"{}\"", session_id,
                 socket.remote_endpoint(ignored).address().to_string(), to_string(kind),
                 origin.error().describe());
    co_return;
  }
  auto conn =
      std::make_shared<Connection>(env, std::move(socket), kind, session_id, std::move(*origin));
  co_await run_session(conn);
}

}  // namespace mailport::net
