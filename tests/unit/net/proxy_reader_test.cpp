#include "net/proxy_reader.hpp"

#include <gtest/gtest.h>

#include <asio/co_spawn.hpp>
#include <asio/io_context.hpp>
#include <asio/read.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_future.hpp>
#include <asio/write.hpp>
#include <chrono>
#include <optional>
#include <string>

namespace mailport::net {
namespace {

using asio::ip::tcp;
using namespace std::chrono_literals;
using namespace std::string_literals;

// use_future needs a default-constructible result.
asio::awaitable<std::optional<Result<ClientOrigin>>> read_origin(tcp::socket* socket,
                                                                 ProxySettings settings) {
  Result<ClientOrigin> origin = co_await accept_origin(*socket, settings);
  co_return std::optional(std::move(origin));
}

// A loopback connection: `server` is the accepted end accept_origin reads from.
class ProxyReader : public testing::Test {
 protected:
  ProxyReader() : acceptor_(io_, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)) {
    client_.connect(acceptor_.local_endpoint());
    server_ = acceptor_.accept();
  }

  Result<ClientOrigin> origin(const ProxySettings& settings) {
    auto future = asio::co_spawn(io_, read_origin(&server_, settings), asio::use_future);
    io_.run_for(5s);
    io_.restart();
    // The future is completed from asio's system executor, a moment after the run returns.
    EXPECT_EQ(future.wait_for(5s), std::future_status::ready);
    return *future.get();
  }

  // What the reader left in the socket: the client's own data must be untouched.
  std::string remaining(std::size_t size) {
    std::string data(size, '\0');
    asio::read(server_, asio::buffer(data));
    return data;
  }

  static ProxySettings trusting(const char* cidrs, std::chrono::milliseconds timeout = 2s) {
    ProxySettings settings = proxy_settings({cidrs});
    settings.timeout = timeout;
    return settings;
  }

  asio::io_context io_;
  tcp::acceptor acceptor_;
  tcp::socket client_{io_};
  tcp::socket server_{io_};
};

TEST_F(ProxyReader, TrustedV1NamesTheClientAndLeavesItsData) {
  asio::write(client_, asio::buffer("PROXY TCP4 192.0.2.7 198.51.100.1 56324 110\r\nCAPA\r\n"s));
  auto got = origin(trusting("127.0.0.0/8"));
  ASSERT_TRUE(got) << got.error().describe();
  EXPECT_EQ(got->peer.address().to_string(), "192.0.2.7");
  EXPECT_EQ(got->peer.port(), 56324);
  ASSERT_TRUE(got->proxy.has_value());
  EXPECT_EQ(got->proxy->address().to_string(), "127.0.0.1");
  EXPECT_EQ(got->proxy_version, 1u);
  EXPECT_TRUE(got->address_known);
  EXPECT_NE(got->log_suffix().find(" proxy=127.0.0.1:"), std::string::npos);
  EXPECT_EQ(remaining(6), "CAPA\r\n");
}

TEST_F(ProxyReader, TrustedV2ConsumesExactlyTheHeaderBeforeTls) {
  const std::string header = "\r\n\r\n\0\r\nQUIT\n\x21\x11\x00\x0c"s + "\xc0\x00\x02\x07"s +
                             "\xc6\x33\x64\x01"s + "\xdc\x04\x03\xe3"s;
  asio::write(client_, asio::buffer(header + "\x16\x03\x01"s));
  auto got = origin(trusting("127.0.0.1"));
  ASSERT_TRUE(got) << got.error().describe();
  EXPECT_EQ(got->peer.address().to_string(), "192.0.2.7");
  EXPECT_EQ(got->peer.port(), 56324);
  EXPECT_EQ(got->proxy_version, 2u);
  EXPECT_EQ(remaining(3), "\x16\x03\x01"s);
}

TEST_F(ProxyReader, HeaderInPiecesIsAssembled) {
  asio::write(client_, asio::buffer("PROXY TCP6 2001:db8::7 "s));
  auto future =
      asio::co_spawn(io_, read_origin(&server_, trusting("127.0.0.0/8")), asio::use_future);
  io_.run_for(100ms);
  EXPECT_NE(future.wait_for(0s), std::future_status::ready);
  asio::write(client_, asio::buffer("::ffff:10.0.0.9 4000 995\r\nX"s));
  io_.restart();
  io_.run_for(2s);
  auto got = *future.get();
  ASSERT_TRUE(got) << got.error().describe();
  EXPECT_EQ(got->peer.address().to_string(), "2001:db8::7");
  EXPECT_EQ(remaining(1), "X");
}

TEST_F(ProxyReader, UntrustedSourceIsServedAsItIsWithoutReading) {
  asio::write(client_, asio::buffer("PROXY TCP4 192.0.2.7 198.51.100.1 56324 110\r\n"s));
  auto got = origin(trusting("10.0.0.0/8"));
  ASSERT_TRUE(got);
  EXPECT_EQ(got->peer.address().to_string(), "127.0.0.1");
  EXPECT_FALSE(got->proxy.has_value());
  EXPECT_EQ(got->log_suffix(), "");
  EXPECT_EQ(remaining(5), "PROXY");  // left for the protocol, which rejects it as a command
}

TEST_F(ProxyReader, UnknownKeepsTheProxyAddressButMarksTheClientUnknown) {
  asio::write(client_, asio::buffer("PROXY UNKNOWN\r\n"s));
  auto got = origin(trusting("127.0.0.0/8"));
  ASSERT_TRUE(got);
  EXPECT_EQ(got->peer.address().to_string(), "127.0.0.1");
  EXPECT_FALSE(got->address_known);
  EXPECT_NE(got->log_suffix().find("client=unknown"), std::string::npos);
}

TEST_F(ProxyReader, LocalIsTheProxysOwnConnection) {
  asio::write(client_, asio::buffer("\r\n\r\n\0\r\nQUIT\n\x20\x00\x00\x00"s));
  auto got = origin(trusting("127.0.0.0/8"));
  ASSERT_TRUE(got);
  EXPECT_EQ(got->peer.address().to_string(), "127.0.0.1");
  EXPECT_TRUE(got->address_known);
  EXPECT_TRUE(got->proxy.has_value());
}

TEST_F(ProxyReader, MalformedHeaderFromTrustedSourceFails) {
  asio::write(client_, asio::buffer("USER alice\r\n"s));
  auto got = origin(trusting("127.0.0.0/8"));
  ASSERT_FALSE(got);
  EXPECT_NE(got.error().describe().find("not a PROXY protocol header"), std::string::npos);
}

TEST_F(ProxyReader, SilentTrustedSourceTimesOut) {
  const auto started = std::chrono::steady_clock::now();
  auto got = origin(trusting("127.0.0.0/8", 200ms));
  ASSERT_FALSE(got);
  EXPECT_NE(got.error().describe().find("within 200ms"), std::string::npos)
      << got.error().describe();
  EXPECT_LT(std::chrono::steady_clock::now() - started, 2s);
}

TEST_F(ProxyReader, ClosedBeforeCompleteFails) {
  asio::write(client_, asio::buffer("PROXY TCP4 192.0.2.7"s));
  client_.close();
  auto got = origin(trusting("127.0.0.0/8"));
  ASSERT_FALSE(got);
  EXPECT_NE(got.error().describe().find("reading the PROXY header"), std::string::npos);
}

}  // namespace
}  // namespace mailport::net
