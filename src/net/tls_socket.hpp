// Server-side TLS on a connected TCP socket, with OpenSSL reading and writing the descriptor
// itself: the socket is non-blocking and the coroutine waits for readiness when OpenSSL asks for
// it. Unlike asio::ssl::stream (two 17 KiB staging buffers plus a BIO pair with two more, for the
// connection's lifetime), nothing is buffered outside OpenSSL, which releases its own record
// buffers between records (SSL_MODE_RELEASE_BUFFERS): an idle session holds no TLS buffers.
#pragma once

#include <openssl/ssl.h>

#include <asio/awaitable.hpp>
#include <asio/ip/tcp.hpp>
#include <cstddef>
#include <memory>
#include <span>
#include <string_view>
#include <system_error>
#include <utility>

namespace mailport::net {

class TlsSocket {
 public:
  // `socket` must outlive this object; closing it aborts any pending operation.
  TlsSocket(asio::ip::tcp::socket& socket, SSL_CTX* context);

  bool valid() const { return ssl_ != nullptr; }
  asio::awaitable<std::error_code> handshake();
  // Returns once read_some() has something to work on (buffered in OpenSSL, or on the socket),
  // so that no record buffer is allocated while the peer is silent.
  asio::awaitable<std::error_code> wait_readable();
  // Bytes of application data, or an error (asio::error::eof once the peer closed).
  asio::awaitable<std::pair<std::error_code, std::size_t>> read_some(std::span<char> buffer);
  asio::awaitable<std::error_code> write_all(std::string_view data);
  const SSL* native_handle() const { return ssl_.get(); }

 private:
  struct SslFree {
    void operator()(SSL* ssl) const { SSL_free(ssl); }
  };
  enum class Op { handshake, read, write };
  // One OpenSSL call, repeated after waiting whenever it wants the socket readable or writable.
  // Reads go to `in`, writes come from `out`.
  asio::awaitable<std::pair<std::error_code, std::size_t>> perform(Op op, std::span<char> in,
                                                                   std::string_view out);

  asio::ip::tcp::socket& socket_;
  std::unique_ptr<SSL, SslFree> ssl_;
};

}  // namespace mailport::net
