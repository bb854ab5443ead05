// One POP3 connection: drives a sans-I/O pop3::Session over a plain socket, upgrades it in place
// on STLS, or speaks TLS from the first byte on the implicit-TLS listener.
#pragma once

#include <asio/awaitable.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/ssl/context.hpp>
#include <cstdint>
#include <memory>

#include "config/config.hpp"
#include "net/abuse_guard.hpp"
#include "net/blocking_pool.hpp"
#include "net/login_service.hpp"
#include "net/proxy_reader.hpp"

namespace mailport::net {

enum class ListenerKind;

struct ConnectionEnv {
  const config::Config& config;
  LoginService& login;
  BlockingPool& pool;
  AbuseGuard& guard;
  const ProxySettings& proxy;
  asio::ssl::context* tls;  // null when no certificate is configured
  // Keeps `config` and `tls` alive for the whole session after a reload replaced them.
  std::shared_ptr<const void> generation;
};

asio::awaitable<void> serve_connection(ConnectionEnv env, asio::ip::tcp::socket socket,
                                       ListenerKind kind, std::uint64_t session_id);

// The plaintext-auth policy's verdict for a peer address.
bool plaintext_allowed(config::PlaintextAuth policy, const asio::ip::address& peer);

}  // namespace mailport::net
