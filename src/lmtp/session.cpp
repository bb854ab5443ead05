#include "lmtp/session.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>

#include "lmtp/address.hpp"

namespace mailport::lmtp {
namespace {

// Keeps consumed input from piling up at the front of the buffer.
constexpr std::size_t kCompactThreshold = 16 * 1024;

constexpr char ascii_upper(char c) {
  return c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c;
}

bool iequals(std::string_view a, std::string_view b) {
  return std::ranges::equal(a, b, [](char x, char y) { return ascii_upper(x) == ascii_upper(y); });
}

bool istarts_with(std::string_view text, std::string_view prefix) {
  return text.size() >= prefix.size() && iequals(text.substr(0, prefix.size()), prefix);
}

bool has_control_byte(std::string_view line) {
  return std::ranges::any_of(line, [](char c) {
    const auto byte = static_cast<unsigned char>(c);
    return (byte < 0x20 && c != '\t') || byte == 0x7f;
  });
}

std::string_view trim_spaces(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

// The next space-separated ESMTP parameter "KEY=VALUE" (or "KEY").
std::string_view next_word(std::string_view& text) {
  text = trim_spaces(text);
  const std::size_t end = std::min(text.find(' '), text.size());
  const std::string_view word = text.substr(0, end);
  text.remove_prefix(end);
  return word;
}

std::optional<std::uint64_t> parse_number(std::string_view text) {
  std::uint64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

// "FROM:<path>" / "TO:<path>"; a space after the colon is tolerated.
std::optional<ParsedPath> path_after(std::string_view rest, std::string_view keyword) {
  if (!istarts_with(rest, keyword)) return std::nullopt;
  return parse_path(trim_spaces(rest.substr(keyword.size())));
}

}  // namespace

std::string outcome_reply(Outcome outcome, bool after_data, std::string_view address) {
  switch (outcome) {
    case Outcome::ok:
      return after_data ? fmt::format("250 2.0.0 <{}> delivered", address)
                        : fmt::format("250 2.1.5 <{}> recipient ok", address);
    case Outcome::no_such_user:
      return fmt::format("550 5.1.1 <{}> no such user here", address);
    case Outcome::temporary_failure:
      return fmt::format("451 4.3.0 <{}> temporary failure, try again later", address);
    case Outcome::storage_full:
      return fmt::format("452 4.2.2 <{}> mailbox or disk full, try again later", address);
    case Outcome::mailbox_busy:
      return fmt::format("451 4.2.0 <{}> mailbox is locked, try again later", address);
    case Outcome::permanent_failure:
      return fmt::format("554 5.3.0 <{}> delivery failed", address);
  }
  return "451 4.3.0 internal error";
}

Session::Session(Options options) : options_(std::move(options)) {}

void Session::start() {
  reply(fmt::format("220 {} LMTP ready", options_.hostname));
}

void Session::receive(std::string_view bytes) {
  if (state_ == State::closed) return;
  if (read_pos_ > kCompactThreshold && read_pos_ * 2 > input_.size()) {
    input_.erase(0, read_pos_);
    read_pos_ = 0;
  }
  input_.append(bytes);
}

void Session::reply(std::string_view text) {
  output_.append(text);
  output_.append("\r\n");
}

Event Session::poll() {
  while (state_ != State::closed && awaiting_ == Awaiting::nothing) {
    if (output_.size() >= options_.limits.flush_threshold) return Flush{};
    if (state_ == State::data) {
      consume_data();
      if (!data_.done()) return NeedInput{};
      if (Reply event = finish_data()) return *event;
      continue;
    }
    const std::optional<Line> line = next_line();
    if (!line) return NeedInput{};
    if (Reply event = handle_line(*line)) return *event;
  }
  if (state_ == State::closed) return Close{};
  return NeedInput{};
}

// A complete command line, or nullopt. An overlong line is reported once its line feed arrives,
// and costs no more memory than the limit meanwhile.
std::optional<Session::Line> Session::next_line() {
  const std::string_view pending = std::string_view(input_).substr(read_pos_);
  const std::size_t lf = pending.find('\n');
  const std::size_t limit = options_.limits.max_command_line;
  if (lf == std::string_view::npos) {
    if (pending.size() >= limit) {
      discarding_line_ = true;
      input_.resize(read_pos_);
    }
    return std::nullopt;
  }
  read_pos_ += lf + 1;
  std::string_view text = pending.substr(0, lf);
  if (!text.empty() && text.back() == '\r') text.remove_suffix(1);
  const bool too_long = discarding_line_ || lf + 1 > limit;
  discarding_line_ = false;
  return Line{text, too_long};
}

Session::Reply Session::handle_line(const Line& line) {
  if (line.too_long) return bad("500 5.5.2 line too long");
  if (has_control_byte(line.text)) return bad("500 5.5.2 control characters in command");
  const std::size_t space = std::min(line.text.find(' '), line.text.size());
  return execute(line.text.substr(0, space),
                 line.text.substr(std::min(space + 1, line.text.size())));
}

Session::Reply Session::execute(std::string_view verb, std::string_view rest) {
  if (iequals(verb, "LHLO")) return cmd_lhlo(rest);
  if (iequals(verb, "MAIL")) return cmd_mail(rest);
  if (iequals(verb, "RCPT")) return cmd_rcpt(rest);
  if (iequals(verb, "DATA")) return cmd_data(rest);
  if (iequals(verb, "RSET")) return cmd_rset(rest);
  if (iequals(verb, "QUIT")) return cmd_quit(rest);
  if (iequals(verb, "NOOP")) {
    reply("250 2.0.0 OK");
    return std::nullopt;
  }
  // RFC 2033 §4.1: an LMTP server must not answer HELO or EHLO with success.
  if (iequals(verb, "HELO") || iequals(verb, "EHLO")) {
    return bad("500 5.5.1 this is an LMTP server: use LHLO");
  }
  if (iequals(verb, "VRFY") || iequals(verb, "EXPN")) {
    return bad("502 5.5.1 command not implemented");
  }
  return bad("500 5.5.2 unknown command");
}

Session::Reply Session::bad(std::string_view text) {
  reply(text);
  if (++bad_commands_ >= options_.limits.max_bad_commands) {
    return close("421 4.7.0 too many errors, closing connection");
  }
  return std::nullopt;
}

Session::Reply Session::close(std::string_view text) {
  reply(text);
  state_ = State::closed;
  return Close{};
}

void Session::reset_transaction() {
  const std::string client = std::move(envelope_.client);
  envelope_ = Envelope{};
  envelope_.client = client;
  if (state_ != State::closed) state_ = State::ready;
}

Session::Reply Session::cmd_lhlo(std::string_view rest) {
  rest = trim_spaces(rest);
  if (rest.empty()) return bad("501 5.5.4 LHLO needs a domain or address literal");
  reset_transaction();
  envelope_.client = std::string(rest);
  greeted_ = true;
  reply(fmt::format("250-{}", options_.hostname));
  reply("250-PIPELINING");
  reply("250-ENHANCEDSTATUSCODES");
  reply("250-8BITMIME");
  reply(fmt::format("250 SIZE {}", options_.limits.max_message_size));
  return std::nullopt;
}

Session::Reply Session::cmd_mail(std::string_view rest) {
  if (!greeted_) return bad("503 5.5.1 send LHLO first");
  if (state_ != State::ready) return bad("503 5.5.1 nested MAIL command");
  std::optional<ParsedPath> path = path_after(rest, "FROM:");
  if (!path) return bad("501 5.5.4 syntax: MAIL FROM:<address> [parameters]");
  bool body_8bit = false;
  for (std::string_view params = path->rest; !trim_spaces(params).empty();) {
    const std::string_view word = next_word(params);
    const std::size_t eq = word.find('=');
    const std::string_view key = word.substr(0, eq);
    const std::string_view value = eq == std::string_view::npos ? "" : word.substr(eq + 1);
    if (iequals(key, "SIZE")) {
      const std::optional<std::uint64_t> size = parse_number(value);
      if (!size) return bad("501 5.5.4 SIZE needs a number");
      if (*size > options_.limits.max_message_size) {
        reply("552 5.3.4 message exceeds the size limit");
        return std::nullopt;
      }
    } else if (iequals(key, "BODY") && (iequals(value, "7BIT") || iequals(value, "8BITMIME"))) {
      body_8bit = iequals(value, "8BITMIME");
    } else {
      return bad(fmt::format("555 5.5.4 unsupported parameter {}", key));
    }
  }
  envelope_.sender = std::move(path->address);
  envelope_.body_8bit = body_8bit;
  state_ = State::mail;
  reply("250 2.1.0 sender ok");
  return std::nullopt;
}

Session::Reply Session::cmd_rcpt(std::string_view rest) {
  if (state_ != State::mail) return bad("503 5.5.1 need MAIL before RCPT");
  std::optional<ParsedPath> path = path_after(rest, "TO:");
  if (!path) return bad("501 5.5.4 syntax: RCPT TO:<address>");
  if (!trim_spaces(path->rest).empty()) {
    return bad("555 5.5.4 RCPT parameters are not supported");
  }
  if (path->address.empty()) return bad("501 5.1.3 empty recipient address");
  if (envelope_.recipients.size() >= options_.limits.max_recipients) {
    reply("452 4.5.3 too many recipients");
    return std::nullopt;
  }
  pending_recipient_ = std::move(path->address);
  awaiting_ = Awaiting::recipient;
  return CheckRecipient{pending_recipient_};
}

void Session::complete_recipient(Outcome outcome) {
  if (awaiting_ != Awaiting::recipient) return;
  awaiting_ = Awaiting::nothing;
  reply(outcome_reply(outcome, false, pending_recipient_));
  if (outcome == Outcome::ok) envelope_.recipients.push_back(std::move(pending_recipient_));
  pending_recipient_.clear();
}

Session::Reply Session::cmd_data(std::string_view rest) {
  if (!trim_spaces(rest).empty()) return bad("501 5.5.4 DATA takes no argument");
  if (state_ != State::mail) return bad("503 5.5.1 need MAIL before DATA");
  // RFC 2033 §4.2: DATA fails with 503 when no recipient was accepted.
  if (envelope_.recipients.empty()) return bad("503 5.5.1 no valid recipients");
  reply("354 start mail input; end with <CRLF>.<CRLF>");
  data_.start(options_.limits.max_message_size);
  state_ = State::data;
  return std::nullopt;
}

void Session::consume_data() {
  const std::string_view pending = std::string_view(input_).substr(read_pos_);
  read_pos_ += data_.feed(pending);
  if (read_pos_ == input_.size()) {
    input_.clear();
    read_pos_ = 0;
  }
}

Session::Reply Session::finish_data() {
  if (data_.too_big()) {
    for (const std::string& recipient : envelope_.recipients) {
      reply(fmt::format("552 5.3.4 <{}> message exceeds the size limit", recipient));
    }
    reset_transaction();
    return std::nullopt;
  }
  state_ = State::ready;
  awaiting_ = Awaiting::delivery;
  return Deliver{envelope_, data_.take_message()};
}

void Session::complete_delivery(const std::vector<Outcome>& outcomes) {
  if (awaiting_ != Awaiting::delivery) return;
  awaiting_ = Awaiting::nothing;
  // RFC 2033 §4.2: exactly one reply per accepted recipient, in RCPT order.
  bool any = false;
  for (std::size_t i = 0; i < envelope_.recipients.size(); ++i) {
    const Outcome outcome = i < outcomes.size() ? outcomes[i] : Outcome::temporary_failure;
    reply(outcome_reply(outcome, true, envelope_.recipients[i]));
    if (outcome == Outcome::ok) {
      ++delivered_recipients_;
      any = true;
    }
  }
  if (any) ++delivered_messages_;
  reset_transaction();
}

Session::Reply Session::cmd_rset(std::string_view rest) {
  if (!trim_spaces(rest).empty()) return bad("501 5.5.4 RSET takes no argument");
  reset_transaction();
  reply("250 2.0.0 OK");
  return std::nullopt;
}

Session::Reply Session::cmd_quit(std::string_view) {
  return close(fmt::format("221 2.0.0 {} closing connection", options_.hostname));
}

}  // namespace mailport::lmtp
