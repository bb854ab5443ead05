// The client side of SCRAM-SHA-256 (RFC 5802, 7677) through GNU SASL.
#pragma once

#include <gsasl.h>

#include <memory>
#include <string>
#include <string_view>

#include "core/result.hpp"

namespace mailport::client {

// Whether the installed GNU SASL can act as a SCRAM-SHA-256 client.
bool scram_available();

class ScramSession {
 public:
  static Result<ScramSession> start(std::string_view user, std::string_view password);

  // Takes the server's challenge (base64, "" for the empty first one) and returns the client's
  // response in base64. Fails when the server's proof does not verify.
  Result<std::string> step(std::string_view challenge);
  // True once the server's final message has been verified.
  bool complete() const { return complete_; }

 private:
  struct ContextFree {
    void operator()(Gsasl* ctx) const { gsasl_done(ctx); }
  };
  struct SessionFree {
    void operator()(Gsasl_session* session) const { gsasl_finish(session); }
  };
  std::unique_ptr<Gsasl, ContextFree> ctx_;  // one per session: handles are not shared
  std::unique_ptr<Gsasl_session, SessionFree> session_;
  bool complete_ = false;
};

}  // namespace mailport::client
