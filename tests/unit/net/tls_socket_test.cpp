#include "net/tls_socket.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>
#include <asio/read.hpp>
#include <asio/ssl/stream.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>
#include <csignal>
#include <filesystem>
#include <string>

#include "net/self_signed.hpp"
#include "net/tls_context.hpp"

namespace mailport::net {
namespace {

using asio::ip::tcp;
namespace fs = std::filesystem;

class TlsSocketTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::signal(SIGPIPE, SIG_IGN);  // as Server::run does: OpenSSL writes with write(2)
    dir_ = fs::temp_directory_path() / ("mailport-tls-socket-" + std::to_string(getpid()));
    fs::create_directories(dir_);
    ASSERT_TRUE(write_self_signed_certificate({}, dir_ / "cert.pem", dir_ / "key.pem"));
    TlsOptions options;
    options.cert = dir_ / "cert.pem";
    options.key = dir_ / "key.pem";
    auto context = make_server_tls_context(options);
    ASSERT_TRUE(context);
    server_context_ = *context;
    acceptor_.open(tcp::v4());
    acceptor_.bind({asio::ip::make_address("127.0.0.1"), 0});
    acceptor_.listen();
  }
  void TearDown() override { fs::remove_all(dir_); }

  // A client that sends `request`, then reads `expected_reply_size` bytes and closes.
  asio::awaitable<void> client(std::string request, std::size_t expected_reply_size) {
    asio::ssl::stream<tcp::socket> stream(io_, client_context_);
    co_await stream.next_layer().async_connect(acceptor_.local_endpoint(), asio::use_awaitable);
    co_await stream.async_handshake(asio::ssl::stream_base::client, asio::use_awaitable);
    co_await asio::async_write(stream, asio::buffer(request), asio::use_awaitable);
    reply_.resize(expected_reply_size);
    co_await asio::async_read(stream, asio::buffer(reply_), asio::use_awaitable);
    client_done_ = true;
  }

  asio::io_context io_;
  tcp::acceptor acceptor_{io_};
  asio::ssl::context client_context_{asio::ssl::context::tls_client};
  std::shared_ptr<asio::ssl::context> server_context_;
  fs::path dir_;
  std::string reply_;
  bool client_done_ = false;
};

TEST_F(TlsSocketTest, HandshakesReadsAndWritesLargeData) {
  const std::string request = "RETR 1\r\n";
  std::string body(3 * 1024 * 1024 + 17, 'x');  // many full-size records, partial writes
  for (std::size_t i = 0; i < body.size(); i += 4093) body[i] = static_cast<char>('a' + i % 26);
  std::string received;
  std::error_code handshake_error = asio::error::fault;
  std::string version;
  asio::co_spawn(
      io_,
      [&]() -> asio::awaitable<void> {
        tcp::socket socket = co_await acceptor_.async_accept(asio::use_awaitable);
        TlsSocket tls(socket, server_context_->native_handle());
        EXPECT_TRUE(tls.valid());
        handshake_error = co_await tls.handshake();
        version = tls_version_of(tls.native_handle());
        std::array<char, 4> chunk{};  // smaller than the request: several reads
        while (received.size() < request.size()) {
          auto [ec, n] = co_await tls.read_some(chunk);
          if (ec) break;
          received.append(chunk.data(), n);
        }
        EXPECT_FALSE(co_await tls.write_all(body));
      },
      asio::detached);
  asio::co_spawn(io_, client(request, body.size()), asio::detached);
  io_.run();
  EXPECT_FALSE(handshake_error) << handshake_error.message();
  EXPECT_EQ(version, "TLSv1.3");
  EXPECT_EQ(received, request);
  EXPECT_TRUE(client_done_);
  EXPECT_TRUE(reply_ == body);
}

TEST_F(TlsSocketTest, PeerClosingIsAnErrorNotAHang) {
  std::error_code read_error;
  asio::co_spawn(
      io_,
      [&]() -> asio::awaitable<void> {
        tcp::socket socket = co_await acceptor_.async_accept(asio::use_awaitable);
        TlsSocket tls(socket, server_context_->native_handle());
        EXPECT_FALSE(co_await tls.handshake());
        std::array<char, 64> chunk{};
        auto [ec, n] = co_await tls.read_some(chunk);
        read_error = ec;
        EXPECT_EQ(n, 0u);
      },
      asio::detached);
  asio::co_spawn(
      io_,
      [&]() -> asio::awaitable<void> {
        asio::ssl::stream<tcp::socket> stream(io_, client_context_);
        co_await stream.next_layer().async_connect(acceptor_.local_endpoint(), asio::use_awaitable);
        co_await stream.async_handshake(asio::ssl::stream_base::client, asio::use_awaitable);
        stream.next_layer().close();
      },
      asio::detached);
  io_.run();
  EXPECT_TRUE(read_error);
}

TEST_F(TlsSocketTest, ClosingTheSocketAbortsAWaitingRead) {
  std::error_code read_error;
  asio::co_spawn(
      io_,
      [&]() -> asio::awaitable<void> {
        tcp::socket socket = co_await acceptor_.async_accept(asio::use_awaitable);
        TlsSocket tls(socket, server_context_->native_handle());
        EXPECT_FALSE(co_await tls.handshake());
        // What the session watchdog does on a timeout.
        asio::post(io_, [&socket] { socket.close(); });
        std::array<char, 64> chunk{};
        auto [ec, n] = co_await tls.read_some(chunk);
        read_error = ec;
      },
      asio::detached);
  asio::ssl::stream<tcp::socket> stream(io_, client_context_);
  asio::co_spawn(
      io_,
      [&]() -> asio::awaitable<void> {
        co_await stream.next_layer().async_connect(acceptor_.local_endpoint(), asio::use_awaitable);
        co_await stream.async_handshake(asio::ssl::stream_base::client, asio::use_awaitable);
      },
      asio::detached);
  io_.run();
  EXPECT_EQ(read_error, asio::error::operation_aborted);
}

}  // namespace
}  // namespace mailport::net
