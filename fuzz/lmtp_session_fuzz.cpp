// Drives an lmtp::Session with arbitrary client bytes and aborts on any broken invariant.
// Input layout:
//   byte 0: receive() chunk size - 1
//   byte 1: how recipient checks and deliveries turn out (rotating through lmtp::Outcome)
//   byte 2: bit 0 tiny limits (64-octet lines, 256-octet messages, 2 recipients, 3 errors)
//   rest:   the bytes the client sends
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "lmtp/session.hpp"

namespace {

using namespace mailport::lmtp;

void check(bool condition) {
  if (!condition) std::abort();
}

constexpr Outcome kOutcomes[] = {
    Outcome::ok,           Outcome::no_such_user, Outcome::temporary_failure,
    Outcome::storage_full, Outcome::mailbox_busy, Outcome::permanent_failure};

// Every reply line ends in CRLF, carries a three-digit code and no other line break.
void check_replies(std::string_view out) {
  while (!out.empty()) {
    const std::size_t end = out.find("\r\n");
    check(end != std::string_view::npos && end >= 3 && end <= 1024);
    const std::string_view line = out.substr(0, end);
    check(line.find('\n') == std::string_view::npos && line.find('\r') == std::string_view::npos);
    check(line[0] >= '2' && line[0] <= '5');
    check(std::all_of(line.begin() + 1, line.begin() + 3,
                      [](char c) { return c >= '0' && c <= '9'; }));
    out.remove_prefix(end + 2);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 3) return 0;
  const std::size_t chunk = static_cast<std::size_t>(data[0]) + 1;
  unsigned answer = data[1];
  Limits limits;
  if (data[2] & 1) {
    limits = Limits{.max_command_line = 64,
                    .max_message_size = 256,
                    .max_recipients = 2,
                    .max_bad_commands = 3,
                    .flush_threshold = 128};
  }
  const std::string_view input(reinterpret_cast<const char*>(data) + 3, size - 3);
  Session session(Options{"fuzz.example", limits});
  session.start();
  bool closed = false;
  for (std::size_t pos = 0; pos < input.size() && !closed; pos += chunk) {
    session.receive(input.substr(pos, chunk));
    check(session.buffered_input() <= limits.max_command_line + chunk + limits.max_message_size);
    for (bool waiting = false; !waiting && !closed;) {
      Event event = session.poll();
      check_replies(session.output());
      session.output().clear();
      if (auto* rcpt = std::get_if<CheckRecipient>(&event)) {
        check(!rcpt->address.empty() && rcpt->address.size() <= 254);
        session.complete_recipient(kOutcomes[answer++ % 6]);
      } else if (auto* deliver = std::get_if<Deliver>(&event)) {
        check(!deliver->envelope.recipients.empty());
        check(deliver->envelope.recipients.size() <= limits.max_recipients);
        check(deliver->message.size() <= limits.max_message_size);
        std::vector<Outcome> outcomes;
        for (std::size_t i = 0; i < deliver->envelope.recipients.size(); ++i) {
          outcomes.push_back(kOutcomes[answer++ % 6]);
        }
        session.complete_delivery(outcomes);
      } else if (std::holds_alternative<Close>(event)) {
        closed = true;
      } else if (std::holds_alternative<NeedInput>(event)) {
        waiting = true;
      }
    }
  }
  if (closed) {
    session.receive("NOOP\r\n");
    check(std::holds_alternative<Close>(session.poll()) && session.output().empty());
  }
  return 0;
}
