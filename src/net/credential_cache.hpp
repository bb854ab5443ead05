// Opt-in cache of recently verified passwords (auth.credential_cache_ttl), so a POP3 client that
// polls every minute does not pay for a deliberately slow hash each time.
//
// Nothing reversible is kept: an entry holds HMAC-SHA256(per-process random key, user, password)
// and a MAC of the user's record as it was when the password was checked. A record that changed
// (new password, home, uid...) or a new version of the users file drops the entry; only
// successful checks are remembered. Thread-safe.
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

namespace mailport::net {

class CredentialCache {
 public:
  using Clock = std::chrono::steady_clock;
  using Mac = std::array<unsigned char, 32>;

  // `ttl` zero disables the cache. At most `capacity` users are remembered.
  CredentialCache(std::chrono::seconds ttl, std::size_t capacity);

  bool enabled() const { return ttl_.count() > 0; }

  // True when `password` was verified for `user` within the TTL, against the same `record` (the
  // user's passwd line or another serialization of everything that decides the login) and the
  // same users-file `generation`.
  bool verified(std::string_view user, std::string_view password, std::string_view record,
                std::uint64_t generation, Clock::time_point now);
  // Call only after a full check succeeded.
  void remember(std::string_view user, std::string_view password, std::string_view record,
                std::uint64_t generation, Clock::time_point now);

  std::size_t size() const;

 private:
  struct Entry {
    Mac credentials;
    Mac record;
    Clock::time_point expiry;
  };
  Mac mac(std::string_view a, std::string_view b) const;
  void sync_generation_locked(std::uint64_t generation);
  void make_room_locked(Clock::time_point now);

  std::chrono::seconds ttl_;
  std::size_t capacity_;
  Mac key_{};
  mutable std::mutex mutex_;
  std::uint64_t generation_ = 0;
  std::unordered_map<std::string, Entry> entries_;
};

}  // namespace mailport::net
