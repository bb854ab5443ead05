// A minimal SCRAM client (RFC 5802) for tests, computed with OpenSSL so that the server side
// (GNU SASL) is checked against an independent implementation.
#pragma once

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <string>
#include <string_view>

#include "sasl/base64.hpp"

namespace mailport::sasl::testing {

inline const EVP_MD* digest(bool sha256) {
  return sha256 ? EVP_sha256() : EVP_sha1();
}

inline std::string hmac(bool sha256, std::string_view key, std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  HMAC(digest(sha256), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), out, &length);
  return std::string(reinterpret_cast<char*>(out), length);
}

inline std::string hash(bool sha256, std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_Digest(data.data(), data.size(), out, &length, digest(sha256), nullptr);
  return std::string(reinterpret_cast<char*>(out), length);
}

inline std::string salted_password(bool sha256, std::string_view password, std::string_view salt,
                                   unsigned iterations) {
  std::string out(EVP_MD_size(digest(sha256)), '\0');
  PKCS5_PBKDF2_HMAC(password.data(), static_cast<int>(password.size()),
                    reinterpret_cast<const unsigned char*>(salt.data()),
                    static_cast<int>(salt.size()), static_cast<int>(iterations), digest(sha256),
                    static_cast<int>(out.size()), reinterpret_cast<unsigned char*>(out.data()));
  return out;
}

inline std::string xor_bytes(std::string a, std::string_view b) {
  for (std::size_t i = 0; i < a.size() && i < b.size(); ++i) a[i] ^= b[i];
  return a;
}

// Returns "attr" value from a "k=v,k=v" message.
inline std::string attribute(std::string_view message, char name) {
  std::size_t pos = 0;
  while (pos < message.size()) {
    const auto end = message.find(',', pos);
    const std::string_view field = message.substr(pos, end - pos);
    if (field.size() >= 2 && field[0] == name && field[1] == '=')
      return std::string(field.substr(2));
    if (end == std::string_view::npos) break;
    pos = end + 1;
  }
  return {};
}

struct ScramClient {
  ScramClient(bool sha256, std::string user, std::string password)
      : sha256(sha256), user(std::move(user)), password(std::move(password)) {}

  bool sha256 = true;
  std::string user;
  std::string password;
  std::string nonce = "rOprNGfwEbeRWgbNEkqO";
  std::string server_signature;  // expected v= value

  std::string client_first_bare() const { return "n=" + user + ",r=" + nonce; }
  std::string client_first() const { return "n,," + client_first_bare(); }

  std::string client_final(std::string_view server_first) {
    const std::string salt = *decode_base64(attribute(server_first, 's'));
    const unsigned iterations = std::stoul(attribute(server_first, 'i'));
    const std::string without_proof = "c=biws,r=" + attribute(server_first, 'r');
    const std::string auth_message =
        client_first_bare() + "," + std::string(server_first) + "," + without_proof;
    const std::string salted = salted_password(sha256, password, salt, iterations);
    const std::string client_key = hmac(sha256, salted, "Client Key");
    const std::string stored_key = hash(sha256, client_key);
    const std::string proof = xor_bytes(client_key, hmac(sha256, stored_key, auth_message));
    server_signature =
        encode_base64(hmac(sha256, hmac(sha256, salted, "Server Key"), auth_message));
    return without_proof + ",p=" + encode_base64(proof);
  }
};

}  // namespace mailport::sasl::testing
