// Drives a pop3::Session through every state with arbitrary client bytes and aborts on any broken
// invariant. Input layout:
//   byte 0: connection options (bit 0 tls_active, 1 stls_offered, 2 plaintext_auth_allowed,
//           3 apop_enabled, 4 optional CAPA items, 5 only PLAIN configured, 7 tiny limits)
//   byte 1: receive() chunk size - 1
//   byte 2: how the outside world answers (bits 0-2 first login status, rotating with each
//           attempt; 3 handshake fails; 4 expunge fails; 5-6 retrieve status)
//   rest:   the bytes the client sends
// Every login that succeeds gets the same three-message maildrop.
#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "pop3/body_encoder.hpp"
#include "pop3/response.hpp"
#include "pop3/session.hpp"

namespace {

using namespace mailport;
using namespace mailport::pop3;

void check(bool condition) {
  if (!condition) std::abort();
}

const std::vector<std::string>& messages() {
  static const std::vector<std::string> kMessages = {
      "Subject: one\r\n\r\nbody\r\n",
      "Subject: two\n\n.\n..x\nno final newline",
      "",
  };
  return kMessages;
}

std::vector<MessageInfo> snapshot() {
  std::vector<MessageInfo> infos;
  for (std::size_t i = 0; i < messages().size(); ++i) {
    infos.push_back({wire_octets(messages()[i]), "uid" + std::to_string(i)});
  }
  return infos;
}

bool control_byte(char c) {
  const auto byte = static_cast<unsigned char>(c);
  return byte < 0x20 || byte == 0x7F;
}

// The session writes only whole CRLF-terminated lines within 512 octets, never a bare CR or LF.
void check_lines(std::string_view out) {
  while (!out.empty()) {
    const auto end = out.find("\r\n");
    check(end != std::string_view::npos);
    check(end + 2 <= kMaxResponseLine);
    for (char c : out.substr(0, end)) check(!control_byte(c));
    out.remove_prefix(end + 2);
  }
}

Options make_options(std::uint8_t flags) {
  Options options;
  options.tls_active = (flags & 0x01) != 0;
  options.stls_offered = (flags & 0x02) != 0;
  options.plaintext_auth_allowed = (flags & 0x04) != 0;
  options.apop_enabled = (flags & 0x08) != 0;
  options.apop_timestamp = "<4711.1@fuzz.example>";
  if ((flags & 0x10) != 0) {
    options.implementation = "fuzz";
    options.login_delay = std::chrono::seconds(60);
    options.expire = "NEVER";
  }
  if ((flags & 0x20) != 0) options.sasl_mechanisms = {"plain"};
  options.limits.max_bad_commands = 64;
  options.limits.max_auth_attempts = 8;
  if ((flags & 0x80) != 0) {
    options.limits.max_command_line = 24;
    options.limits.max_sasl_line = 40;
    options.limits.flush_threshold = 48;
  }
  return options;
}

class World {
 public:
  World(Options options, std::uint8_t answers)
      : limits_(options.limits), session_(std::move(options)), answers_(answers) {}

  void start() {
    session_.start();
    drain_output();
  }

  bool closed() const { return closed_; }

  void feed(std::string_view bytes) {
    session_.receive(bytes);
    run();
  }

 private:
  void drain_output() {
    check_lines(session_.output());
    session_.output().clear();
  }

  void run() {
    // Each event either consumes input or completes a request; 4096 passes is far more than
    // one receive() can cause.
    for (int i = 0; i < 4096; ++i) {
      const Event event = session_.poll();
      if (std::holds_alternative<Flush>(event)) {
        check(session_.output().size() > limits_.flush_threshold);
      }
      drain_output();
      if (std::holds_alternative<NeedInput>(event)) {
        check(session_.buffered_input() <=
              std::max(limits_.max_command_line, limits_.max_sasl_line));
        return;
      }
      if (std::holds_alternative<Close>(event)) {
        closed_ = true;
        check(session_.state() == State::closed);
        check(std::holds_alternative<Close>(session_.poll()));
        check(session_.output().empty());
        return;
      }
      answer(event);
    }
    check(false);
  }

  void answer(const Event& event) {
    if (const auto* login = std::get_if<Login>(&event)) return answer_login(login->request);
    if (const auto* retrieve = std::get_if<Retrieve>(&event)) return answer_retrieve(*retrieve);
    if (const auto* update = std::get_if<Update>(&event)) return answer_update(*update);
    if (std::holds_alternative<StartTls>(event)) {
      check(!session_.tls_active());
      session_.complete_stls((answers_ & 0x08) == 0);
    }
  }

  void answer_login(const LoginRequest& request) {
    check(session_.state() == State::authorization);
    check(!request.user.empty());
    check(request.user.find('\0') == std::string::npos);
    check(request.secret.find('\0') == std::string::npos);
    if (request.mechanism != Mechanism::sasl) {
      for (char c : request.user) check(!control_byte(c));
    }
    const auto status = static_cast<LoginStatus>((answers_ + logins_++) % 6);
    session_.complete_login(
        LoginOutcome{status, status == LoginStatus::ok ? snapshot() : std::vector<MessageInfo>{}});
  }

  void answer_retrieve(const Retrieve& retrieve) {
    check(session_.state() == State::transaction);
    check(retrieve.index < messages().size());
    check_lines(retrieve.ok_line);
    const auto status = static_cast<RetrieveStatus>(((answers_ >> 5) & 0x03) % 3);
    if (status == RetrieveStatus::ok) {
      BodyEncoder encoder(retrieve.top_lines);
      std::string body;
      encoder.encode(messages()[retrieve.index], body);
      encoder.finish(body);
      check(body.ends_with(".\r\n"));
    }
    session_.complete_retrieve(status);
  }

  void answer_update(const Update& update) {
    check(session_.state() == State::update);
    for (std::size_t i = 0; i < update.deleted.size(); ++i) {
      check(update.deleted[i] < messages().size());
      check(i == 0 || update.deleted[i - 1] < update.deleted[i]);
    }
    session_.complete_update((answers_ & 0x10) == 0);
  }

  Limits limits_;
  Session session_;
  std::uint8_t answers_;
  unsigned logins_ = 0;
  bool closed_ = false;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 3) return 0;
  World world(make_options(data[0]), data[2]);
  const std::size_t chunk = std::size_t{data[1]} + 1;
  std::string_view input(reinterpret_cast<const char*>(data) + 3, size - 3);
  world.start();
  while (!input.empty() && !world.closed()) {
    const auto piece = input.substr(0, chunk);
    input.remove_prefix(piece.size());
    world.feed(piece);
  }
  return 0;
}
