// Server side of SASL mechanisms as small sans-I/O state machines. They see decoded client
// bytes and produce raw challenge bytes; base64 and the "+ "/"*" framing belong to the protocol
// that carries them (POP3 AUTH, RFC 5034).
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "core/scram_secrets.hpp"

namespace mailport::sasl {

// Who checks the password: the server against its database (PLAIN, LOGIN), or the mechanism
// itself, which proves it without ever seeing it (SCRAM).
enum class Verification { by_server, verified, rejected };

struct Credentials {
  std::string authzid;  // identity to act as; empty means the authentication identity itself
  std::string authcid;  // authentication identity
  std::string password;
  Verification verification = Verification::by_server;
};

struct Challenge {  // send these bytes to the client and wait for its next response
  std::string data;
};
struct Done {  // the exchange is complete; the credentials still have to be verified
  Credentials credentials;
};
struct Failed {  // the client's data was unacceptable; `reason` is safe to show the client
  std::string reason;
};
struct NeedSecrets {  // look up the stored secrets of `authcid`, then call provide_secrets()
  std::string authcid;
};
using Step = std::variant<Challenge, Done, Failed, NeedSecrets>;

// One exchange with one client. A mechanism that proves knowledge of the password without
// revealing it (SCRAM) fits the same shape: it is constructed with a way to look up the stored
// verifier and reports Done only once the proof checks out.
class Mechanism {
 public:
  virtual ~Mechanism() = default;
  virtual std::string_view name() const = 0;
  // `initial_response`: what the client sent with the command itself, if anything.
  virtual Step start(std::optional<std::string_view> initial_response) = 0;
  virtual Step step(std::string_view response) = 0;
  // Answers NeedSecrets. For an unknown user, pass made-up secrets: the exchange then fails at
  // the proof, exactly like a wrong password.
  virtual Step provide_secrets(const ScramSecrets& secrets);
};

struct MechanismInfo {
  std::string_view name;  // canonical (upper case) IANA name
  bool plaintext;         // the client sends the password itself: needs a secure channel
  std::unique_ptr<Mechanism> (*create)();
};

// Case-insensitive; nullptr for a mechanism this build does not implement.
const MechanismInfo* find_mechanism(std::string_view name);

}  // namespace mailport::sasl
