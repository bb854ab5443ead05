// Password hashing and verification in Dovecot's "{SCHEME}hash" notation.
// Verification is blocking (Argon2 takes ~100 ms): call it from the blocking pool, never from an
// I/O thread.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "core/result.hpp"

namespace mailport::auth {

// SCRAM-SHA-256/SCRAM-SHA-1 store SCRAM verifiers: slower to guess than a salted hash is not
// their point; they let clients log in with SCRAM without sending the password.
enum class Scheme {
  argon2id,
  blf_crypt,
  sha512_crypt,
  sha256_crypt,
  plain,
  scram_sha_256,
  scram_sha_1
};

inline constexpr Scheme kDefaultScheme = Scheme::argon2id;

// Accepts Dovecot's names case-insensitively: ARGON2ID, BLF-CRYPT, SHA512-CRYPT, SHA256-CRYPT,
// SCRAM-SHA-256, SCRAM-SHA-1, PLAIN (also CLEAR / CLEARTEXT as aliases of PLAIN).
std::optional<Scheme> parse_scheme(std::string_view name);
std::string_view scheme_name(Scheme scheme);

// Returns "{SCHEME}..." with a fresh random salt.
Result<std::string> hash_password(std::string_view password, Scheme scheme = kDefaultScheme);

// Constant-time where the scheme allows. A stored value without "{SCHEME}" prefix is treated as
// crypt(3) format (e.g. "$6$..."), as Dovecot's default CRYPT scheme does. Unknown schemes and
// malformed hashes verify as false.
bool verify_password(std::string_view stored, std::string_view password);

// The scheme a stored hash uses, if recognised.
std::optional<Scheme> stored_scheme(std::string_view stored);

// A valid hash of the default scheme for a password nobody knows, so that a login for an unknown
// user costs the same time as one with a wrong password.
const std::string& dummy_hash();

}  // namespace mailport::auth
