#include "auth/password.hpp"

#include "auth/scram.hpp"

#include <argon2.h>
#include <crypt.h>
#include <sodium.h>
#include <strings.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <memory>
#include <vector>

namespace mailport::auth {
namespace {

// Argon2id cost for new hashes: 64 MiB, 3 passes, 1 lane (the parameters other servers write
// by default, about 0.1-0.2 s per verification on current hardware).
constexpr std::uint32_t kArgon2TimeCost = 3;
constexpr std::uint32_t kArgon2MemoryKib = 64 * 1024;
constexpr std::uint32_t kArgon2Lanes = 1;
constexpr std::size_t kArgon2SaltLength = 16;
constexpr std::size_t kArgon2HashLength = 32;
// bcrypt work factor 2^10. SHA-crypt's implicit 5000 rounds take ~2 ms, too cheap against
// guessing; an explicit "rounds=" is part of that format, so every crypt(3) still reads it.
constexpr unsigned long kBcryptCost = 10;
constexpr unsigned long kShaCryptRounds = 100'000;

struct SchemeName {
  Scheme scheme;
  std::string_view name;
};
constexpr std::array kSchemeNames{
    SchemeName{Scheme::argon2id, "ARGON2ID"},
    SchemeName{Scheme::blf_crypt, "BLF-CRYPT"},
    SchemeName{Scheme::sha512_crypt, "SHA512-CRYPT"},
    SchemeName{Scheme::sha256_crypt, "SHA256-CRYPT"},
    SchemeName{Scheme::scram_sha_256, "SCRAM-SHA-256"},
    SchemeName{Scheme::scram_sha_1, "SCRAM-SHA-1"},
    SchemeName{Scheme::plain, "PLAIN"},
    SchemeName{Scheme::plain, "CLEAR"},
    SchemeName{Scheme::plain, "CLEARTEXT"},
};

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && ::strncasecmp(a.data(), b.data(), a.size()) == 0;
}

bool sodium_ready() {
  static const bool ready = ::sodium_init() >= 0;
  return ready;
}

// How a stored value is checked. Argon2i and the crypt(3) formats outside the Scheme enum
// (MD5-crypt, yescrypt) are accepted so existing users files keep working.
enum class Method { argon2id, argon2i, crypt, plain, scram_sha_256, scram_sha_1 };

struct Classified {
  Method method;
  std::string_view hash;  // the part after "{SCHEME}"
  std::optional<Scheme> scheme;
};

std::optional<Classified> classify_bare(std::string_view hash) {
  auto starts = [&](std::string_view prefix) { return hash.starts_with(prefix); };
  if (starts("$argon2id$")) return Classified{Method::argon2id, hash, Scheme::argon2id};
  if (starts("$argon2i$")) return Classified{Method::argon2i, hash, std::nullopt};
  if (starts("$6$")) return Classified{Method::crypt, hash, Scheme::sha512_crypt};
  if (starts("$5$")) return Classified{Method::crypt, hash, Scheme::sha256_crypt};
  if (starts("$2a$") || starts("$2b$") || starts("$2y$")) {
    return Classified{Method::crypt, hash, Scheme::blf_crypt};
  }
  // DES and the other legacy formats without a "$id$" are deliberately not accepted.
  if (starts("$1$") || starts("$y$")) return Classified{Method::crypt, hash, std::nullopt};
  return std::nullopt;
}

// A named scheme only accepts hashes of its own family, so "{PLAIN}$6$..." is never run
// through crypt and "{SHA512-CRYPT}$1$..." does not silently downgrade.
std::optional<Classified> classify_named(std::string_view name, std::string_view hash) {
  if (iequals(name, "PLAIN") || iequals(name, "CLEAR") || iequals(name, "CLEARTEXT")) {
    return Classified{Method::plain, hash, Scheme::plain};
  }
  if (iequals(name, "SCRAM-SHA-256")) {
    return Classified{Method::scram_sha_256, hash, Scheme::scram_sha_256};
  }
  if (iequals(name, "SCRAM-SHA-1")) return Classified{Method::scram_sha_1, hash, Scheme::scram_sha_1};
  auto bare = classify_bare(hash);
  if (!bare) return std::nullopt;
  auto family = [&](std::string_view expected_prefix) -> std::optional<Classified> {
    if (!hash.starts_with(expected_prefix)) return std::nullopt;
    return bare;
  };
  if (iequals(name, "ARGON2ID")) return family("$argon2id$");
  if (iequals(name, "ARGON2I")) return family("$argon2i$");
  if (iequals(name, "BLF-CRYPT")) return family("$2");
  if (iequals(name, "SHA512-CRYPT")) return family("$6$");
  if (iequals(name, "SHA256-CRYPT")) return family("$5$");
  if (iequals(name, "MD5-CRYPT")) return family("$1$");
  if (iequals(name, "CRYPT") && bare->method == Method::crypt) return bare;
  return std::nullopt;
}

std::optional<Classified> classify(std::string_view stored) {
  if (!stored.starts_with('{')) return classify_bare(stored);
  const auto close = stored.find('}');
  if (close == std::string_view::npos) return std::nullopt;
  return classify_named(stored.substr(1, close - 1), stored.substr(close + 1));
}

bool verify_argon2(std::string_view hash, std::string_view password, argon2_type type) {
  const std::string encoded(hash);  // libargon2 wants a NUL-terminated string
  return ::argon2_verify(encoded.c_str(), password.data(), password.size(), type) == ARGON2_OK;
}

// crypt_data is ~32 KiB: too large for the small stacks of pool threads, so it lives on the heap
// and is wiped afterwards because it holds password-derived state.
struct CryptBuffer {
  std::unique_ptr<crypt_data> data = std::make_unique<crypt_data>();
  ~CryptBuffer() { ::sodium_memzero(data.get(), sizeof(crypt_data)); }
};

bool verify_crypt(std::string_view hash, std::string_view password) {
  std::string phrase(password);
  const std::string setting(hash);
  CryptBuffer buffer;
  const char* out = ::crypt_rn(phrase.c_str(), setting.c_str(), buffer.data.get(),
                               static_cast<int>(sizeof(crypt_data)));
  ::sodium_memzero(phrase.data(), phrase.size());
  // A malformed or truncated hash either fails here or yields a string of another length.
  if (out == nullptr || out[0] == '*' || std::strlen(out) != hash.size()) return false;
  return ::sodium_memcmp(out, hash.data(), hash.size()) == 0;
}

// Hashing both sides first makes the comparison independent of where they differ and of the
// stored password's length.
bool verify_plain(std::string_view stored, std::string_view password) {
  std::array<unsigned char, crypto_generichash_BYTES> a{};
  std::array<unsigned char, crypto_generichash_BYTES> b{};
  ::crypto_generichash(a.data(), a.size(), reinterpret_cast<const unsigned char*>(stored.data()),
                       stored.size(), nullptr, 0);
  ::crypto_generichash(b.data(), b.size(), reinterpret_cast<const unsigned char*>(password.data()),
                       password.size(), nullptr, 0);
  return ::sodium_memcmp(a.data(), b.data(), a.size()) == 0;
}

Result<std::string> hash_argon2id(std::string_view password) {
  std::array<unsigned char, kArgon2SaltLength> salt{};
  ::randombytes_buf(salt.data(), salt.size());
  std::vector<char> encoded(::argon2_encodedlen(kArgon2TimeCost, kArgon2MemoryKib, kArgon2Lanes,
                                                salt.size(), kArgon2HashLength, Argon2_id));
  const int rc = ::argon2id_hash_encoded(kArgon2TimeCost, kArgon2MemoryKib, kArgon2Lanes,
                                         password.data(), password.size(), salt.data(), salt.size(),
                                         kArgon2HashLength, encoded.data(), encoded.size());
  if (rc != ARGON2_OK) {
    return make_error(errc::temporary_failure,
                      std::string("argon2id hashing failed: ") + ::argon2_error_message(rc));
  }
  return std::string("{ARGON2ID}") + encoded.data();
}

Result<std::string> hash_crypt(std::string_view password, Scheme scheme) {
  const char* prefix = scheme == Scheme::blf_crypt      ? "$2y$"
                       : scheme == Scheme::sha512_crypt ? "$6$"
                                                        : "$5$";
  const unsigned long count = scheme == Scheme::blf_crypt ? kBcryptCost : kShaCryptRounds;
  std::array<char, CRYPT_GENSALT_OUTPUT_SIZE> setting{};
  // Null random bytes: libxcrypt draws the salt from the kernel itself.
  if (::crypt_gensalt_rn(prefix, count, nullptr, 0, setting.data(),
                         static_cast<int>(setting.size())) == nullptr) {
    return Error::from_errno(errno, "crypt_gensalt");
  }
  std::string phrase(password);
  CryptBuffer buffer;
  const char* out = ::crypt_rn(phrase.c_str(), setting.data(), buffer.data.get(),
                               static_cast<int>(sizeof(crypt_data)));
  ::sodium_memzero(phrase.data(), phrase.size());
  if (out == nullptr || out[0] == '*') return Error::from_errno(errno, "crypt");
  return "{" + std::string(scheme_name(scheme)) + "}" + out;
}

}  // namespace

std::optional<Scheme> parse_scheme(std::string_view name) {
  for (const auto& entry : kSchemeNames) {
    if (iequals(entry.name, name)) return entry.scheme;
  }
  return std::nullopt;
}

std::string_view scheme_name(Scheme scheme) {
  for (const auto& entry : kSchemeNames) {
    if (entry.scheme == scheme) return entry.name;
  }
  return "UNKNOWN";
}

Result<std::string> hash_password(std::string_view password, Scheme scheme) {
  // crypt(3) stops at a NUL, so such a password would be stored as a shorter one.
  if (password.find('\0') != std::string_view::npos) {
    return make_error(errc::invalid_input, "password contains a NUL byte");
  }
  if (!sodium_ready()) return make_error(errc::temporary_failure, "libsodium failed to start");
  switch (scheme) {
    case Scheme::argon2id:
      return hash_argon2id(password);
    case Scheme::blf_crypt:
    case Scheme::sha512_crypt:
    case Scheme::sha256_crypt:
      return hash_crypt(password, scheme);
    case Scheme::plain:
      return "{PLAIN}" + std::string(password);
    case Scheme::scram_sha_256:
    case Scheme::scram_sha_1: {
      const ScramHash hash = scheme == Scheme::scram_sha_256 ? ScramHash::sha256 : ScramHash::sha1;
      auto verifier = make_scram_verifier(password, hash);
      if (!verifier) return verifier.error();
      return "{" + std::string(scheme_name(scheme)) + "}" + *verifier;
    }
  }
  return make_error(errc::invalid_input, "unknown password scheme");
}

bool verify_password(std::string_view stored, std::string_view password) {
  if (password.find('\0') != std::string_view::npos || !sodium_ready()) return false;
  const auto classified = classify(stored);
  if (!classified) return false;
  switch (classified->method) {
    case Method::argon2id:
      return verify_argon2(classified->hash, password, Argon2_id);
    case Method::argon2i:
      return verify_argon2(classified->hash, password, Argon2_i);
    case Method::crypt:
      return verify_crypt(classified->hash, password);
    case Method::plain:
      return verify_plain(classified->hash, password);
    case Method::scram_sha_256:
      return verify_scram_verifier(classified->hash, password, ScramHash::sha256);
    case Method::scram_sha_1:
      return verify_scram_verifier(classified->hash, password, ScramHash::sha1);
  }
  return false;
}

std::optional<Scheme> stored_scheme(std::string_view stored) {
  const auto classified = classify(stored);
  if (!classified) return std::nullopt;
  return classified->scheme;
}

const std::string& dummy_hash() {
  static const std::string hash = [] {
    std::array<unsigned char, 32> secret{};
    std::array<char, secret.size() * 2 + 1> hex{};
    std::string result;
    if (sodium_ready()) {
      ::randombytes_buf(secret.data(), secret.size());
      ::sodium_bin2hex(hex.data(), hex.size(), secret.data(), secret.size());
      // The fallback only matters if 64 MiB cannot be had at first use: a real hash of another
      // scheme still costs time, and an empty result still never verifies.
      for (const Scheme scheme : {kDefaultScheme, Scheme::sha512_crypt}) {
        if (auto hashed = hash_password(hex.data(), scheme)) {
          result = std::move(hashed).value();
          break;
        }
      }
    }
    ::sodium_memzero(secret.data(), secret.size());
    ::sodium_memzero(hex.data(), hex.size());
    return result;
  }();
  return hash;
}

}  // namespace mailport::auth
