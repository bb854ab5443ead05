#include "pg/pool.hpp"

#include <map>

#include "pg/schema.hpp"

namespace mailport::pg {

Lease::Lease(std::shared_ptr<Pool> pool, std::unique_ptr<Connection> connection)
    : pool_(std::move(pool)), connection_(std::move(connection)) {}

Lease::~Lease() {
  if (pool_ && connection_) pool_->give_back(std::move(connection_), holds_locks_);
}

Pool::Pool(std::string conninfo, std::size_t max_connections)
    : conninfo_(std::move(conninfo)),
      max_connections_(max_connections == 0 ? 1 : max_connections),
      unlocker_([this](std::stop_token stop) { unlock_loop(std::move(stop)); }) {}

Pool::~Pool() {
  unlocker_.request_stop();
  unlocker_.join();
}

Result<std::unique_ptr<Connection>> Pool::connect() {
  auto connection = Connection::open(conninfo_);
  if (!connection) return connection.error();
  {
    std::lock_guard lock(mutex_);
    if (schema_ready_) return connection;
  }
  // Concurrent first connections both get here; ensure_schema serialises them in the database.
  if (auto schema = ensure_schema(**connection); !schema) return schema.error();
  std::lock_guard lock(mutex_);
  schema_ready_ = true;
  return connection;
}

Result<Lease> Pool::acquire(std::chrono::milliseconds wait) {
  const auto deadline = std::chrono::steady_clock::now() + wait;
  std::unique_lock lock(mutex_);
  for (;;) {
    if (!idle_.empty()) {
      std::unique_ptr<Connection> connection = std::move(idle_.back());
      idle_.pop_back();
      return Lease(shared_from_this(), std::move(connection));
    }
    if (open_ < max_connections_) {
      ++open_;
      lock.unlock();
      auto made = connect();
      if (made) return Lease(shared_from_this(), std::move(*made));
      lock.lock();
      --open_;
      available_.notify_one();
      return made.error();
    }
    if (available_.wait_until(lock, deadline) == std::cv_status::timeout) {
      return make_error(errc::temporary_failure,
                        "all " + std::to_string(max_connections_) +
                            " PostgreSQL connections of this instance are in use");
    }
  }
}

void Pool::give_back(std::unique_ptr<Connection> connection, bool holds_locks) {
  std::unique_ptr<Connection> closing;  // closed outside the lock
  std::lock_guard lock(mutex_);
  if (!connection->reusable()) {
    closing = std::move(connection);
    --open_;
    available_.notify_one();
  } else if (holds_locks) {
    to_unlock_.push_back(std::move(connection));
    unlock_wanted_.notify_one();
  } else {
    idle_.push_back(std::move(connection));
    available_.notify_one();
  }
}

void Pool::unlock_loop(std::stop_token stop) {
  std::unique_lock lock(mutex_);
  while (unlock_wanted_.wait(lock, stop, [this] { return !to_unlock_.empty(); })) {
    std::unique_ptr<Connection> connection = std::move(to_unlock_.front());
    to_unlock_.pop_front();
    lock.unlock();
    const bool unlocked = connection->execute("SELECT pg_advisory_unlock_all()").ok();
    if (!unlocked || !connection->reusable()) connection.reset();  // closing releases them too
    lock.lock();
    if (connection) {
      idle_.push_back(std::move(connection));
    } else {
      --open_;
    }
    available_.notify_one();
  }
}

std::shared_ptr<Pool> shared_pool(const std::string& conninfo, std::size_t max_connections) {
  static std::mutex mutex;
  static std::map<std::string, std::shared_ptr<Pool>> pools;
  std::lock_guard lock(mutex);
  std::shared_ptr<Pool>& pool = pools[conninfo];
  if (!pool) pool = std::make_shared<Pool>(conninfo, max_connections);
  return pool;
}

}  // namespace mailport::pg
