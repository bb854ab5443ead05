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
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "core/message_info.hpp"
#include "pop3/body_encoder.hpp"
#include "pop3/line_reader.hpp"
#include "pop3/maildrop.hpp"
#include "sasl/mechanism.hpp"

namespace mailport::pop3 {

enum class State { authorization, transaction, update, closed };

struct Limits {
  std::size_t max_command_line = 255;       // octets including CRLF (RFC 2449 §4)
  unsigned max_bad_commands = 10;           // then the session closes
  unsigned max_auth_attempts = 3;           // failed logins on one connection, then close
  std::size_t max_sasl_line = 8192;         // one AUTH continuation line (base64)
  std::size_t flush_threshold = 64 * 1024;  // poll() returns Flush when output() grows past this
};

// Fixed for the connection's lifetime, except tls_active which complete_stls() sets.
struct Options {
  bool tls_active = false;             // implicit TLS (995) or after a successful STLS
  bool stls_offered = false;           // this listener can upgrade (port 110 with a certificate)
  bool plaintext_auth_allowed = true;  // policy verdict for this peer while !tls_active
  bool apop_enabled = false;
  std::string apop_timestamp;                 // "<...>" msg-id for the greeting when apop_enabled
  std::optional<std::string> implementation;  // CAPA IMPLEMENTATION, only if configured
  std::optional<std::chrono::seconds> login_delay;  // CAPA LOGIN-DELAY (enforced by the auth side)
  std::optional<std::string> expire;                // CAPA EXPIRE value: "NEVER" or days
  std::vector<std::string> sasl_mechanisms = {"PLAIN", "LOGIN"};  // usable once TLS or allowed
  std::string greeting = "mailport ready.";
  std::string plaintext_refusal_hint;  // appended to the refusal of plaintext logins; may be empty
  ClientWorkarounds client_workarounds;  // passed on in every Retrieve, for the BodyEncoder
  Limits limits;
};

enum class Mechanism { user_pass, apop, sasl };

struct LoginRequest {
  Mechanism mechanism = Mechanism::user_pass;
  std::string sasl_mechanism;  // "PLAIN", "LOGIN"... when mechanism == sasl
  std::string authzid;         // SASL authorization identity, empty if none
  std::string user;            // authentication identity
  std::string secret;          // password, or the APOP digest (hex); empty for SCRAM
  // by_server: check `secret`. verified/rejected: the SASL mechanism (SCRAM) already proved or
  // disproved the password; the login path still applies bans and failure delays.
  sasl::Verification verification = sasl::Verification::by_server;
  std::string apop_timestamp;  // the greeting's timestamp, for APOP
};

enum class LoginStatus {
  ok,
  bad_credentials,    // -ERR [AUTH]
  in_use,             // -ERR [IN-USE]
  login_delay,        // -ERR [LOGIN-DELAY]
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
struct StartTls {};  // output() ends with "+OK ...": write it, handshake, then complete_stls()
struct Retrieve {    // RETR or TOP: open message `index` (0-based into the snapshot)
  std::size_t index = 0;
  std::optional<std::uint64_t> top_lines;  // TOP n m: body lines after the header
  std::string
      ok_line;  // "+OK ...\r\n": write it, then BodyEncoder output, then complete_retrieve()
  ClientWorkarounds workarounds;  // Options::client_workarounds: BodyEncoder(top_lines, this)
};
struct LookupSecrets {  // SCRAM: fetch the user's stored secrets, then complete_secrets()
  std::string user;
  ScramHash hash = ScramHash::sha256;
};
struct Update {  // QUIT in TRANSACTION: expunge these (0-based), then complete_update()
  std::vector<std::size_t> deleted;
  // RETR'd in this session and not deleted, for the EXPIRE retention policy (RFC 2449 §6.7).
  std::vector<std::size_t> retrieved;
};
struct Close {};  // write output() and close the connection; no more events follow

using Event =
    std::variant<NeedInput, Flush, Login, StartTls, Retrieve, Update, Close, LookupSecrets>;

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
  // Answers LookupSecrets. For an unknown user pass made-up secrets (see sasl::Mechanism).
  void complete_secrets(const ScramSecrets& secrets);
  // ok=false: the handshake failed; the transport closes the connection anyway.
  void complete_stls(bool ok);
  // ok: the transport wrote ok_line, the encoded message and the terminator. Otherwise the
  // session answers -ERR (nothing was written for this command yet).
  void complete_retrieve(RetrieveStatus status);
  // ok=false: deletions could not be applied; the client gets -ERR [SYS/TEMP], nothing removed.
  void complete_update(bool ok);

  State state() const { return state_; }
  bool tls_active() const { return options_.tls_active; }
  // Set once logged in: the SASL authorization identity if one was given, else the login name.
  const std::string& user() const { return user_; }
  // Counters for the logout log line. Only RETR counts as a retrieval, TOP does not.
  std::uint64_t retrieved_messages() const { return retrieved_messages_; }
  std::uint64_t retrieved_octets() const { return retrieved_octets_; }
  std::size_t deleted_messages() const { return deleted_count_; }
  // Input octets held for lines not yet handled (bounded by the line limits).
  std::size_t buffered_input() const { return reader_.buffered(); }

 private:
  enum class Awaiting { nothing, login, stls, retrieve, update, secrets };
  // What handling one line asks of poll(): nothing (go on with the next line) or an event.
  using Reply = std::optional<Event>;
  using Args = std::span<const std::string_view>;
  struct Command;  // an entry of the command table (session_commands.cpp)
  static const Command* find_command(std::string_view name);

  // session.cpp: line dispatch, policy, requests and their completion.
  Reply handle(const LineReader::Line& line);
  Reply reject(std::string_view text);  // a bad command: -ERR, and close past the limit
  Reply close();
  Reply start_request(Awaiting what, Event event);
  Reply request_login(LoginRequest request, std::string identity);
  void fail_login(std::string_view text);
  bool plaintext_usable() const;
  std::string plaintext_refusal() const;
  std::vector<std::string_view> usable_mechanisms() const;
  std::size_t line_limit() const;

  // session_sasl.cpp: the AUTH command and its exchange (RFC 5034).
  Reply cmd_auth(Args args);
  Reply start_sasl(const sasl::MechanismInfo& info, Args args);
  Reply on_sasl_response(const LineReader::Line& line);
  Reply continue_sasl(std::unique_ptr<sasl::Mechanism> mechanism, sasl::Step step);

  // session_commands.cpp: the command table, and one handler per command (state and arity are
  // checked before a handler runs).
  Reply execute(std::string_view line);
  Reply cmd_user(Args args);
  Reply cmd_pass(Args args);
  Reply cmd_apop(Args args);
  Reply cmd_stls(Args args);
  Reply cmd_capa(Args args);
  Reply cmd_quit(Args args);
  Reply cmd_utf8(Args args);
  Reply cmd_lang(Args args);
  Reply cmd_stat(Args args);
  Reply cmd_list(Args args);
  Reply cmd_retr(Args args);
  Reply cmd_dele(Args args);
  Reply cmd_noop(Args args);
  Reply cmd_rset(Args args);
  Reply cmd_top(Args args);
  Reply cmd_uidl(Args args);
  Reply retrieve(std::string_view number, std::optional<std::uint64_t> top_lines);

  Options options_;
  State state_ = State::authorization;
  LineReader reader_;
  std::string output_;
  Awaiting awaiting_ = Awaiting::nothing;
  std::optional<std::string> pending_user_;  // USER given, PASS expected
  std::string login_identity_;               // becomes user_ if the pending login succeeds
  std::unique_ptr<sasl::Mechanism> sasl_;    // an AUTH exchange waiting for a client response
  std::optional<Event> pending_event_;       // produced by a complete_*() call; poll() returns it
  Maildrop maildrop_;
  std::optional<std::size_t> retr_index_;       // the RETR in progress (TOP leaves it empty)
  std::vector<std::size_t> retrieved_indices_;  // every successful RETR, in order
  unsigned bad_commands_ = 0;
  unsigned failed_logins_ = 0;
  std::string user_;
  std::uint64_t retrieved_messages_ = 0;
  std::uint64_t retrieved_octets_ = 0;
  std::size_t deleted_count_ = 0;
};

}  // namespace mailport::pop3
