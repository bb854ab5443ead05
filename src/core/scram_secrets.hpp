// What a server needs to verify a SCRAM exchange (RFC 5802) without knowing the password.
#pragma once

#include <string>

namespace mailport {

struct ScramSecrets {
  unsigned iterations = 4096;
  std::string salt;        // raw bytes
  std::string stored_key;  // raw bytes: H(HMAC(SaltedPassword, "Client Key"))
  std::string server_key;  // raw bytes: HMAC(SaltedPassword, "Server Key")
};

enum class ScramHash { sha1, sha256 };

}  // namespace mailport
