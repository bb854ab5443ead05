#include "net/proxy_reader.hpp"

#include <algorithm>
#include <asio/experimental/as_tuple.hpp>
#include <asio/read.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>
#include <memory>
#include <variant>

#include "net/proxy_protocol.hpp"

namespace mailport::net {
namespace {

using asio::ip::tcp;
constexpr auto kAsTuple = asio::experimental::as_tuple(asio::use_awaitable);

asio::ip::address to_asio(const ProxyAddress& address) {
  if (!address.v6) {
    asio::ip::address_v4::bytes_type bytes;
    std::copy_n(address.bytes.begin(), bytes.size(), bytes.begin());
    return asio::ip::address_v4(bytes);
  }
  const asio::ip::address_v6 v6(address.bytes);
  // A proxy listening on IPv6 reports IPv4 clients as v4-mapped; they are IPv4 clients.
  if (v6.is_v4_mapped()) return asio::ip::make_address_v4(asio::ip::v4_mapped, v6);
  return v6;
}

// Looks at what has arrived without consuming it, then consumes exactly the header's bytes. A
// pass that ends short of the header consumes what it saw (all of it is header), so the next
// peek waits for new bytes instead of spinning. Each pass consumes at least one byte of a header
// that is at most kProxyV2MaxLength long.
asio::awaitable<Result<ProxyHeader>> read_header(tcp::socket& socket) {
  std::string held;
  std::string window;
  for (std::size_t pass = 0; pass < kProxyV2MaxLength; ++pass) {
    window.resize(proxy_header_window(held) - held.size());
    auto [peek_error, seen] =
        co_await socket.async_receive(asio::buffer(window), tcp::socket::message_peek, kAsTuple);
    if (peek_error) co_return Error{peek_error, "reading the PROXY header"};
    const ProxyParse parsed = parse_proxy_header(held + window.substr(0, seen));
    if (const auto* error = std::get_if<ProxyError>(&parsed)) {
      co_return make_error(errc::invalid_input, error->reason);
    }
    const auto* header = std::get_if<ProxyHeader>(&parsed);
    std::string taken(header ? header->length - held.size() : seen, '\0');
    auto [read_error, got] = co_await asio::async_read(socket, asio::buffer(taken), kAsTuple);
    if (read_error) co_return Error{read_error, "reading the PROXY header"};
    if (header) co_return *header;
    held += taken;
  }
  co_return make_error(errc::invalid_input, "PROXY header never completed");
}

}  // namespace

bool ProxySettings::trusts(const asio::ip::address& address) const {
  return std::ranges::any_of(trusted, [&](const Cidr& cidr) { return cidr.contains(address); });
}

ProxySettings proxy_settings(const std::vector<std::string>& cidrs) {
  ProxySettings settings;
  for (const std::string& text : cidrs) {
    if (auto cidr = parse_cidr(text)) settings.trusted.push_back(*cidr);
  }
  return settings;
}

std::string ClientOrigin::log_suffix() const {
  if (!proxy) return {};
  return " proxy=" + proxy->address().to_string() + ":" + std::to_string(proxy->port()) +
         " proxy_version=" + std::to_string(proxy_version) +
         (address_known ? "" : " client=unknown");
}

asio::awaitable<Result<ClientOrigin>> accept_origin(tcp::socket& socket,
                                                    const ProxySettings& settings) {
  asio::error_code ec;
  const tcp::endpoint peer = socket.remote_endpoint(ec);
  if (ec) co_return Error{ec, "connection gone before it was served"};
  ClientOrigin origin;
  origin.peer = peer;
  if (!settings.trusts(peer.address())) co_return origin;

  // The timer outlives nothing it touches: once the read is over, `finished` stops it from
  // cancelling a socket that may have moved on to serve the client.
  auto finished = std::make_shared<bool>(false);
  auto expired = std::make_shared<bool>(false);
  asio::steady_timer timer(socket.get_executor(), settings.timeout);
  timer.async_wait([&socket, finished, expired](const asio::error_code& error) {
    if (error || *finished) return;
    *expired = true;
    asio::error_code ignored;
    socket.cancel(ignored);
  });
  Result<ProxyHeader> header = co_await read_header(socket);
  *finished = true;
  timer.cancel();
  if (*expired) {
    co_return make_error(errc::invalid_input, "no complete PROXY header within " +
                                                  std::to_string(settings.timeout.count()) + "ms");
  }
  if (!header) co_return header.error();

  origin.proxy = peer;
  origin.proxy_version = header->version;
  if (header->source) {
    origin.peer = tcp::endpoint(to_asio(*header->source), header->source->port);
  } else if (!header->local) {
    origin.address_known = false;
  }
  co_return origin;
}

}  // namespace mailport::net
