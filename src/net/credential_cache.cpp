#include "net/credential_cache.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <stdexcept>

namespace mailport::net {
namespace {

void append_field(std::string& out, std::string_view field) {
  // Length-prefixed, so ("ab", "c") and ("a", "bc") cannot collide.
  const auto size = static_cast<std::uint64_t>(field.size());
  for (int shift = 56; shift >= 0; shift -= 8) out += static_cast<char>((size >> shift) & 0xff);
  out += field;
}

bool same(const CredentialCache::Mac& a, const CredentialCache::Mac& b) {
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace

CredentialCache::CredentialCache(std::chrono::seconds ttl, std::size_t capacity)
    : ttl_(ttl), capacity_(capacity) {
  if (RAND_bytes(key_.data(), static_cast<int>(key_.size())) != 1) {
    throw std::runtime_error("cannot draw a random key for the credential cache");
  }
}

CredentialCache::Mac CredentialCache::mac(std::string_view a, std::string_view b) const {
  std::string input;
  input.reserve(a.size() + b.size() + 16);
  append_field(input, a);
  append_field(input, b);
  Mac out{};
  unsigned int length = 0;
  HMAC(EVP_sha256(), key_.data(), static_cast<int>(key_.size()),
       reinterpret_cast<const unsigned char*>(input.data()), input.size(), out.data(), &length);
  OPENSSL_cleanse(input.data(), input.size());  // it held the password
  return out;
}

void CredentialCache::sync_generation_locked(std::uint64_t generation) {
  if (generation == generation_) return;
  entries_.clear();
  generation_ = generation;
}

bool CredentialCache::verified(std::string_view user, std::string_view password,
                               std::string_view record, std::uint64_t generation,
                               Clock::time_point now) {
  if (!enabled()) return false;
  const Mac credentials = mac(user, password);
  const Mac record_mac = mac(user, record);
  std::lock_guard lock(mutex_);
  sync_generation_locked(generation);
  auto it = entries_.find(std::string(user));
  if (it == entries_.end()) return false;
  const Entry& entry = it->second;
  if (now >= entry.expiry || !same(entry.record, record_mac)) {
    entries_.erase(it);
    return false;
  }
  // A wrong password leaves the entry alone: guessing must not evict the owner's entry.
  return same(entry.credentials, credentials);
}

void CredentialCache::remember(std::string_view user, std::string_view password,
                               std::string_view record, std::uint64_t generation,
                               Clock::time_point now) {
  if (!enabled() || capacity_ == 0) return;
  Entry entry{mac(user, password), mac(user, record), now + ttl_};
  std::lock_guard lock(mutex_);
  sync_generation_locked(generation);
  auto it = entries_.find(std::string(user));
  if (it != entries_.end()) {
    it->second = entry;
    return;
  }
  make_room_locked(now);
  entries_.emplace(std::string(user), entry);
}

// Expired entries go first; if every entry is live, the one closest to expiry makes room.
void CredentialCache::make_room_locked(Clock::time_point now) {
  if (entries_.size() < capacity_) return;
  std::erase_if(entries_, [now](const auto& item) { return now >= item.second.expiry; });
  if (entries_.size() < capacity_) return;
  auto oldest = entries_.begin();
  for (auto it = entries_.begin(); it != entries_.end(); ++it) {
    if (it->second.expiry < oldest->second.expiry) oldest = it;
  }
  entries_.erase(oldest);
}

std::size_t CredentialCache::size() const {
  std::lock_guard lock(mutex_);
  return entries_.size();
}

}  // namespace mailport::net
