// Test harness: drives a Session the way the transport does (write output before acting on each
// event) and answers its requests from an in-memory maildrop and password table.
#pragma once

#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "pop3/session.hpp"

namespace mailport::pop3::testing {

struct FakeMessage {
  std::string uidl;
  std::string content;  // as stored: LF or CRLF line ends
};

struct FakeBackend {
  std::map<std::string, std::string, std::less<>> passwords;     // user -> password
  std::map<std::string, std::string, std::less<>> apop_digests;  // user -> expected digest
  std::vector<FakeMessage> messages;
  std::map<std::string, ScramSecrets, std::less<>> scram;  // user -> SCRAM secrets
  std::optional<LoginStatus> forced_login_status;          // overrides the password check
  RetrieveStatus retrieve_status = RetrieveStatus::ok;
  bool stls_ok = true;
  bool update_ok = true;

  LoginOutcome login(const LoginRequest& request) const;
  std::vector<MessageInfo> snapshot() const;
};

// alice / "open sesame", two messages (26 and 29 octets on the wire, 55 in all).
FakeBackend default_backend();
Options default_options();

class Driver {
 public:
  explicit Driver(Options options = default_options(), FakeBackend backend = default_backend());

  // The greeting.
  std::string start();
  // Feeds `bytes` in pieces of `chunk` octets, running the session after each; returns the
  // output produced (including RETR/TOP bodies written on the session's behalf).
  std::string send(std::string_view bytes, std::size_t chunk = std::string_view::npos);
  // USER/PASS as alice; returns the output.
  std::string login();

  Session& session() { return session_; }
  FakeBackend& backend() { return backend_; }
  bool closed() const { return closed_; }
  const std::vector<LoginRequest>& logins() const { return logins_; }
  const std::vector<std::vector<std::size_t>>& updates() const { return updates_; }
  std::size_t flushes() const { return flushes_; }
  std::size_t stls_requests() const { return stls_requests_; }
  const std::vector<std::string>& lookups() const { return lookups_; }

 private:
  void run(std::string& out);
  void write_message(const Retrieve& request, std::string& out);

  FakeBackend backend_;
  Session session_;
  bool closed_ = false;
  std::vector<LoginRequest> logins_;
  std::vector<std::vector<std::size_t>> updates_;
  std::size_t flushes_ = 0;
  std::size_t stls_requests_ = 0;
  std::vector<std::string> lookups_;
};

}  // namespace mailport::pop3::testing
