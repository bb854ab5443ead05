#include "sasl/scram_mechanism.hpp"

#include <gsasl.h>

#include <mutex>
#include <utility>

#include "sasl/base64.hpp"

namespace mailport::sasl {
namespace {

// One library context for the process; sessions made from it are independent.
Gsasl* gsasl_context() {
  static Gsasl* context = [] {
    Gsasl* made = nullptr;
    return gsasl_init(&made) == GSASL_OK ? made : nullptr;
  }();
  return context;
}

// RFC 5802 §5.1 saslname: "=2C" is ',' and "=3D" is '='; any other '=' is an error.
std::optional<std::string> unescape_saslname(std::string_view text) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == ',') return std::nullopt;
    if (text[i] != '=') {
      out += text[i];
      continue;
    }
    const std::string_view code = text.substr(i + 1, 2);
    if (code == "2C") {
      out += ',';
    } else if (code == "3D") {
      out += '=';
    } else {
      return std::nullopt;
    }
    i += 2;
  }
  return out;
}

}  // namespace

struct ScramMechanism::GsaslSession {
  Gsasl_session* session = nullptr;
  ~GsaslSession() {
    if (session) gsasl_finish(session);
  }
};

std::optional<ClientFirst> parse_client_first(std::string_view message) {
  // gs2-header: ("n" | "y" | "p=" cb-name) "," [ "a=" saslname ] ","
  const auto first_comma = message.find(',');
  if (first_comma == std::string_view::npos) return std::nullopt;
  const std::string_view flag = message.substr(0, first_comma);
  if (flag != "n" && flag != "y" && !flag.starts_with("p=")) return std::nullopt;
  const auto second_comma = message.find(',', first_comma + 1);
  if (second_comma == std::string_view::npos) return std::nullopt;
  ClientFirst parsed;
  const std::string_view authzid = message.substr(first_comma + 1, second_comma - first_comma - 1);
  if (!authzid.empty()) {
    if (!authzid.starts_with("a=")) return std::nullopt;
    auto name = unescape_saslname(authzid.substr(2));
    if (!name) return std::nullopt;
    parsed.authzid = std::move(*name);
  }
  const std::string_view bare = message.substr(second_comma + 1);
  if (!bare.starts_with("n=")) return std::nullopt;
  const auto end = bare.find(',');
  if (end == std::string_view::npos) return std::nullopt;
  auto name = unescape_saslname(bare.substr(2, end - 2));
  if (!name || name->empty()) return std::nullopt;
  parsed.authcid = std::move(*name);
  return parsed;
}

ScramMechanism::ScramMechanism(ScramHash hash) : hash_(hash) {}
ScramMechanism::~ScramMechanism() = default;

std::string_view ScramMechanism::name() const {
  return hash_ == ScramHash::sha256 ? "SCRAM-SHA-256" : "SCRAM-SHA-1";
}

Step ScramMechanism::fail(std::string reason) {
  phase_ = Phase::done;
  return Failed{std::move(reason)};
}

Step ScramMechanism::start(std::optional<std::string_view> initial_response) {
  if (!initial_response || initial_response->empty()) return Challenge{};
  return on_client_first(*initial_response);
}

Step ScramMechanism::on_client_first(std::string_view message) {
  auto parsed = parse_client_first(message);
  if (!parsed) return fail("Malformed SCRAM client-first message.");
  if (message.starts_with("p=")) return fail("Channel binding is not supported.");
  client_first_ = std::string(message);
  authcid_ = parsed->authcid;
  authzid_ = parsed->authzid;
  phase_ = Phase::secrets;
  return NeedSecrets{parsed->authcid};
}

Step ScramMechanism::provide_secrets(const ScramSecrets& secrets) {
  if (phase_ != Phase::secrets) return fail("Unexpected SCRAM state.");
  Gsasl* context = gsasl_context();
  gsasl_ = std::make_unique<GsaslSession>();
  if (!context ||
      gsasl_server_start(context, std::string(name()).c_str(), &gsasl_->session) != GSASL_OK) {
    return fail("SCRAM is not available.");
  }
  Gsasl_session* session = gsasl_->session;
  gsasl_property_set(session, GSASL_SCRAM_ITER, std::to_string(secrets.iterations).c_str());
  gsasl_property_set(session, GSASL_SCRAM_SALT, encode_base64(secrets.salt).c_str());
  // This GNU SASL takes the keys base64-encoded (its header says hex; the unit tests pin it).
  gsasl_property_set(session, GSASL_SCRAM_STOREDKEY, encode_base64(secrets.stored_key).c_str());
  gsasl_property_set(session, GSASL_SCRAM_SERVERKEY, encode_base64(secrets.server_key).c_str());
  char* output = nullptr;
  std::size_t length = 0;
  const int rc = gsasl_step(session, client_first_.data(), client_first_.size(), &output, &length);
  std::string server_first(output ? output : "", output ? length : 0);
  gsasl_free(output);
  if (rc != GSASL_NEEDS_MORE) return fail("Malformed SCRAM client-first message.");
  phase_ = Phase::client_final;
  return Challenge{std::move(server_first)};
}

Step ScramMechanism::step(std::string_view response) {
  switch (phase_) {
    case Phase::client_first:
      return on_client_first(response);
    case Phase::client_final: {
      char* output = nullptr;
      std::size_t length = 0;
      const int rc =
          gsasl_step(gsasl_->session, response.data(), response.size(), &output, &length);
      std::string server_final(output ? output : "", output ? length : 0);
      gsasl_free(output);
      if (rc == GSASL_OK) {
        // RFC 5034 has no success-with-data: the server-final message goes out as a
        // challenge and the client answers it with an empty response.
        phase_ = Phase::final_ack;
        return Challenge{std::move(server_final)};
      }
      phase_ = Phase::done;
      // A wrong proof is a failed login like a wrong password, penalties included.
      return Done{Credentials{authzid_, authcid_, {}, Verification::rejected}};
    }
    case Phase::final_ack:
      phase_ = Phase::done;
      if (!response.empty()) return Failed{"Unexpected data after SCRAM server-final message."};
      return Done{Credentials{authzid_, authcid_, {}, Verification::verified}};
    case Phase::secrets:
    case Phase::done:
      break;
  }
  return fail("Unexpected SCRAM state.");
}

Step Mechanism::provide_secrets(const ScramSecrets&) {
  return Failed{"This mechanism does not use stored secrets."};
}

}  // namespace mailport::sasl
