#include "net/login_service.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <spdlog/spdlog.h>

#include <asio/post.hpp>
#include <asio/steady_timer.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>

#include "auth/password.hpp"
#include "auth/scram.hpp"

namespace mailport::net {
namespace {

using pop3::LoginStatus;

bool equal_constant_time(std::string_view a, std::string_view b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

// APOP needs the clear-text secret, so only PLAIN-scheme entries can use it.
std::optional<std::string_view> plain_secret(std::string_view stored) {
  for (std::string_view prefix : {"{PLAIN}", "{CLEAR}", "{CLEARTEXT}"}) {
    if (stored.starts_with(prefix)) return stored.substr(prefix.size());
  }
  return std::nullopt;
}

asio::awaitable<void> sleep_for(std::chrono::milliseconds duration) {
  if (duration.count() <= 0) co_return;
  asio::steady_timer timer(co_await asio::this_coro::executor, duration);
  co_await timer.async_wait(asio::use_awaitable);
}

}  // namespace

std::string apop_digest(std::string_view timestamp, std::string_view secret) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  EVP_DigestInit_ex(ctx, EVP_md5(), nullptr);
  EVP_DigestUpdate(ctx, timestamp.data(), timestamp.size());
  EVP_DigestUpdate(ctx, secret.data(), secret.size());
  EVP_DigestFinal_ex(ctx, digest, &length);
  EVP_MD_CTX_free(ctx);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  for (unsigned i = 0; i < length; ++i) {
    hex += kHex[digest[i] >> 4];
    hex += kHex[digest[i] & 0xf];
  }
  return hex;
}

LoginService::LoginService(auth::PassDb& passdb, store::MailStore& store, BlockingPool& pool,
                           BlockingPool& hash_pool, AbuseGuard& guard, LoginSettings settings)
    : passdb_(passdb),
      store_(store),
      pool_(pool),
      hash_pool_(hash_pool),
      guard_(guard),
      settings_(std::move(settings)),
      cache_(settings_.credential_cache_ttl, settings_.credential_cache_size) {}

LoginService::Verdict LoginService::refused(LoginStatus status, std::string reason) {
  return {status, std::move(reason), {}, false, {}};
}

ScramSecrets LoginService::scram_secrets(const std::string& user, ScramHash hash) {
  auto found = passdb_.lookup(user);
  if (found && *found) {
    if (auto secrets = auth::scram_secrets_for(user, (*found)->password, hash)) return *secrets;
  }
  return auth::dummy_scram_secrets(user, hash);
}

// Hashes that take tens of milliseconds or more by design go to their own pool, so a burst of
// them cannot queue the cheap ones (and the maildrop work) behind it.
bool LoginService::expensive(const Lookup& found) {
  if (!found || !*found) return true;  // the dummy hash is of the default scheme
  const std::string& stored = (*found)->password;
  const auto scheme = auth::stored_scheme(stored);
  const bool cheap =
      scheme == auth::Scheme::plain || scheme == auth::Scheme::scram_sha_256 ||
      scheme == auth::Scheme::scram_sha_1 ||
      ((scheme == auth::Scheme::sha512_crypt || scheme == auth::Scheme::sha256_crypt) &&
       stored.find("rounds=") == std::string::npos);
  return !cheap;
}

LoginService::Verdict LoginService::check_credentials(const pop3::LoginRequest& request,
                                                      const Lookup& found) {
  if (!request.authzid.empty() && request.authzid != request.user) {
    return refused(LoginStatus::bad_credentials, "authorization identity differs");
  }
  if (request.verification == sasl::Verification::rejected) {
    return refused(LoginStatus::bad_credentials, "wrong SCRAM proof");
  }
  if (!found) return refused(LoginStatus::temporary_failure, found.error().describe());
  const std::optional<auth::UserRecord>& user = *found;
  if (request.verification == sasl::Verification::verified) {
    if (!user) return refused(LoginStatus::bad_credentials, "user removed during SCRAM");
    return {LoginStatus::ok, {}, user->home, false, user->password};
  }
  if (request.mechanism == pop3::Mechanism::apop) {
    auto secret = user ? plain_secret(user->password) : std::nullopt;
    std::string expected = apop_digest(request.apop_timestamp, secret.value_or("\x01unusable"));
    if (!user || !secret || !equal_constant_time(expected, request.secret)) {
      return refused(LoginStatus::bad_credentials, user ? "wrong digest" : "unknown user");
    }
    return {LoginStatus::ok, {}, user->home, false, user->password};
  }
  // Unknown users cost a full hash check too, so timing does not reveal which names exist.
  const std::string& stored = user ? user->password : auth::dummy_hash();
  hash_checks_.fetch_add(1, std::memory_order_relaxed);
  const auto scheme = auth::stored_scheme(stored);
  spdlog::debug("event=password-check scheme={}", scheme ? auth::scheme_name(*scheme) : "unknown");
  bool matches = auth::verify_password(stored, request.secret);
  if (!user) return refused(LoginStatus::bad_credentials, "unknown user");
  if (!matches) return refused(LoginStatus::bad_credentials, "wrong password");
  const bool weak = auth::stored_scheme(user->password) != auth::kDefaultScheme;
  return {LoginStatus::ok, {}, user->home, weak, user->password};
}

bool LoginService::within_login_delay(const std::string& user) {
  if (!settings_.login_delay) return false;
  std::lock_guard lock(last_login_mutex_);
  auto it = last_login_.find(user);
  return it != last_login_.end() &&
         std::chrono::steady_clock::now() - it->second < *settings_.login_delay;
}

void LoginService::record_login(const std::string& user) {
  if (!settings_.login_delay) return;
  std::lock_guard lock(last_login_mutex_);
  last_login_[user] = std::chrono::steady_clock::now();
}

// Only a password the client sent in the clear can be cached; SCRAM and APOP prove something
// else, and a login as another identity is refused anyway.
bool LoginService::cacheable(const pop3::LoginRequest& request) {
  return request.mechanism != pop3::Mechanism::apop &&
         request.verification == sasl::Verification::by_server &&
         (request.authzid.empty() || request.authzid == request.user);
}

LoginService::Verdict LoginService::verify(const pop3::LoginRequest& request, const Lookup& found,
                                           std::uint64_t generation) {
  Verdict verdict = check_credentials(request, found);
  if (verdict.status == LoginStatus::ok && cache_.enabled() && cacheable(request)) {
    cache_.remember(request.user, request.secret, auth::format_passwd_line(**found), generation,
                    std::chrono::steady_clock::now());
  }
  return verdict;
}

// One hand-off to the pool for what most logins need: the lookup, the credential cache or a
// cheap hash, and the first attempt to open the maildrop.
LoginService::FirstCheck LoginService::first_check(const pop3::LoginRequest& request) {
  FirstCheck check{passdb_.lookup(request.user), passdb_.generation(), std::nullopt, std::nullopt};
  const Lookup& found = check.found;
  if (cache_.enabled() && cacheable(request) && found && *found &&
      cache_.verified(request.user, request.secret, auth::format_passwd_line(**found),
                      check.generation, std::chrono::steady_clock::now())) {
    spdlog::debug("event=credential-cache result=hit");
    check.verdict = Verdict{LoginStatus::ok, {}, (*found)->home, false, (*found)->password};
  } else if (!expensive(found)) {
    check.verdict = verify(request, found, check.generation);
  }
  if (check.verdict) check.opened = open_unless_delayed(request, *check.verdict);
  return check;
}

std::optional<LoginService::Opened> LoginService::open_unless_delayed(
    const pop3::LoginRequest& request, const Verdict& verdict) {
  if (verdict.status != LoginStatus::ok || within_login_delay(request.user)) return std::nullopt;
  return store_.open(store::UserContext{request.user, verdict.home});
}

asio::awaitable<LoginResult> LoginService::login(const pop3::LoginRequest& request,
                                                 asio::ip::address peer) {
  if (guard_.banned(peer)) {
    // No password check at all while banned: the guessing stops paying off.
    co_await sleep_for(guard_.record_failure(peer));
    co_return LoginResult{{LoginStatus::temporary_failure, {}}, nullptr, "address banned"};
  }
  FirstCheck check = co_await pool_.run([this, &request] { return first_check(request); });
  if (!check.verdict) {
    check.verdict = co_await hash_pool_.run(
        [this, &request, &check] { return verify(request, check.found, check.generation); });
  }
  Verdict& verdict = *check.verdict;
  if (verdict.status == LoginStatus::bad_credentials) {
    co_await sleep_for(guard_.record_failure(peer));
    co_return LoginResult{{verdict.status, {}}, nullptr, std::move(verdict.reason)};
  }
  if (verdict.status != LoginStatus::ok) {
    co_return LoginResult{{verdict.status, {}}, nullptr, std::move(verdict.reason)};
  }
  guard_.record_success(peer);
  if (verdict.weak_hash && settings_.rehash && request.mechanism != pop3::Mechanism::apop) {
    rehash_later(request, std::move(verdict.stored_hash));
  }
  if (!check.opened && within_login_delay(request.user)) {
    co_return LoginResult{{LoginStatus::login_delay, {}}, nullptr, "within login delay"};
  }
  LoginResult result = co_await open_mailbox(request.user, verdict.home, std::move(check.opened));
  if (result.outcome.status == LoginStatus::ok) record_login(request.user);
  co_return result;
}

// The upgrade runs on the pool after the login is answered; a failure only costs a log line.
void LoginService::rehash_later(const pop3::LoginRequest& request, std::string stored_hash) {
  asio::post(hash_pool_.executor(), [store = settings_.store_hash, user = request.user,
                                     password = request.secret, old = std::move(stored_hash)] {
    if (!store) {
      spdlog::warn("event=rehash result=failed user=\"{}\" error=\"no user database to write\"",
                   user);
      return;
    }
    auto hash = auth::hash_password(password, auth::kDefaultScheme);
    if (!hash) {
      spdlog::warn("event=rehash result=failed user=\"{}\" error=\"{}\"", user,
                   hash.error().describe());
      return;
    }
    if (auto stored = store(user, old, *hash); !stored) {
      spdlog::warn("event=rehash result=failed user=\"{}\" error=\"{}\"", user,
                   stored.error().describe());
      return;
    }
    spdlog::info("event=rehash result=ok user=\"{}\" scheme={}", user,
                 auth::scheme_name(auth::kDefaultScheme));
  });
}

asio::awaitable<LoginResult> LoginService::open_mailbox(const std::string& user,
                                                        const std::string& home,
                                                        std::optional<Opened> first_attempt) {
  const store::UserContext context{user, home};
  const auto deadline = std::chrono::steady_clock::now() + settings_.lock_timeout;
  for (;;) {
    // No co_await inside ?: (GCC 12 miscompiles it).
    std::optional<Opened> attempt = std::move(first_attempt);
    first_attempt.reset();
    if (!attempt) attempt = co_await pool_.run([this, &context] { return store_.open(context); });
    Opened& opened = *attempt;
    if (opened) {
      LoginResult result{{LoginStatus::ok, (*opened)->messages()}, std::move(*opened), {}};
      co_return result;
    }
    const Error& error = opened.error();
    if (!error.is(errc::in_use)) {
      co_return LoginResult{{LoginStatus::temporary_failure, {}}, nullptr, error.describe()};
    }
    if (std::chrono::steady_clock::now() + settings_.lock_retry_interval > deadline) {
      co_return LoginResult{{LoginStatus::in_use, {}}, nullptr, "mailbox locked"};
    }
    co_await sleep_for(settings_.lock_retry_interval);
  }
}

}  // namespace mailport::net
