#include "session_driver.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <variant>

#include "pop3/body_encoder.hpp"

namespace mailport::pop3::testing {

LoginOutcome FakeBackend::login(const LoginRequest& request) const {
  if (forced_login_status) return LoginOutcome{*forced_login_status, {}};
  bool ok = false;
  if (request.verification != sasl::Verification::by_server) {
    ok = request.verification == sasl::Verification::verified;
  } else if (request.mechanism == Mechanism::apop) {
    const auto it = apop_digests.find(request.user);
    ok = it != apop_digests.end() && it->second == request.secret;
  } else {
    const auto it = passwords.find(request.user);
    ok = it != passwords.end() && it->second == request.secret;
  }
  if (!ok) return LoginOutcome{LoginStatus::bad_credentials, {}};
  return LoginOutcome{LoginStatus::ok, snapshot()};
}

std::vector<MessageInfo> FakeBackend::snapshot() const {
  std::vector<MessageInfo> infos;
  for (const auto& message : messages) {
    infos.push_back(MessageInfo{wire_octets(message.content), message.uidl});
  }
  return infos;
}

FakeBackend default_backend() {
  FakeBackend backend;
  backend.passwords.emplace("alice", "open sesame");
  backend.messages = {
      {"uid-1", "Subject: one\r\n\r\nBody one\r\n"},
      {"uid-2", "Subject: two\n\n.hidden\nlast"},
  };
  return backend;
}

Options default_options() {
  Options options;
  options.stls_offered = true;
  return options;
}

Driver::Driver(Options options, FakeBackend backend)
    : backend_(std::move(backend)), session_(std::move(options)) {}

std::string Driver::start() {
  session_.start();
  std::string out = std::move(session_.output());
  session_.output().clear();
  return out;
}

std::string Driver::send(std::string_view bytes, std::size_t chunk) {
  std::string out;
  chunk = std::max<std::size_t>(chunk, 1);
  do {
    const auto piece = bytes.substr(0, chunk);
    bytes.remove_prefix(piece.size());
    if (!closed_) session_.receive(piece);
    run(out);
  } while (!bytes.empty());
  return out;
}

std::string Driver::login() {
  return send("USER alice\r\nPASS open sesame\r\n");
}

void Driver::run(std::string& out) {
  // Every event either ends the loop or consumes input or a request, so this bound is generous.
  for (int i = 0; i < 100000 && !closed_; ++i) {
    Event event = session_.poll();
    out += session_.output();
    session_.output().clear();
    if (std::holds_alternative<NeedInput>(event)) return;
    if (std::holds_alternative<Flush>(event)) {
      ++flushes_;
    } else if (auto* login = std::get_if<Login>(&event)) {
      logins_.push_back(login->request);
      session_.complete_login(backend_.login(login->request));
    } else if (auto* lookup = std::get_if<LookupSecrets>(&event)) {
      lookups_.push_back(lookup->user);
      const auto it = backend_.scram.find(lookup->user);
      session_.complete_secrets(it != backend_.scram.end() ? it->second : ScramSecrets{});
    } else if (std::holds_alternative<StartTls>(event)) {
      ++stls_requests_;
      session_.complete_stls(backend_.stls_ok);
    } else if (auto* retrieve = std::get_if<Retrieve>(&event)) {
      if (backend_.retrieve_status == RetrieveStatus::ok) write_message(*retrieve, out);
      session_.complete_retrieve(backend_.retrieve_status);
    } else if (auto* update = std::get_if<Update>(&event)) {
      updates_.push_back(update->deleted);
      session_.complete_update(backend_.update_ok);
    } else if (std::holds_alternative<Close>(event)) {
      closed_ = true;
    }
  }
  if (!closed_) ADD_FAILURE() << "session did not settle";
}

void Driver::write_message(const Retrieve& request, std::string& out) {
  out += request.ok_line;
  BodyEncoder encoder(request.top_lines, request.workarounds);
  encoder.encode(backend_.messages.at(request.index).content, out);
  encoder.finish(out);
}

}  // namespace mailport::pop3::testing
