// Who is on the other end of a connection: the socket's peer, or, for a connection from a trusted
// load balancer, the client named by the PROXY protocol header it must send first. The header is
// consumed exactly, so the client's own bytes (a TLS ClientHello on 995) stay in the socket.
#pragma once

#include <asio/awaitable.hpp>
#include <asio/ip/tcp.hpp>
#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "core/result.hpp"
#include "net/abuse_guard.hpp"

namespace mailport::net {

struct ProxySettings {
  std::vector<Cidr> trusted;  // sources that must (and only they may) send a PROXY header
  // A proxy sends the header at once on connecting; a trusted source that does not is broken.
  std::chrono::milliseconds timeout{5000};

  bool trusts(const asio::ip::address& address) const;
};

// From listen.proxy_trusted (validated by the config layer).
ProxySettings proxy_settings(const std::vector<std::string>& cidrs);

struct ClientOrigin {
  asio::ip::tcp::endpoint peer;                  // the client, for logs, caps, penalties and bans
  std::optional<asio::ip::tcp::endpoint> proxy;  // the trusted proxy it came through
  unsigned proxy_version = 0;                    // 1 or 2 when proxied
  // False when a proxy forwarded a client without its address (version 1 UNKNOWN, version 2
  // AF_UNSPEC or AF_UNIX). `peer` is then the proxy's, as the specification says, which serves
  // for caps and penalties; but nothing may conclude from it that the client is local or trusted.
  bool address_known = true;

  // " proxy=ADDR:PORT" for a proxied connection, else empty: appended to connect log lines.
  std::string log_suffix() const;
};

// A failure (malformed header, timeout, connection gone) means: close the connection. The
// message says why, for the log.
asio::awaitable<Result<ClientOrigin>> accept_origin(asio::ip::tcp::socket& socket,
                                                    const ProxySettings& settings);

}  // namespace mailport::net
