// Sans-I/O LMTP server session (RFC 2033, with RFC 1652 8BITMIME, RFC 1870 SIZE, RFC 2034
// ENHANCEDSTATUSCODES and RFC 2920 PIPELINING).
//
// Like pop3::Session, this is a pure state machine: the transport feeds it the bytes it reads
// and calls poll() until NeedInput, writing out output() before acting on each event. The
// recipient check and the delivery are requested as events and answered with complete_*();
// the session never touches users, files or clocks.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "lmtp/data_decoder.hpp"

namespace mailport::lmtp {

struct Limits {
  std::size_t max_command_line = 2048;           // octets including CRLF (RFC 5321: >= 512)
  std::uint64_t max_message_size = 50ull << 20;  // SIZE, counted with CRLF line ends
  unsigned max_recipients = 1000;                // per transaction; more get 452 4.5.3
  unsigned max_bad_commands = 20;                // then 421 and close
  std::size_t flush_threshold = 64 * 1024;       // poll() returns Flush past this much output
};

struct Options {
  std::string hostname = "localhost";  // in the greeting and the LHLO reply
  Limits limits;
};

enum class State { ready, mail, data, closed };

// The transaction the DATA belongs to.
struct Envelope {
  std::string client;                   // the LHLO argument
  std::string sender;                   // reverse-path without <>; empty for the null sender
  std::vector<std::string> recipients;  // accepted forward-paths without <>, in RCPT order
  bool body_8bit = false;               // BODY=8BITMIME
};

// How a recipient check or a delivery to one recipient turned out.
enum class Outcome {
  ok,
  no_such_user,       // 550 5.1.1
  temporary_failure,  // 451 4.3.0: the MTA keeps the message queued and retries
  storage_full,       // 452 4.2.2: mailbox or disk full, retried later
  mailbox_busy,       // 451 4.2.0: mailbox locked for too long, retried later
  permanent_failure,  // 554 5.3.0
};

// --- Events returned by poll() ---
struct NeedInput {};     // read more bytes
struct Flush {};         // output() is large: write it, then poll() again
struct CheckRecipient {  // does this user exist? answer with complete_recipient()
  std::string address;
};
// The message after DATA, dot-unstuffed, line ends as LF. Deliver it to every recipient of the
// envelope and answer with complete_delivery(), one Outcome per recipient in order.
struct Deliver {
  Envelope envelope;
  std::string message;
};
struct Close {};  // write output() and close; no more events follow

using Event = std::variant<NeedInput, Flush, CheckRecipient, Deliver, Close>;

class Session {
 public:
  explicit Session(Options options);

  // Appends the 220 greeting. Call once, first.
  void start();
  void receive(std::string_view bytes);
  Event poll();
  std::string& output() { return output_; }

  void complete_recipient(Outcome outcome);
  void complete_delivery(const std::vector<Outcome>& outcomes);

  State state() const { return state_; }
  // Counters for the log line at disconnect.
  std::uint64_t delivered_messages() const { return delivered_messages_; }
  std::uint64_t delivered_recipients() const { return delivered_recipients_; }
  std::size_t buffered_input() const { return input_.size() - read_pos_; }

 private:
  enum class Awaiting { nothing, recipient, delivery };
  using Reply = std::optional<Event>;

  struct Line {
    std::string_view text;  // without the line end; valid until the next receive()
    bool too_long = false;
  };
  Reply handle_line(const Line& line);
  Reply execute(std::string_view verb, std::string_view rest);
  Reply cmd_lhlo(std::string_view rest);
  Reply cmd_mail(std::string_view rest);
  Reply cmd_rcpt(std::string_view rest);
  Reply cmd_data(std::string_view rest);
  Reply cmd_rset(std::string_view rest);
  Reply cmd_quit(std::string_view rest);
  Reply bad(std::string_view reply);  // a failed command: counted, 421 past the limit
  Reply close(std::string_view reply);
  Reply finish_data();
  void reply(std::string_view text);
  void reset_transaction();
  std::optional<Line> next_line();
  void consume_data();

  Options options_;
  State state_ = State::ready;
  Awaiting awaiting_ = Awaiting::nothing;
  std::string input_;
  std::size_t read_pos_ = 0;
  bool discarding_line_ = false;  // dropping an overlong command up to its line feed
  std::string output_;
  bool greeted_ = false;  // LHLO seen
  Envelope envelope_;
  std::string pending_recipient_;
  DataDecoder data_;
  unsigned bad_commands_ = 0;
  std::uint64_t delivered_messages_ = 0;
  std::uint64_t delivered_recipients_ = 0;
};

// The reply line for one recipient after DATA (or for RCPT, when `after_data` is false).
std::string outcome_reply(Outcome outcome, bool after_data, std::string_view address);

}  // namespace mailport::lmtp
