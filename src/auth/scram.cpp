#include "auth/scram.hpp"

#include <gsasl.h>
#include <sodium.h>
#include <strings.h>

#include <array>
#include <charconv>
#include <vector>

namespace mailport::auth {
namespace {

constexpr std::size_t kSaltLength = 16;

Gsasl_hash gsasl_hash_of(ScramHash hash) {
  return hash == ScramHash::sha256 ? GSASL_HASH_SHA256 : GSASL_HASH_SHA1;
}

std::string to_base64(std::string_view bytes) {
  std::vector<char> out(sodium_base64_encoded_len(bytes.size(), sodium_base64_VARIANT_ORIGINAL));
  sodium_bin2base64(out.data(), out.size(), reinterpret_cast<const unsigned char*>(bytes.data()),
                    bytes.size(), sodium_base64_VARIANT_ORIGINAL);
  return std::string(out.data());
}

std::optional<std::string> from_base64(std::string_view text) {
  std::string out(text.size(), '\0');
  std::size_t length = 0;
  const char* end = nullptr;
  if (sodium_base642bin(reinterpret_cast<unsigned char*>(out.data()), out.size(), text.data(),
                        text.size(), nullptr, &length, &end, sodium_base64_VARIANT_ORIGINAL) != 0 ||
      end != text.data() + text.size()) {
    return std::nullopt;
  }
  out.resize(length);
  return out;
}

std::optional<ScramSecrets> derive(std::string_view password, unsigned iterations, std::string salt,
                                   ScramHash hash) {
  const std::size_t size = gsasl_hash_length(gsasl_hash_of(hash));
  std::array<char, GSASL_HASH_MAX_SIZE> salted{}, client{}, server{}, stored{};
  const std::string nul_terminated(password);
  if (gsasl_scram_secrets_from_password(gsasl_hash_of(hash), nul_terminated.c_str(), iterations,
                                        salt.data(), salt.size(), salted.data(), client.data(),
                                        server.data(), stored.data()) != GSASL_OK) {
    return std::nullopt;
  }
  sodium_memzero(salted.data(), salted.size());
  sodium_memzero(client.data(), client.size());
  return ScramSecrets{iterations, std::move(salt), std::string(stored.data(), size),
                      std::string(server.data(), size)};
}

std::string random_bytes(std::size_t count) {
  std::string bytes(count, '\0');
  randombytes_buf(bytes.data(), bytes.size());
  return bytes;
}

// Salt for secrets derived on the fly: a keyed hash of the user name, so it does not change
// between two probes of the same name.
std::string stable_salt(std::string_view user) {
  static const std::string key = [] {
    if (sodium_init() < 0) return std::string(crypto_generichash_KEYBYTES, '\0');
    return random_bytes(crypto_generichash_KEYBYTES);
  }();
  std::array<unsigned char, kSaltLength> salt{};
  crypto_generichash(salt.data(), salt.size(), reinterpret_cast<const unsigned char*>(user.data()),
                     user.size(), reinterpret_cast<const unsigned char*>(key.data()), key.size());
  return std::string(reinterpret_cast<const char*>(salt.data()), salt.size());
}

std::optional<std::string_view> strip_prefix(std::string_view stored, std::string_view prefix) {
  if (stored.size() < prefix.size() ||
      ::strncasecmp(stored.data(), prefix.data(), prefix.size()) != 0) {
    return std::nullopt;
  }
  return stored.substr(prefix.size());
}

}  // namespace

std::optional<ScramSecrets> parse_scram_verifier(std::string_view verifier) {
  std::array<std::string_view, 4> fields;
  std::size_t start = 0;
  for (std::size_t i = 0; i < fields.size(); ++i) {
    const auto comma = verifier.find(',', start);
    if ((comma == std::string_view::npos) != (i == fields.size() - 1)) return std::nullopt;
    fields[i] = verifier.substr(
        start, comma == std::string_view::npos ? std::string_view::npos : comma - start);
    start = comma + 1;
  }
  unsigned iterations = 0;
  auto [end, error] =
      std::from_chars(fields[0].data(), fields[0].data() + fields[0].size(), iterations);
  if (error != std::errc() || end != fields[0].data() + fields[0].size() || iterations == 0) {
    return std::nullopt;
  }
  auto salt = from_base64(fields[1]);
  auto stored = from_base64(fields[2]);
  auto server = from_base64(fields[3]);
  if (!salt || salt->empty() || !stored || !server || stored->size() != server->size() ||
      (stored->size() != 20 && stored->size() != 32)) {
    return std::nullopt;
  }
  return ScramSecrets{iterations, std::move(*salt), std::move(*stored), std::move(*server)};
}

Result<std::string> make_scram_verifier(std::string_view password, ScramHash hash) {
  if (sodium_init() < 0) return make_error(errc::temporary_failure, "libsodium failed to start");
  auto secrets = derive(password, kScramIterations, random_bytes(kSaltLength), hash);
  if (!secrets) return make_error(errc::temporary_failure, "SCRAM key derivation failed");
  return std::to_string(secrets->iterations) + "," + to_base64(secrets->salt) + "," +
         to_base64(secrets->stored_key) + "," + to_base64(secrets->server_key);
}

bool verify_scram_verifier(std::string_view verifier, std::string_view password, ScramHash hash) {
  auto expected = parse_scram_verifier(verifier);
  if (!expected) return false;
  if (expected->stored_key.size() != gsasl_hash_length(gsasl_hash_of(hash))) return false;
  auto actual = derive(password, expected->iterations, expected->salt, hash);
  return actual && actual->stored_key.size() == expected->stored_key.size() &&
         sodium_memcmp(actual->stored_key.data(), expected->stored_key.data(),
                       actual->stored_key.size()) == 0;
}

std::optional<ScramSecrets> scram_secrets_for(std::string_view user, std::string_view stored,
                                              ScramHash hash) {
  const std::string_view own = hash == ScramHash::sha256 ? "{SCRAM-SHA-256}" : "{SCRAM-SHA-1}";
  if (auto verifier = strip_prefix(stored, own)) {
    auto secrets = parse_scram_verifier(*verifier);
    if (secrets && secrets->stored_key.size() == gsasl_hash_length(gsasl_hash_of(hash))) {
      return secrets;
    }
    return std::nullopt;
  }
  for (std::string_view plain : {"{PLAIN}", "{CLEAR}", "{CLEARTEXT}"}) {
    if (auto password = strip_prefix(stored, plain)) {
      return derive(*password, kScramIterations, stable_salt(user), hash);
    }
  }
  return std::nullopt;
}

ScramSecrets dummy_scram_secrets(std::string_view user, ScramHash hash) {
  const std::size_t size = gsasl_hash_length(gsasl_hash_of(hash));
  return ScramSecrets{kScramIterations, stable_salt(user), random_bytes(size), random_bytes(size)};
}

}  // namespace mailport::auth
