// The load scenarios. Each client coroutine owns a disjoint set of accounts (client i uses
// accounts i, i+K, i+2K, ...), because a POP3 server may lock a maildrop per session.
#pragma once

#include <asio/awaitable.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/ssl/context.hpp>
#include <functional>
#include <string>
#include <vector>

#include "bench/options.hpp"
#include "bench/pop3_client.hpp"
#include "bench/stats.hpp"

namespace mailport::bench {

// What one load thread owns; the scenario's coroutines run on `io` only.
struct LoadThread {
  asio::io_context io{1};
  ClientRegistry registry;
  Stats stats;
  bool stop_sweeper = false;
  unsigned running = 0;  // spawned coroutines not finished yet; the sweeper stops at zero
};

struct LoadContext {
  const Options& options;
  asio::ssl::context& tls;
  asio::ip::tcp::endpoint server;
  Window window;
};

using Worker = std::function<asio::awaitable<void>(const LoadContext&, LoadThread&,
                                                   unsigned client_index)>;

// The per-client coroutine of login, retr, mixed or bigbox; empty for an unknown name.
Worker find_worker(const std::string& scenario);

// Accounts client `index` of `clients` may use.
std::vector<const Account*> owned_accounts(const Options& options, unsigned index,
                                           unsigned clients);

// Spawns `body` on `thread`, counted in thread.running; an escaping exception is recorded as an
// error instead of being lost.
void spawn_tracked(LoadThread& thread, asio::awaitable<void> body);

}  // namespace mailport::bench
