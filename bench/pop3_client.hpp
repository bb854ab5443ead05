// One POP3 client connection over plain TCP, implicit TLS or STLS, driven by Asio coroutines.
// Every reply is checked: a status line must start with +OK, multi-line bodies must be CRLF lines
// ending in ".", and the octets of a message are counted as the server counts them (stuffing
// removed). A failure leaves a kind ("auth", "timeout", ...) and the offending line behind.
#pragma once

#include <openssl/ssl.h>

#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/ssl/context.hpp>
#include <asio/ssl/stream.hpp>
#include <asio/steady_timer.hpp>
#include <asio/awaitable.hpp>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <unordered_set>
#include <vector>

#include "bench/options.hpp"
#include "bench/stats.hpp"

namespace mailport::bench {

class Pop3Client;

// The clients of one load thread, so a single sweeper can enforce every operation's timeout.
class ClientRegistry {
 public:
  void add(Pop3Client* client) { clients_.insert(client); }
  void remove(Pop3Client* client) { clients_.erase(client); }
  // Closes the transport of every client whose current operation is overdue.
  void sweep(Clock::time_point now);
  std::size_t size() const { return clients_.size(); }

 private:
  std::unordered_set<Pop3Client*> clients_;
};

// Sweeps `registry` every 100 ms until *stop becomes true.
asio::awaitable<void> run_sweeper(ClientRegistry& registry, const bool* stop);

std::shared_ptr<asio::ssl::context> make_client_tls_context(const Options& options,
                                                            std::string& error);

class Pop3Client {
 public:
  Pop3Client(asio::io_context& io, asio::ssl::context& tls, const Options& options,
             ClientRegistry& registry);
  ~Pop3Client();
  Pop3Client(const Pop3Client&) = delete;
  Pop3Client& operator=(const Pop3Client&) = delete;

  // Connect, TLS as configured, greeting, login. Any earlier connection is closed first.
  asio::awaitable<bool> open(const Account& account, const asio::ip::tcp::endpoint& server);
  // Sends `line` and expects +OK; `kind` names the failure.
  asio::awaitable<bool> command(std::string_view line, std::string_view kind);
  // Reads a multi-line body after a +OK; `lines` (if given) receives each unstuffed line.
  asio::awaitable<bool> read_body(std::vector<std::string>* lines, std::uint64_t& octets);
  // QUIT, +OK, then waits until the server closes the connection.
  asio::awaitable<bool> quit();
  void close();
  // Drops the read buffer and OpenSSL's buffers while the connection sits idle.
  void release_buffers();

  void disarm() { deadline_ = Clock::time_point::max(); }
  bool expire_if_due(Clock::time_point now);

  std::string_view status() const { return status_; }
  const std::string& error_kind() const { return error_kind_; }
  const std::string& error_detail() const { return error_detail_; }
  bool handshaken() const { return handshaken_; }
  bool resumed() const { return resumed_; }

 private:
  asio::awaitable<bool> handshake();
  asio::awaitable<bool> authenticate(const Account& account);
  asio::awaitable<bool> read_line(std::string_view& line);
  asio::awaitable<bool> read_status(std::string_view kind);
  asio::awaitable<bool> fill();
  asio::awaitable<std::tuple<asio::error_code, std::size_t>> read_some(asio::mutable_buffer target);
  asio::awaitable<bool> send(std::string_view data);
  bool fail(std::string_view kind, std::string_view detail);
  void arm() { deadline_ = Clock::now() + options_.op_timeout(); }
  void remember_session();

  asio::io_context& io_;
  asio::ssl::context& tls_context_;
  const Options& options_;
  ClientRegistry& registry_;
  asio::ip::tcp::socket socket_;
  std::optional<asio::ssl::stream<asio::ip::tcp::socket&>> tls_;
  struct SessionFree {
    void operator()(SSL_SESSION* session) const { SSL_SESSION_free(session); }
  };
  std::unique_ptr<SSL_SESSION, SessionFree> session_;
  std::vector<char> buffer_;
  std::size_t head_ = 0;
  std::size_t tail_ = 0;
  std::string status_;
  std::string command_;
  std::string error_kind_;
  std::string error_detail_;
  Clock::time_point deadline_ = Clock::time_point::max();
  bool timed_out_ = false;
  bool handshaken_ = false;
  bool resumed_ = false;
};

}  // namespace mailport::bench
