#include "bench/pop3_client.hpp"

#include <openssl/evp.h>

#include <asio/connect.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>
#include <cstring>
#include <tuple>

namespace mailport::bench {
namespace {

constexpr auto kAsTuple = asio::experimental::as_tuple(asio::use_awaitable);
// One full TLS record, so a TLS read never has to be split across buffer refills.
constexpr std::size_t kInitialBuffer = 17 * 1024;
constexpr std::size_t kMaxLine = 1024 * 1024;

std::string printable(std::string_view text) {
  std::string out;
  for (char c : text.substr(0, 200)) out += (c >= 0x20 && c < 0x7f) ? c : '?';
  return out;
}

std::string base64(std::string_view data) {
  std::string out(4 * ((data.size() + 2) / 3) + 1, '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(data.data()),
                                static_cast<int>(data.size()));
  out.resize(static_cast<std::size_t>(n));
  return out;
}

}  // namespace

void ClientRegistry::sweep(Clock::time_point now) {
  for (Pop3Client* client : clients_) client->expire_if_due(now);
}

asio::awaitable<void> run_sweeper(ClientRegistry& registry, const bool* stop) {
  asio::steady_timer timer(co_await asio::this_coro::executor);
  while (!*stop) {
    timer.expires_after(std::chrono::milliseconds(100));
    co_await timer.async_wait(kAsTuple);
    registry.sweep(Clock::now());
  }
}

std::shared_ptr<asio::ssl::context> make_client_tls_context(const Options& options,
                                                            std::string& error) {
  auto context = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_client);
  SSL_CTX* ctx = context->native_handle();
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  // Thousands of idle client connections must not each pin OpenSSL's read and write buffers.
  SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
  if (!options.cafile.empty()) {
    if (SSL_CTX_load_verify_locations(ctx, options.cafile.c_str(), nullptr) != 1) {
      error = "cannot load CA file " + options.cafile;
      return nullptr;
    }
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
  }
  return context;
}

Pop3Client::Pop3Client(asio::io_context& io, asio::ssl::context& tls, const Options& options,
                       ClientRegistry& registry)
    : io_(io), tls_context_(tls), options_(options), registry_(registry), socket_(io) {
  registry_.add(this);
}

Pop3Client::~Pop3Client() {
  registry_.remove(this);
  close();
}

bool Pop3Client::expire_if_due(Clock::time_point now) {
  if (now < deadline_) return false;
  timed_out_ = true;
  disarm();
  asio::error_code ignored;
  socket_.close(ignored);
  return true;
}

bool Pop3Client::fail(std::string_view kind, std::string_view detail) {
  error_kind_ = timed_out_ ? "timeout" : std::string(kind);
  error_detail_ = timed_out_ ? std::string(kind) + " timed out" : printable(detail);
  disarm();
  return false;
}

void Pop3Client::close() {
  tls_.reset();
  asio::error_code ignored;
  socket_.close(ignored);
  head_ = tail_ = 0;
}

void Pop3Client::release_buffers() {
  std::vector<char>().swap(buffer_);
  head_ = tail_ = 0;
  std::string().swap(command_);
}

asio::awaitable<bool> Pop3Client::open(const Account& account,
                                       const asio::ip::tcp::endpoint& server) {
  close();
  timed_out_ = handshaken_ = resumed_ = false;
  error_kind_.clear();
  if (buffer_.size() < kInitialBuffer) buffer_.resize(kInitialBuffer);
  arm();
  auto [ec] = co_await socket_.async_connect(server, kAsTuple);
  if (ec) co_return fail("connect", ec.message());
  socket_.set_option(asio::ip::tcp::no_delay(true), ec);
  if (options_.tls == TlsMode::implicit) {
    if (!co_await handshake()) co_return false;
  }
  if (!co_await read_status("greeting")) co_return false;
  if (options_.tls == TlsMode::stls) {
    if (!co_await command("STLS", "stls")) co_return false;
    if (head_ != tail_) co_return fail("stls", "data after the STLS response");
    if (!co_await handshake()) co_return false;
  }
  const bool ok = co_await authenticate(account);
  if (ok && tls_) remember_session();
  co_return ok;
}

asio::awaitable<bool> Pop3Client::handshake() {
  tls_.emplace(socket_, tls_context_);
  SSL* ssl = tls_->native_handle();
  if (!options_.sni.empty()) SSL_set_tlsext_host_name(ssl, options_.sni.c_str());
  if (!options_.cafile.empty()) SSL_set1_host(ssl, options_.sni.c_str());
  if (options_.tls_resume && session_) SSL_set_session(ssl, session_.get());
  arm();
  auto [ec] = co_await tls_->async_handshake(asio::ssl::stream_base::client, kAsTuple);
  if (ec) co_return fail("tls", ec.message());
  handshaken_ = true;
  resumed_ = SSL_session_reused(ssl) == 1;
  co_return true;
}

void Pop3Client::remember_session() {
  if (!options_.tls_resume) return;
  // A TLS 1.3 ticket arrives after the handshake; by the login reply it has been processed.
  // A copy: OpenSSL marks the connection's own session object not resumable when the
  // connection is freed without a close_notify, as ours are after QUIT.
  SSL_SESSION* session = SSL_get1_session(tls_->native_handle());
  if (session && SSL_SESSION_is_resumable(session)) session_.reset(SSL_SESSION_dup(session));
  if (session) SSL_SESSION_free(session);
}

asio::awaitable<bool> Pop3Client::authenticate(const Account& account) {
  if (options_.auth == AuthMode::sasl_plain) {
    std::string credentials;
    credentials += '\0';
    credentials += account.user;
    credentials += '\0';
    credentials += account.password;
    const std::string line = "AUTH PLAIN " + base64(credentials);
    const bool ok = co_await command(line, "auth");
    co_return ok;
  }
  const std::string user = "USER " + account.user;
  if (!co_await command(user, "user")) co_return false;
  const std::string pass = "PASS " + account.password;
  const bool ok = co_await command(pass, "auth");
  co_return ok;
}

asio::awaitable<bool> Pop3Client::send(std::string_view data) {
  arm();
  asio::error_code ec;
  if (tls_) {
    std::tie(ec, std::ignore) = co_await asio::async_write(*tls_, asio::buffer(data), kAsTuple);
  } else {
    std::tie(ec, std::ignore) = co_await asio::async_write(socket_, asio::buffer(data), kAsTuple);
  }
  if (ec) co_return fail("write", ec.message());
  co_return true;
}

asio::awaitable<bool> Pop3Client::fill() {
  if (head_ == tail_) head_ = tail_ = 0;
  if (buffer_.size() < kInitialBuffer) buffer_.resize(kInitialBuffer);
  if (tail_ == buffer_.size()) {
    std::memmove(buffer_.data(), buffer_.data() + head_, tail_ - head_);
    tail_ -= head_;
    head_ = 0;
    if (tail_ == buffer_.size()) {
      if (buffer_.size() >= kMaxLine) co_return fail("line-too-long", "no CRLF in 1 MiB");
      buffer_.resize(buffer_.size() * 2);
    }
  }
  arm();
  auto [ec, n] = co_await read_some(asio::buffer(buffer_.data() + tail_, buffer_.size() - tail_));
  if (ec) co_return fail("closed", ec.message());
  tail_ += n;
  co_return true;
}

// GCC 12 miscompiles co_await inside ?:, && and ||, and `co_return co_await` with temporaries
// (the resumed frame is garbage); hence plain statements and named locals throughout the
// load generator.
asio::awaitable<std::tuple<asio::error_code, std::size_t>> Pop3Client::read_some(
    asio::mutable_buffer target) {
  std::tuple<asio::error_code, std::size_t> result;
  if (tls_) {
    result = co_await tls_->async_read_some(target, kAsTuple);
  } else {
    result = co_await socket_.async_read_some(target, kAsTuple);
  }
  co_return result;
}

asio::awaitable<bool> Pop3Client::read_line(std::string_view& line) {
  for (;;) {
    const char* begin = buffer_.data() + head_;
    const void* lf = std::memchr(begin, '\n', tail_ - head_);
    if (lf) {
      const auto length = static_cast<std::size_t>(static_cast<const char*>(lf) - begin) + 1;
      line = std::string_view(begin, length);
      head_ += length;
      if (length < 2 || line[length - 2] != '\r') co_return fail("bare-lf", line);
      line.remove_suffix(2);
      co_return true;
    }
    if (!co_await fill()) co_return false;
  }
}

asio::awaitable<bool> Pop3Client::read_status(std::string_view kind) {
  std::string_view line;
  if (!co_await read_line(line)) co_return false;
  status_.assign(line);
  if (!line.starts_with("+OK")) co_return fail(kind, line);
  disarm();
  co_return true;
}

asio::awaitable<bool> Pop3Client::command(std::string_view line, std::string_view kind) {
  command_.assign(line);
  command_ += "\r\n";
  if (!co_await send(command_)) co_return false;
  const bool ok = co_await read_status(kind);
  co_return ok;
}

asio::awaitable<bool> Pop3Client::read_body(std::vector<std::string>* lines,
                                            std::uint64_t& octets) {
  octets = 0;
  for (;;) {
    std::string_view line;
    if (!co_await read_line(line)) co_return false;
    if (line == ".") break;
    const bool stuffed = line.starts_with('.');
    if (stuffed) line.remove_prefix(1);
    octets += line.size() + 2;
    if (lines) lines->emplace_back(line);
  }
  disarm();
  co_return true;
}

asio::awaitable<bool> Pop3Client::quit() {
  if (!co_await command("QUIT", "quit")) co_return false;
  // The server closes after +OK; reading to the end proves it did and frees the socket cleanly.
  arm();
  for (;;) {
    std::array<char, 512> sink;
    auto [ec, n] = co_await read_some(asio::buffer(sink));
    if (ec) break;
  }
  if (timed_out_) co_return fail("quit", "server did not close after QUIT");
  disarm();
  close();
  co_return true;
}

}  // namespace mailport::bench
