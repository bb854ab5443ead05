#include "pop3/session.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cassert>
#include <utility>

#include "pop3/response.hpp"

namespace mailport::pop3 {

namespace {

// RFC 3206 response codes, so clients can tell a wrong password from a busy or broken server.
std::string_view login_failure_text(LoginStatus status) {
  switch (status) {
    case LoginStatus::ok:
    case LoginStatus::bad_credentials:
      break;
    case LoginStatus::in_use:
      return "[IN-USE] Maildrop is in use by another session.";
    case LoginStatus::login_delay:
      return "[LOGIN-DELAY] Logged in too recently; try again later.";
    case LoginStatus::temporary_failure:
      return "[SYS/TEMP] Temporary server failure; try again later.";
    case LoginStatus::permanent_failure:
      return "[SYS/PERM] Cannot log in; contact the administrator.";
  }
  // The same words whether the user is unknown or the password wrong.
  return "[AUTH] Authentication failed.";
}

}  // namespace

Session::Session(Options options)
    : options_(std::move(options)),
      reader_(std::max(options_.limits.max_command_line, options_.limits.max_sasl_line)) {}

void Session::start() {
  std::string greeting = options_.greeting;
  if (options_.apop_enabled) {
    greeting += ' ';
    greeting += options_.apop_timestamp;
  }
  append_ok(output_, greeting);
}

void Session::receive(std::string_view bytes) {
  // Bytes that arrive between "+OK Begin TLS" and the handshake were sent in plaintext: running
  // them inside TLS would let a man in the middle inject commands into the secured session.
  if (state_ == State::closed || awaiting_ == Awaiting::stls) return;
  reader_.feed(bytes, line_limit());
}

Event Session::poll() {
  if (pending_event_) return *std::exchange(pending_event_, std::nullopt);
  if (state_ == State::closed) return Close{};
  if (awaiting_ != Awaiting::nothing) return NeedInput{};
  // Each pass consumes a buffered line, so the loop ends when the buffer is drained.
  for (;;) {
    if (output_.size() > options_.limits.flush_threshold) return Flush{};
    const auto line = reader_.next(line_limit());
    if (!line) return NeedInput{};
    if (Reply reply = handle(*line)) return *std::move(reply);
  }
}

Session::Reply Session::handle(const LineReader::Line& line) {
  if (sasl_) return on_sasl_response(line);
  switch (line.problem) {
    case LineReader::Problem::too_long:
      return reject("Command line too long.");
    case LineReader::Problem::control_byte:
      return reject("Control characters in command line.");
    case LineReader::Problem::none:
      break;
  }
  return execute(line.text);
}

Session::Reply Session::reject(std::string_view text) {
  if (++bad_commands_ >= options_.limits.max_bad_commands) {
    append_err(output_, "Too many bad commands; closing connection.");
    return close();
  }
  append_err(output_, text);
  return std::nullopt;
}

Session::Reply Session::close() {
  state_ = State::closed;
  return Close{};
}

Session::Reply Session::start_request(Awaiting what, Event event) {
  awaiting_ = what;
  return event;
}

Session::Reply Session::request_login(LoginRequest request, std::string identity) {
  login_identity_ = std::move(identity);
  return start_request(Awaiting::login, Login{std::move(request)});
}

void Session::fail_login(std::string_view text) {
  append_err(output_, text);
  if (++failed_logins_ >= options_.limits.max_auth_attempts) state_ = State::closed;
}

bool Session::plaintext_usable() const {
  return options_.tls_active || options_.plaintext_auth_allowed;
}

std::string Session::plaintext_refusal() const {
  return fmt::format("[AUTH] Plaintext authentication disallowed on non-secure connections; {}{}{}",
                     options_.stls_offered ? "use STLS first." : "connect with TLS.",
                     options_.plaintext_refusal_hint.empty() ? "" : " ",
                     options_.plaintext_refusal_hint);
}

std::vector<std::string_view> Session::usable_mechanisms() const {
  std::vector<std::string_view> names;
  for (const auto& configured : options_.sasl_mechanisms) {
    const auto* info = sasl::find_mechanism(configured);
    if (info == nullptr || (info->plaintext && !plaintext_usable())) continue;
    if (std::ranges::find(names, info->name) == names.end()) names.push_back(info->name);
  }
  return names;
}

std::size_t Session::line_limit() const {
  return sasl_ ? options_.limits.max_sasl_line : options_.limits.max_command_line;
}

void Session::complete_login(LoginOutcome outcome) {
  assert(awaiting_ == Awaiting::login);
  if (awaiting_ != Awaiting::login) return;
  awaiting_ = Awaiting::nothing;
  if (outcome.status != LoginStatus::ok) {
    login_identity_.clear();
    fail_login(login_failure_text(outcome.status));
    return;
  }
  state_ = State::transaction;
  user_ = std::move(login_identity_);
  maildrop_ = Maildrop(std::move(outcome.messages));
  append_ok(output_, "Logged in.");
}

void Session::complete_secrets(const ScramSecrets& secrets) {
  assert(awaiting_ == Awaiting::secrets && sasl_);
  if (awaiting_ != Awaiting::secrets || !sasl_) return;
  awaiting_ = Awaiting::nothing;
  auto mechanism = std::move(sasl_);
  auto step = mechanism->provide_secrets(secrets);
  if (Reply reply = continue_sasl(std::move(mechanism), std::move(step))) {
    pending_event_ = std::move(*reply);
  }
}

void Session::complete_stls(bool ok) {
  assert(awaiting_ == Awaiting::stls);
  if (awaiting_ != Awaiting::stls) return;
  awaiting_ = Awaiting::nothing;
  reader_.clear();
  if (!ok) {
    state_ = State::closed;
    return;
  }
  options_.tls_active = true;
}

void Session::complete_retrieve(RetrieveStatus status) {
  assert(awaiting_ == Awaiting::retrieve);
  if (awaiting_ != Awaiting::retrieve) return;
  awaiting_ = Awaiting::nothing;
  const auto retr_index = std::exchange(retr_index_, std::nullopt);
  switch (status) {
    case RetrieveStatus::ok:
      if (retr_index) {
        retrieved_indices_.push_back(*retr_index);
        ++retrieved_messages_;
        retrieved_octets_ += maildrop_.message(*retr_index).octets;
      }
      return;
    case RetrieveStatus::vanished:
      append_err(output_, "Message no longer exists.");
      return;
    case RetrieveStatus::temporary_failure:
      append_err(output_, "[SYS/TEMP] Message could not be read; try again later.");
      return;
  }
}

void Session::complete_update(bool ok) {
  assert(awaiting_ == Awaiting::update);
  if (awaiting_ != Awaiting::update) return;
  awaiting_ = Awaiting::nothing;
  state_ = State::closed;
  if (!ok) {
    append_err(output_, "[SYS/TEMP] Could not remove all deleted messages; try again later.");
    return;
  }
  deleted_count_ = maildrop_.deleted_count();
  append_ok(output_, fmt::format("Logging out ({} message{} deleted).", deleted_count_,
                                 deleted_count_ == 1 ? "" : "s"));
}

}  // namespace mailport::pop3
