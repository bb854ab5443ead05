#include "sasl/plain_mechanism.hpp"

#include "sasl/identity.hpp"

namespace mailport::sasl {

namespace {

Step parse_message(std::string_view message) {
  const Failed malformed{"Malformed PLAIN response."};
  const auto first_nul = message.find('\0');
  if (first_nul == std::string_view::npos) return malformed;
  const auto second_nul = message.find('\0', first_nul + 1);
  if (second_nul == std::string_view::npos) return malformed;

  const auto authzid = message.substr(0, first_nul);
  const auto authcid = message.substr(first_nul + 1, second_nul - first_nul - 1);
  const auto password = message.substr(second_nul + 1);
  // valid_field also rejects a third NUL, which would land inside the password.
  if (!valid_field(authcid) || !valid_field(password)) return malformed;
  if (!authzid.empty() && !valid_field(authzid)) return malformed;
  return Done{Credentials{std::string(authzid), std::string(authcid), std::string(password)}};
}

}  // namespace

Step PlainMechanism::start(std::optional<std::string_view> initial_response) {
  if (!initial_response) return Challenge{};  // RFC 4616 §2: the server sends an empty challenge
  return step(*initial_response);
}

Step PlainMechanism::step(std::string_view response) {
  if (finished_) return Failed{"PLAIN exchange already finished."};
  finished_ = true;
  return parse_message(response);
}

}  // namespace mailport::sasl
