#include "client/connection.hpp"

#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <poll.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <memory>

namespace mailport::client {
namespace {

struct AddrInfoFree {
  void operator()(addrinfo* info) const { ::freeaddrinfo(info); }
};

Error timed_out(std::string_view what) {
  return Error::from_errno(ETIMEDOUT, "timed out " + std::string(what));
}

bool set_blocking_with_timeouts(int fd, std::chrono::milliseconds timeout) {
  const int flags = ::fcntl(fd, F_GETFL);
  if (flags < 0 || ::fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) != 0) return false;
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(timeout.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((timeout.count() % 1000) * 1000);
  return ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) == 0 &&
         ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv) == 0;
}

// Non-blocking connect so that an unreachable address costs at most `timeout`.
Result<UniqueFd> connect_one(const addrinfo& ai, std::chrono::milliseconds timeout) {
  UniqueFd fd(
      ::socket(ai.ai_family, ai.ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, ai.ai_protocol));
  if (!fd) return Error::from_errno(errno, "socket");
  if (::connect(fd.get(), ai.ai_addr, ai.ai_addrlen) != 0) {
    if (errno != EINPROGRESS) return Error::from_errno(errno, "connect");
    pollfd pfd{fd.get(), POLLOUT, 0};
    int ready = 0;
    do {
      ready = ::poll(&pfd, 1, static_cast<int>(timeout.count()));
    } while (ready < 0 && errno == EINTR);
    if (ready == 0) return timed_out("connecting");
    if (ready < 0) return Error::from_errno(errno, "poll");
    int err = 0;
    socklen_t len = sizeof err;
    if (::getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
    if (err != 0) return Error::from_errno(err, "connect");
  }
  const int one = 1;
  ::setsockopt(fd.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (!set_blocking_with_timeouts(fd.get(), timeout)) return Error::from_errno(errno, "setsockopt");
  return fd;
}

}  // namespace

Result<std::unique_ptr<Connection>> Connection::open(const std::string& host, std::uint16_t port,
                                                     std::chrono::milliseconds timeout,
                                                     TlsClientConfig tls) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_ADDRCONFIG;
  addrinfo* raw = nullptr;
  const std::string service = std::to_string(port);
  const std::string where = host + ":" + service;
  if (const int rc = ::getaddrinfo(host.c_str(), service.c_str(), &hints, &raw); rc != 0) {
    const errc code = rc == EAI_AGAIN ? errc::temporary_failure : errc::not_found;
    return make_error(code, "cannot resolve " + host + ": " + ::gai_strerror(rc));
  }
  std::unique_ptr<addrinfo, AddrInfoFree> addresses(raw);
  Error last = make_error(errc::not_found, "no address for " + host);
  for (const addrinfo* ai = addresses.get(); ai != nullptr; ai = ai->ai_next) {
    auto fd = connect_one(*ai, timeout);
    if (fd) return std::unique_ptr<Connection>(new Connection(std::move(*fd), std::move(tls)));
    last = fd.error();
  }
  last.message = "cannot connect to " + where;
  return last;
}

Result<void> Connection::start_tls() {
  auto ssl = make_client_ssl(tls_, fd_.get());
  if (!ssl) return ssl.error();
  ssl_ = std::move(*ssl);
  if (auto done = client_handshake(ssl_.get(), tls_); !done) return done.error();
  tls_active_ = true;
  return {};
}

Result<std::size_t> Connection::read_some(std::span<char> buffer) {
  if (tls_active_) return read_tls(buffer);
  for (;;) {
    const ssize_t n = ::recv(fd_.get(), buffer.data(), buffer.size(), 0);
    if (n >= 0) return static_cast<std::size_t>(n);
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return timed_out("waiting for the server");
    return Error::from_errno(errno, "reading from the server");
  }
}

Result<void> Connection::write_all(std::string_view bytes) {
  if (tls_active_) return write_tls(bytes);
  while (!bytes.empty()) {
    const ssize_t n = ::send(fd_.get(), bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return timed_out("sending");
    if (n < 0) return Error::from_errno(errno, "writing to the server");
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
  return {};
}

Result<std::size_t> Connection::read_tls(std::span<char> buffer) {
  std::size_t got = 0;
  ERR_clear_error();
  if (SSL_read_ex(ssl_.get(), buffer.data(), buffer.size(), &got) == 1) return got;
  const int saved_errno = errno;
  switch (SSL_get_error(ssl_.get(), 0)) {
    case SSL_ERROR_ZERO_RETURN:
      return std::size_t{0};
    case SSL_ERROR_WANT_READ:
    case SSL_ERROR_WANT_WRITE:  // a blocking socket only asks again when its timeout expired
      return timed_out("waiting for the server");
    case SSL_ERROR_SYSCALL:
      if (saved_errno == 0) return std::size_t{0};
      if (saved_errno == EAGAIN) return timed_out("waiting for the server");
      return Error::from_errno(saved_errno, "reading from the server");
    default:
      return make_error(errc::permanent_failure, "TLS error: " + take_openssl_errors());
  }
}

Result<void> Connection::write_tls(std::string_view bytes) {
  while (!bytes.empty()) {
    std::size_t sent = 0;
    ERR_clear_error();
    if (SSL_write_ex(ssl_.get(), bytes.data(), bytes.size(), &sent) == 1) {
      bytes.remove_prefix(sent);
      continue;
    }
    const int saved_errno = errno;
    const int err = SSL_get_error(ssl_.get(), 0);
    if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) return timed_out("sending");
    if (err == SSL_ERROR_SYSCALL && saved_errno != 0) {
      return Error::from_errno(saved_errno, "writing to the server");
    }
    return make_error(errc::permanent_failure, "TLS error: " + take_openssl_errors());
  }
  return {};
}

}  // namespace mailport::client
