// A blocking TCP connection with optional TLS, every read and write bounded by a timeout.
// OpenSSL writes with write(2): a program using it ignores SIGPIPE so that a peer closing the
// connection is an error value, not the end of the process.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "client/tls.hpp"
#include "client/transport.hpp"
#include "core/unique_fd.hpp"

namespace mailport::client {

class Connection final : public Transport {
 public:
  // Tries every address of `host` in turn. TLS starts only with start_tls(): at once for implicit
  // TLS (port 995), after the STLS exchange otherwise.
  static Result<std::unique_ptr<Connection>> open(const std::string& host, std::uint16_t port,
                                                  std::chrono::milliseconds timeout,
                                                  TlsClientConfig tls);

  Result<std::size_t> read_some(std::span<char> buffer) override;
  Result<void> write_all(std::string_view bytes) override;
  Result<void> start_tls() override;

  bool tls_active() const { return tls_active_; }
  SSL* ssl() const { return ssl_.get(); }

 private:
  Connection(UniqueFd fd, TlsClientConfig tls) : fd_(std::move(fd)), tls_(std::move(tls)) {}
  Result<std::size_t> read_tls(std::span<char> buffer);
  Result<void> write_tls(std::string_view bytes);

  UniqueFd fd_;
  TlsClientConfig tls_;
  SslPtr ssl_;
  bool tls_active_ = false;
};

}  // namespace mailport::client
