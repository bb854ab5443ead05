// LOGIN (draft-murchison-sasl-login): the user name and the password, each in its own response
// to the challenges "Username:" and "Password:". An initial response is taken as the user name.
#pragma once

#include <string>

#include "sasl/mechanism.hpp"

namespace mailport::sasl {

class LoginMechanism final : public Mechanism {
 public:
  std::string_view name() const override { return "LOGIN"; }
  Step start(std::optional<std::string_view> initial_response) override;
  Step step(std::string_view response) override;

 private:
  enum class Expect { user, password, nothing };
  Step accept_user(std::string_view user);

  Expect expect_ = Expect::user;
  std::string user_;
};

}  // namespace mailport::sasl
