// SCRAM-SHA-1 and SCRAM-SHA-256 (RFC 5802, RFC 7677), server side, on GNU SASL. The exchange
// pauses after the client-first message: the mechanism asks for the user's stored secrets
// (NeedSecrets) and resumes with provide_secrets(), so the lookup can run wherever the transport
// likes. Channel binding (-PLUS) is not offered.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "core/scram_secrets.hpp"
#include "sasl/mechanism.hpp"

namespace mailport::sasl {

class ScramMechanism final : public Mechanism {
 public:
  explicit ScramMechanism(ScramHash hash);
  ~ScramMechanism() override;

  std::string_view name() const override;
  Step start(std::optional<std::string_view> initial_response) override;
  Step step(std::string_view response) override;
  Step provide_secrets(const ScramSecrets& secrets) override;

 private:
  enum class Phase { client_first, secrets, client_final, final_ack, done };
  Step on_client_first(std::string_view message);
  Step fail(std::string reason);

  struct GsaslSession;
  ScramHash hash_;
  Phase phase_ = Phase::client_first;
  std::string client_first_;
  std::string authcid_;
  std::string authzid_;
  std::unique_ptr<GsaslSession> gsasl_;
};

// The authentication identity of a client-first-message ("n,,n=user,r=..."), with RFC 5802's
// "=2C"/"=3D" escapes undone; nullopt if the message is malformed.
struct ClientFirst {
  std::string authzid;
  std::string authcid;
};
std::optional<ClientFirst> parse_client_first(std::string_view message);

}  // namespace mailport::sasl
