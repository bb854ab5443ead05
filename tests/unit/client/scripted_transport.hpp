// A Transport that plays back what the server says and records what the client sends. The
// client is sequential, so the whole server side can be queued up front; `chunk` splits the
// server's bytes into reads of that size to exercise line reassembly.
#pragma once

#include <algorithm>
#include <cstring>
#include <string>

#include "client/transport.hpp"

namespace mailport::client::testing {

class ScriptedTransport final : public Transport {
 public:
  explicit ScriptedTransport(std::string server, std::size_t chunk = 4096)
      : server_(std::move(server)), chunk_(chunk) {}

  Result<std::size_t> read_some(std::span<char> buffer) override {
    const std::size_t n = std::min({buffer.size(), chunk_, server_.size() - read_});
    std::memcpy(buffer.data(), server_.data() + read_, n);
    read_ += n;
    return n;
  }
  Result<void> write_all(std::string_view bytes) override {
    sent_.append(bytes);
    return {};
  }
  Result<void> start_tls() override {
    ++tls_starts_;
    return {};
  }

  const std::string& sent() const { return sent_; }
  int tls_starts() const { return tls_starts_; }
  bool drained() const { return read_ == server_.size(); }

 private:
  std::string server_;
  std::size_t chunk_;
  std::size_t read_ = 0;
  std::string sent_;
  int tls_starts_ = 0;
};

}  // namespace mailport::client::testing
