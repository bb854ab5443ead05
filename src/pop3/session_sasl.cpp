// AUTH (RFC 5034): the mechanisms themselves live in src/sasl; this is the POP3 framing around
// them: "+ " challenges, "*" to cancel, "=" for an empty initial response, base64 everywhere.
#include <algorithm>
#include <utility>

#include "pop3/ascii.hpp"
#include "pop3/response.hpp"
#include "pop3/session.hpp"
#include "sasl/base64.hpp"

namespace mailport::pop3 {

Session::Reply Session::cmd_auth(Args args) {
  if (args.empty()) {
    append_ok(output_, "Supported mechanisms follow.");
    for (const auto name : usable_mechanisms()) append_listing_line(output_, name);
    append_end_of_listing(output_);
    return std::nullopt;
  }
  const auto* info = sasl::find_mechanism(args[0]);
  const bool configured =
      info != nullptr && std::ranges::any_of(options_.sasl_mechanisms, [info](const auto& name) {
        return ascii_iequals(name, info->name);
      });
  if (!configured) return reject("Unsupported authentication mechanism.");
  if (info->plaintext && !plaintext_usable()) return reject(plaintext_refusal());
  return start_sasl(*info, args.subspan(1));
}

Session::Reply Session::start_sasl(const sasl::MechanismInfo& info, Args args) {
  std::optional<std::string> initial_response;
  if (!args.empty()) {
    if (args[0] == "=") {
      initial_response.emplace();
    } else {
      auto decoded = sasl::decode_base64(args[0]);
      if (!decoded) return reject("Invalid base64 in initial response.");
      initial_response = std::move(*decoded);
    }
  }
  auto mechanism = info.create();
  auto step = mechanism->start(initial_response ? std::optional<std::string_view>(*initial_response)
                                                : std::nullopt);
  return continue_sasl(std::move(mechanism), std::move(step));
}

Session::Reply Session::on_sasl_response(const LineReader::Line& line) {
  auto mechanism = std::move(sasl_);  // the exchange ends here unless the mechanism continues
  switch (line.problem) {
    case LineReader::Problem::too_long:
      return reject("SASL response too long; authentication aborted.");
    case LineReader::Problem::control_byte:
      return reject("Invalid SASL response; authentication aborted.");
    case LineReader::Problem::none:
      break;
  }
  if (line.text == "*") {
    append_err(output_, "Authentication cancelled.");
    return std::nullopt;
  }
  auto decoded = sasl::decode_base64(line.text);
  if (!decoded) return reject("Invalid base64 in SASL response; authentication aborted.");
  auto step = mechanism->step(*decoded);
  return continue_sasl(std::move(mechanism), std::move(step));
}

Session::Reply Session::continue_sasl(std::unique_ptr<sasl::Mechanism> mechanism, sasl::Step step) {
  if (const auto* challenge = std::get_if<sasl::Challenge>(&step)) {
    append_challenge(output_, sasl::encode_base64(challenge->data));
    sasl_ = std::move(mechanism);
    return std::nullopt;
  }
  if (const auto* need = std::get_if<sasl::NeedSecrets>(&step)) {
    const bool sha1 = mechanism->name() == "SCRAM-SHA-1";
    LookupSecrets lookup{need->authcid, sha1 ? ScramHash::sha1 : ScramHash::sha256};
    sasl_ = std::move(mechanism);
    return start_request(Awaiting::secrets, std::move(lookup));
  }
  if (const auto* failed = std::get_if<sasl::Failed>(&step)) {
    fail_login(failed->reason);
    return state_ == State::closed ? close() : std::nullopt;
  }
  auto& credentials = std::get<sasl::Done>(step).credentials;
  std::string identity = credentials.authzid.empty() ? credentials.authcid : credentials.authzid;
  LoginRequest request;
  request.mechanism = Mechanism::sasl;
  request.sasl_mechanism = mechanism->name();
  request.authzid = std::move(credentials.authzid);
  request.user = std::move(credentials.authcid);
  request.secret = std::move(credentials.password);
  request.verification = credentials.verification;
  return request_login(std::move(request), std::move(identity));
}

}  // namespace mailport::pop3
