// The login path: credentials checked on the blocking pool (never on an I/O thread), then the
// maildrop opened and locked, waiting a bounded time for a lock held by another session.
#pragma once

#include <asio/awaitable.hpp>
#include <asio/ip/address.hpp>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "auth/passwd_file.hpp"
#include "net/abuse_guard.hpp"
#include "net/blocking_pool.hpp"
#include "net/credential_cache.hpp"
#include "pop3/session.hpp"
#include "store/mail_store.hpp"

namespace mailport::net {

// Stores an upgraded hash for `user` if the stored one is still `expected` (compare-and-swap).
// Blocking: runs on the hash pool.
using StoreHash = std::function<Result<void>(const std::string& user, const std::string& expected,
                                             const std::string& hash)>;

struct LoginSettings {
  std::chrono::milliseconds lock_timeout{5000};
  std::chrono::milliseconds lock_retry_interval{100};
  std::optional<std::chrono::seconds> login_delay;
  bool rehash = false;   // upgrade weaker stored hashes to the default scheme on login
  StoreHash store_hash;  // where upgraded hashes go (the passwd file or PostgreSQL)
  std::chrono::seconds credential_cache_ttl{0};  // 0: every login runs the full hash check
  std::size_t credential_cache_size = 100000;    // users remembered at most
};

struct LoginResult {
  pop3::LoginOutcome outcome;
  std::unique_ptr<store::Mailbox> mailbox;  // set when outcome.status == ok
  std::string reason;                       // for the log line; never contains the secret
};

class LoginService {
 public:
  // `pool` runs lookups, cheap hashes and maildrop work; `hash_pool` the deliberately slow
  // hashes (ARGON2ID, BLF-CRYPT, SHA-crypt with raised rounds).
  LoginService(auth::PassDb& passdb, store::MailStore& store, BlockingPool& pool,
               BlockingPool& hash_pool, AbuseGuard& guard, LoginSettings settings);

  // `peer` is the client's address, for penalties and bans. Taken by value: the coroutine
  // outlives the caller's expression when it is spawned rather than awaited at once.
  asio::awaitable<LoginResult> login(const pop3::LoginRequest& request, asio::ip::address peer);

  // SCRAM: the user's stored secrets, or made-up ones for an unknown user (blocking: call it on
  // the pool).
  ScramSecrets scram_secrets(const std::string& user, ScramHash hash);

  // How many passwords went through their stored hash (not the credential cache): for tests.
  std::uint64_t hash_checks() const { return hash_checks_.load(); }

 private:
  struct Verdict {
    pop3::LoginStatus status;
    std::string reason;
    std::string home;
    bool weak_hash = false;   // verified against a scheme weaker than the default
    std::string stored_hash;  // what was verified, for a compare-and-swap upgrade
  };
  static Verdict refused(pop3::LoginStatus status, std::string reason);
  using Lookup = Result<std::optional<auth::UserRecord>>;
  using Opened = Result<std::unique_ptr<store::Mailbox>>;
  // What one task on the pool found out; `verdict` is unset when a slow hash is still due.
  struct FirstCheck {
    Lookup found;
    std::uint64_t generation = 0;
    std::optional<Verdict> verdict;
    std::optional<Opened> opened;  // the first attempt, when the verdict was ok
  };
  static bool expensive(const Lookup& found);
  static bool cacheable(const pop3::LoginRequest& request);
  FirstCheck first_check(const pop3::LoginRequest& request);  // blocking
  Verdict verify(const pop3::LoginRequest& request, const Lookup& found,
                 std::uint64_t generation);                                           // blocking
  Verdict check_credentials(const pop3::LoginRequest& request, const Lookup& found);  // blocking
  std::optional<Opened> open_unless_delayed(const pop3::LoginRequest& request,
                                            const Verdict& verdict);  // blocking
  bool within_login_delay(const std::string& user);
  void record_login(const std::string& user);
  asio::awaitable<LoginResult> open_mailbox(const std::string& user, const std::string& home,
                                            std::optional<Opened> first_attempt);
  void rehash_later(const pop3::LoginRequest& request, std::string stored_hash);

  auth::PassDb& passdb_;
  store::MailStore& store_;
  BlockingPool& pool_;
  BlockingPool& hash_pool_;
  AbuseGuard& guard_;
  LoginSettings settings_;
  std::mutex last_login_mutex_;
  std::map<std::string, std::chrono::steady_clock::time_point, std::less<>> last_login_;
  CredentialCache cache_;
  std::atomic<std::uint64_t> hash_checks_{0};
};

// RFC 1939 APOP: hex MD5 of the greeting timestamp followed by the clear-text secret.
std::string apop_digest(std::string_view timestamp, std::string_view secret);

}  // namespace mailport::net
