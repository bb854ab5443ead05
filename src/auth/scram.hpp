// SCRAM verifiers in the "{SCRAM-SHA-256}iterations,salt,StoredKey,ServerKey" notation (base64
// fields), as other servers' users files store them, so clients can log in with SCRAM without the
// server knowing their password.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "core/result.hpp"
#include "core/scram_secrets.hpp"

namespace mailport::auth {

inline constexpr unsigned kScramIterations = 4096;  // RFC 7677's minimum recommendation

// Derives the verifier of `password` with a fresh random salt: "iter,salt,stored,server".
Result<std::string> make_scram_verifier(std::string_view password, ScramHash hash);
// The verifier part (after "{SCRAM-...}") checked against a plaintext password.
bool verify_scram_verifier(std::string_view verifier, std::string_view password, ScramHash hash);
std::optional<ScramSecrets> parse_scram_verifier(std::string_view verifier);

// Secrets for a SCRAM exchange with a user whose stored value is `stored`: from a verifier of the
// same hash function, or derived from a {PLAIN} password. nullopt when the stored scheme cannot
// serve SCRAM (a one-way hash such as ARGON2ID).
std::optional<ScramSecrets> scram_secrets_for(std::string_view user, std::string_view stored,
                                              ScramHash hash);
// Made-up secrets for an unknown user, stable per name within this process, so that probing a
// name twice does not reveal whether it exists.
ScramSecrets dummy_scram_secrets(std::string_view user, ScramHash hash);

}  // namespace mailport::auth
