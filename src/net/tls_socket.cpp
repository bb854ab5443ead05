#include "net/tls_socket.hpp"

#include <openssl/err.h>

#include <algorithm>
#include <asio/experimental/as_tuple.hpp>
#include <asio/ssl/error.hpp>
#include <asio/use_awaitable.hpp>
#include <cerrno>
#include <climits>

namespace mailport::net {
namespace {

constexpr auto kAsTuple = asio::experimental::as_tuple(asio::use_awaitable);

std::error_code failure(int ssl_error, int saved_errno) {
  if (ssl_error == SSL_ERROR_ZERO_RETURN) return asio::error::eof;
  const unsigned long queued = ERR_get_error();
  if (queued != 0) {
    return {static_cast<int>(queued), asio::error::get_ssl_category()};
  }
  if (ssl_error == SSL_ERROR_SYSCALL && saved_errno != 0) {
    return {saved_errno, asio::error::get_system_category()};
  }
  return asio::error::eof;  // the peer closed the connection without a close_notify
}

}  // namespace

TlsSocket::TlsSocket(asio::ip::tcp::socket& socket, SSL_CTX* context)
    : socket_(socket), ssl_(SSL_new(context)) {
  asio::error_code ec;
  socket_.non_blocking(true, ec);
  if (!ssl_ || ec || SSL_set_fd(ssl_.get(), static_cast<int>(socket_.native_handle())) != 1) {
    ssl_.reset();
    return;
  }
  // Writes may complete record by record; the caller's buffer stays put until they all did.
  SSL_set_mode(ssl_.get(), SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_RELEASE_BUFFERS);
  SSL_set_accept_state(ssl_.get());
}

asio::awaitable<std::pair<std::error_code, std::size_t>> TlsSocket::perform(Op op,
                                                                            std::span<char> in,
                                                                            std::string_view out) {
  const int in_length = static_cast<int>(std::min<std::size_t>(in.size(), INT_MAX));
  const int out_length = static_cast<int>(std::min<std::size_t>(out.size(), INT_MAX));
  for (;;) {
    ERR_clear_error();
    errno = 0;
    int done = 0;
    switch (op) {
      case Op::handshake:
        done = SSL_do_handshake(ssl_.get());
        break;
      case Op::read:
        done = SSL_read(ssl_.get(), in.data(), in_length);
        break;
      case Op::write:
        done = SSL_write(ssl_.get(), out.data(), out_length);
        break;
    }
    if (done > 0) co_return std::pair{std::error_code{}, static_cast<std::size_t>(done)};
    const int saved_errno = errno;
    const int error = SSL_get_error(ssl_.get(), done);
    asio::socket_base::wait_type wait;
    if (error == SSL_ERROR_WANT_READ) {
      wait = asio::socket_base::wait_read;
    } else if (error == SSL_ERROR_WANT_WRITE) {
      wait = asio::socket_base::wait_write;
    } else {
      co_return std::pair{failure(error, saved_errno), std::size_t{0}};
    }
    auto [ec] = co_await socket_.async_wait(wait, kAsTuple);
    if (ec) co_return std::pair{std::error_code(ec), std::size_t{0}};
  }
}

asio::awaitable<std::error_code> TlsSocket::handshake() {
  if (!ssl_) co_return std::make_error_code(std::errc::not_enough_memory);
  auto [ec, unused] = co_await perform(Op::handshake, {}, {});
  co_return ec;
}

asio::awaitable<std::error_code> TlsSocket::wait_readable() {
  if (!ssl_) co_return std::make_error_code(std::errc::not_connected);
  if (SSL_has_pending(ssl_.get()) == 1) co_return std::error_code{};
  auto [ec] = co_await socket_.async_wait(asio::socket_base::wait_read, kAsTuple);
  co_return std::error_code(ec);
}

asio::awaitable<std::pair<std::error_code, std::size_t>> TlsSocket::read_some(
    std::span<char> buffer) {
  auto result = co_await perform(Op::read, buffer, {});
  co_return result;
}

asio::awaitable<std::error_code> TlsSocket::write_all(std::string_view data) {
  while (!data.empty()) {
    auto [ec, written] = co_await perform(Op::write, {}, data);
    if (ec) co_return ec;
    data.remove_prefix(written);
  }
  co_return std::error_code{};
}

}  // namespace mailport::net
