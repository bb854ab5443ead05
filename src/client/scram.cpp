#include "client/scram.hpp"

#include <openssl/crypto.h>

namespace mailport::client {
namespace {

constexpr const char* kMechanism = "SCRAM-SHA-256";

Error gsasl_failure(int rc, std::string_view what) {
  const errc code = rc == GSASL_AUTHENTICATION_ERROR ? errc::auth_failed : errc::permanent_failure;
  return make_error(code, std::string(what) + ": " + gsasl_strerror(rc));
}

struct FreeString {
  void operator()(char* p) const { gsasl_free(p); }
};

}  // namespace

bool scram_available() {
  Gsasl* raw = nullptr;
  if (gsasl_init(&raw) != GSASL_OK) return false;
  const bool supported = gsasl_client_support_p(raw, kMechanism) == 1;
  gsasl_done(raw);
  return supported;
}

Result<ScramSession> ScramSession::start(std::string_view user, std::string_view password) {
  ScramSession scram;
  Gsasl* ctx = nullptr;
  if (const int rc = gsasl_init(&ctx); rc != GSASL_OK) return gsasl_failure(rc, "GNU SASL");
  scram.ctx_.reset(ctx);
  Gsasl_session* session = nullptr;
  if (const int rc = gsasl_client_start(ctx, kMechanism, &session); rc != GSASL_OK) {
    return gsasl_failure(rc, "SCRAM-SHA-256");
  }
  scram.session_.reset(session);
  const std::string user_text(user);
  std::string password_text(password);
  int rc = gsasl_property_set(session, GSASL_AUTHID, user_text.c_str());
  if (rc == GSASL_OK) rc = gsasl_property_set(session, GSASL_PASSWORD, password_text.c_str());
  OPENSSL_cleanse(password_text.data(), password_text.size());
  if (rc != GSASL_OK) return gsasl_failure(rc, "SCRAM-SHA-256");
  return scram;
}

Result<std::string> ScramSession::step(std::string_view challenge) {
  const std::string input(challenge);
  char* raw = nullptr;
  const int rc = gsasl_step64(session_.get(), input.c_str(), &raw);
  std::unique_ptr<char, FreeString> output(raw);
  if (rc != GSASL_OK && rc != GSASL_NEEDS_MORE) return gsasl_failure(rc, "SCRAM-SHA-256");
  complete_ = rc == GSASL_OK;
  return std::string(output ? output.get() : "");
}

}  // namespace mailport::client
