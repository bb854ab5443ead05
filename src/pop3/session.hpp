// Sans-I/O POP3 session (RFC 1939, 2449, 2595, 3206, 5034, 6856).
//
// The session is a pure state machine: the transport feeds it the bytes it reads, then calls
// poll() until NeedInput, writing out whatever the session appended to output() before acting on
// each event. It never touches sockets, files or clocks; everything external (checking a password,
// opening the maildrop, streaming a message, applying deletions, the TLS handshake) is requested
// as an Event and answered through the matching complete_*() call.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "core/message_info.hpp"

namespace mailport::pop3 {

enum class State { authorization, transaction, update, closed };

struct Limits {
  std::size_t max_command_line = 255;  // octets including CRLF (RFC 2449 §4)
  unsigned max_bad_commands = 10;      // then the session closes
  unsigned max_auth_attempts = 3;      // failed logins on one connection, then close
  std::size_t max_sasl_line = 8192;    // one AUTH continuation line (base64)
  std::size_t flush_threshold = 64 * 1024;  // poll() returns Flush when output() grows past this
};

// Fixed for the connection's lifetime, except tls_active which complete_stls() sets.
struct Options {
  bool tls_active = false;            // implicit TLS (995) or after a successful STLS
  bool stls_offered = false;          // this listener can upgrade (port 110 with a certificate)
  bool plaintext_auth_allowed = true; // policy verdict for this peer while !tls_active
  bool apop_enabled = false;
  std::string apop_timestamp;         // "<...>" msg-id for the greeting when apop_enabled
  std::optional<std::string> implementation;  // CAPA IMPLEMENTATION, only if configured
  std::optional<std::chrono::seconds> login_delay;  // CAPA LOGIN-DELAY (enforced by the auth side)
  std::optional<std::string> expire;                // CAPA EXPIRE value: "NEVER" or days
  std::vector<std::string> sasl_mechanisms = {"PLAIN", "LOGIN"};  // usable once TLS or allowed
  std::string greeting = "mailport ready.";
  Limits limits;
};

enum class Mechanism { user_pass, apop, sasl };

struct LoginRequest {
  Mechanism mechanism = Mechanism::user_pass;
  std::string sasl_mechanism;  // "PLAIN", "LOGIN"... when mechanism == sasl
  std::string authzid;         // SASL authorization identity, empty if none
  std::string user;            // authentication identity
  std::string secret;          // password, or the APOP digest (hex)
  std::string apop_timestamp;  // the greeting's timestamp, for APOP
};

enum class LoginStatus {
  ok,
  bad_credentials,  // -ERR [AUTH]
  in_use,           // -ERR [IN-USE]
  login_delay,      // -ERR [LOGIN-DELAY]
  temporary_failure,  // -ERR [SYS/TEMP]
  permanent_failure,  // -ERR [SYS/PERM]
};

struct LoginOutcome {
  LoginStatus status = LoginStatus::bad_credentials;
  std::vector<MessageInfo> messages;  // the maildrop snapshot, in message-number order
};

// --- Events returned by poll() ---
struct NeedInput {};  // everything buffered is handled; read more bytes
struct Flush {};      // output() is large: write it, then poll() again
struct Login {        // verify credentials and open+lock the maildrop, then complete_login()
  LoginRequest request;
};
struct StartTls {};   // output() ends with "+OK ...": write it, handshake, then complete_stls()
struct Retrieve {     // RETR or TOP: open message `index` (0-based into the snapshot)
  std::size_t index = 0;
  std::optional<std::uint64_t> top_lines;  // TOP n m: body lines after the header
  std::string ok_line;  // "+OK ...\r\n": write it, then BodyEncoder output, then complete_retrieve()
};
struct Update {       // QUIT in TRANSACTION: expunge these (0-based), then complete_update()
  std::vector<std::size_t> deleted;
};
struct Close {};      // write output() and close the connection; no more events follow

using Event = std::variant<NeedInput, Flush, Login, StartTls, Retrieve, Update, Close>;

enum class RetrieveStatus { ok, vanished, temporary_failure };

class Session {
 public:
  explicit Session(Options options);

  // Appends the greeting to output(). Call once, first.
  void start();

  // Bytes read from the peer. Input is buffered (bounded) until poll() consumes it.
  void receive(std::string_view bytes);

  // Handles buffered commands until one needs the outside world or input runs out.
  // While a request (Login, StartTls, Retrieve, Update) is outstanding, poll() returns NeedInput
  // without touching the input, so pipelined commands wait their turn.
  Event poll();

  // Responses waiting to be written. The transport writes them and then clears the buffer.
  std::string& output() { return output_; }

  void complete_login(LoginOutcome outcome);
  // ok=false: the handshake failed; the transport closes the connection anyway.
  void complete_stls(bool ok);
  // ok: the transport wrote ok_line, the encoded message and the terminator. Otherwise the
  // session answers -ERR (nothing was written for this command yet).
  void complete_retrieve(RetrieveStatus status);
  // ok=false: deletions could not be applied; the client gets -ERR [SYS/TEMP], nothing removed.
  void complete_update(bool ok);

  State state() const { return state_; }
  bool tls_active() const { return options_.tls_active; }
  const std::string& user() const { return user_; }  // set once logged in
  // Counters for the logout log line.
  std::uint64_t retrieved_messages() const { return retrieved_messages_; }
  std::uint64_t retrieved_octets() const { return retrieved_octets_; }
  std::size_t deleted_messages() const { return deleted_count_; }

 private:
  // The implementation (session.cpp) owns the rest of the private state.
  Options options_;
  State state_ = State::authorization;
  std::string input_;
  std::string output_;
  std::string user_;
  std::uint64_t retrieved_messages_ = 0;
  std::uint64_t retrieved_octets_ = 0;
  std::size_t deleted_count_ = 0;
};

}  // namespace mailport::pop3
