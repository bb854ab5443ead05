// A bounded pool of PostgreSQL connections, one per CONNINFO per process, shared by the store,
// the user database and local delivery. The schema is created or upgraded by the first
// connection. All calls block: run them off the I/O threads.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/result.hpp"
#include "pg/connection.hpp"

namespace mailport::pg {

class Pool;

// A connection borrowed from the pool; returned when the lease ends. A connection left broken
// or inside a transaction is closed instead of reused.
class Lease {
 public:
  Lease(std::shared_ptr<Pool> pool, std::unique_ptr<Connection> connection);
  Lease(Lease&&) noexcept = default;
  Lease& operator=(Lease&&) = delete;  // would drop a connection without returning it
  ~Lease();

  Connection& operator*() { return *connection_; }
  Connection* operator->() { return connection_.get(); }
  // This connection took session-level advisory locks: they are released (on the pool's own
  // thread, so that ending a lease never waits for the network) before it is reused.
  void holds_locks() { holds_locks_ = true; }

 private:
  std::shared_ptr<Pool> pool_;
  std::unique_ptr<Connection> connection_;
  bool holds_locks_ = false;
};

class Pool : public std::enable_shared_from_this<Pool> {
 public:
  static constexpr std::size_t kDefaultSize = 64;

  Pool(std::string conninfo, std::size_t max_connections);
  ~Pool();
  Pool(const Pool&) = delete;
  Pool& operator=(const Pool&) = delete;

  // Waits up to `wait` when every connection is lent out, then errc::temporary_failure.
  Result<Lease> acquire(std::chrono::milliseconds wait = std::chrono::seconds(5));
  const std::string& conninfo() const { return conninfo_; }
  std::size_t max_connections() const { return max_connections_; }

 private:
  friend class Lease;
  Result<std::unique_ptr<Connection>> connect();
  void give_back(std::unique_ptr<Connection> connection, bool holds_locks);
  void unlock_loop(std::stop_token stop);

  const std::string conninfo_;
  const std::size_t max_connections_;
  std::mutex mutex_;
  std::condition_variable_any available_;  // a connection came back or a slot freed
  std::condition_variable_any unlock_wanted_;
  std::vector<std::unique_ptr<Connection>> idle_;
  std::deque<std::unique_ptr<Connection>> to_unlock_;
  std::size_t open_ = 0;  // idle + lent out + waiting to be unlocked
  bool schema_ready_ = false;
  std::jthread unlocker_;  // last: stopped and joined before the members above go
};

// The process-wide pool for `conninfo`, created on first use with `max_connections`; later calls
// get that pool whatever they pass (serve sizes it from postgres.pool_size before anyone else).
std::shared_ptr<Pool> shared_pool(const std::string& conninfo,
                                  std::size_t max_connections = Pool::kDefaultSize);

}  // namespace mailport::pg
