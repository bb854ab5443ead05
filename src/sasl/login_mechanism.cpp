#include "sasl/login_mechanism.hpp"

#include "sasl/identity.hpp"

namespace mailport::sasl {

Step LoginMechanism::start(std::optional<std::string_view> initial_response) {
  if (initial_response) return accept_user(*initial_response);
  return Challenge{"Username:"};
}

Step LoginMechanism::step(std::string_view response) {
  switch (expect_) {
    case Expect::user:
      return accept_user(response);
    case Expect::password:
      expect_ = Expect::nothing;
      if (!valid_field(response)) return Failed{"Invalid LOGIN password."};
      return Done{Credentials{{}, std::move(user_), std::string(response)}};
    case Expect::nothing:
      break;
  }
  return Failed{"LOGIN exchange already finished."};
}

Step LoginMechanism::accept_user(std::string_view user) {
  if (!valid_field(user)) {
    expect_ = Expect::nothing;
    return Failed{"Invalid LOGIN user name."};
  }
  user_ = user;
  expect_ = Expect::password;
  return Challenge{"Password:"};
}

}  // namespace mailport::sasl
