// PLAIN (RFC 4616): one message "[authzid] NUL authcid NUL passwd".
#pragma once

#include "sasl/mechanism.hpp"

namespace mailport::sasl {

class PlainMechanism final : public Mechanism {
 public:
  std::string_view name() const override { return "PLAIN"; }
  Step start(std::optional<std::string_view> initial_response) override;
  Step step(std::string_view response) override;

 private:
  bool finished_ = false;
};

}  // namespace mailport::sasl
