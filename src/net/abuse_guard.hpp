// Brute-force and flood resistance, shared by every connection of a server: per-address and
// global connection caps, a failed-login delay that grows per client address, and a temporary
// ban once an address fails too often within a window. IPv6 clients are grouped by /64, since one
// host usually owns a whole prefix. Thread-safe; all state is bounded in size.
#pragma once

#include <asio/ip/address.hpp>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/result.hpp"

namespace mailport::net {

struct Cidr {
  asio::ip::address network;
  unsigned prefix = 0;
  bool contains(const asio::ip::address& address) const;
};
// "10.0.0.0/8", "::1/128", "127.0.0.1" (a single host).
Result<Cidr> parse_cidr(std::string_view text);

struct AbuseSettings {
  unsigned max_connections = 10000;                    // whole server
  unsigned max_connections_per_ip = 50;                // per address (or IPv6 /64)
  std::chrono::milliseconds failure_delay{2000};       // after the first failed login
  std::chrono::milliseconds max_failure_delay{15000};  // the delay doubles up to this
  unsigned ban_after_failures = 50;                    // failures within failure_window, then a ban
  std::chrono::seconds failure_window{600};
  std::chrono::seconds ban_duration{600};
  std::vector<Cidr> trusted_networks;  // exempt from caps, delays and bans
  std::size_t max_tracked_addresses = 100000;
};

class AbuseGuard {
 public:
  using Clock = std::chrono::steady_clock;
  explicit AbuseGuard(AbuseSettings settings);

  bool trusted(const asio::ip::address& address) const;

  // A slot for one connection; released by the destructor.
  class Ticket {
   public:
    Ticket() = default;
    Ticket(AbuseGuard* guard, std::string key) : guard_(guard), key_(std::move(key)) {}
    Ticket(Ticket&& other) noexcept
        : guard_(std::exchange(other.guard_, nullptr)), key_(std::move(other.key_)) {}
    Ticket& operator=(Ticket&&) = delete;
    Ticket(const Ticket&) = delete;
    ~Ticket();
    explicit operator bool() const { return guard_ != nullptr; }

   private:
    AbuseGuard* guard_ = nullptr;
    std::string key_;
  };
  // An empty ticket means: refuse the connection (too many in total or from this address).
  Ticket admit(const asio::ip::address& address);

  bool banned(const asio::ip::address& address);
  // Records a failure and returns how long to wait before answering it.
  std::chrono::milliseconds record_failure(const asio::ip::address& address);
  // A success clears the address's failure history.
  void record_success(const asio::ip::address& address);

  // For metrics and tests.
  std::size_t open_connections() const;
  std::size_t penalized_addresses() const;
  struct PenaltyCounts {
    std::size_t delayed = 0;  // failures within the window: the next failure waits longer
    std::size_t banned = 0;
  };
  PenaltyCounts penalties_in_force() const;

 private:
  struct Penalty {
    unsigned failures = 0;  // within the current window
    Clock::time_point window_start;
    Clock::time_point banned_until;
  };
  static std::string key_of(const asio::ip::address& address);
  void release(const std::string& key);
  void forget_stale(Clock::time_point now);

  AbuseSettings settings_;
  mutable std::mutex mutex_;
  std::size_t open_ = 0;
  std::unordered_map<std::string, unsigned> per_address_;
  std::unordered_map<std::string, Penalty> penalties_;
};

}  // namespace mailport::net
