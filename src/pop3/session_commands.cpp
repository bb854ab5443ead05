// The command table and the handlers. Legality per state and argument counts are declared once
// in kCommands, so every handler starts from a well-formed command in a state that allows it.
#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cstdint>

#include "pop3/ascii.hpp"
#include "pop3/response.hpp"
#include "pop3/session.hpp"

namespace mailport::pop3 {

namespace {

enum StateMask : unsigned { kAuthorization = 1U << 0, kTransaction = 1U << 1 };

constexpr std::size_t kListingLineGuess = 12;  // "12345 6789\r\n"

// One "N value" listing line formatted on the stack: a 100,000-message LIST or UIDL then makes
// no allocation per line. Longer text is cut, as append_listing_line() would cut it anyway.
class ListingLine {
 public:
  template <class Value>
  ListingLine(std::size_t number, const Value& value) {
    const auto result = fmt::format_to_n(text_.data(), text_.size(), "{} {}", number, value);
    size_ = std::min(result.size, text_.size());
  }
  std::string_view text() const { return {text_.data(), size_}; }

 private:
  std::array<char, kMaxResponseLine> text_;
  std::size_t size_ = 0;
};

bool allowed_in(unsigned mask, State state) {
  switch (state) {
    case State::authorization:
      return (mask & kAuthorization) != 0;
    case State::transaction:
      return (mask & kTransaction) != 0;
    case State::update:
    case State::closed:
      break;
  }
  return false;
}

// More room than any command's arity, so "too many arguments" is still seen.
constexpr std::size_t kMaxTokens = 3;

struct Tokens {
  std::array<std::string_view, kMaxTokens> items;
  std::size_t count = 0;
  bool empty_token = false;  // two spaces in a row or a leading space
};

// RFC 1939 §3: arguments are separated by a single space. Trailing spaces are forgiven.
Tokens tokenize(std::string_view rest) {
  Tokens tokens;
  while (!rest.empty() && rest.back() == ' ') rest.remove_suffix(1);
  while (!rest.empty() && tokens.count < kMaxTokens) {
    const auto space = rest.find(' ');
    const auto token = rest.substr(0, space);
    tokens.empty_token |= token.empty();
    tokens.items[tokens.count++] = token;
    rest = space == std::string_view::npos ? std::string_view() : rest.substr(space + 1);
  }
  return tokens;
}

std::string plural(std::uint64_t count, std::string_view noun) {
  return fmt::format("{} {}{}", count, noun, count == 1 ? "" : "s");
}

bool hex_digit(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

}  // namespace

struct Session::Command {
  std::string_view name;
  unsigned states;
  std::size_t min_args;
  std::size_t max_args;
  Reply (Session::*handler)(Args);
  std::string_view usage;
  bool raw_argument = false;  // the rest of the line is one argument (passwords have spaces)
  bool apop_only = false;     // unknown unless APOP is enabled
};

namespace {
constexpr unsigned kAnyState = kAuthorization | kTransaction;
}

const Session::Command* Session::find_command(std::string_view name) {
  static constexpr std::array<Command, 17> kCommands = {{
      {"USER", kAuthorization, 1, 1, &Session::cmd_user, "USER name"},
      {"PASS", kAuthorization, 1, 1, &Session::cmd_pass, "PASS password", true},
      {"APOP", kAuthorization, 2, 2, &Session::cmd_apop, "APOP name digest", false, true},
      {"AUTH", kAuthorization, 0, 2, &Session::cmd_auth, "AUTH [mechanism [initial-response]]"},
      {"STLS", kAuthorization, 0, 0, &Session::cmd_stls, "STLS"},
      {"UTF8", kAuthorization, 0, 0, &Session::cmd_utf8, "UTF8"},
      {"CAPA", kAnyState, 0, 0, &Session::cmd_capa, "CAPA"},
      {"QUIT", kAnyState, 0, 0, &Session::cmd_quit, "QUIT"},
      {"LANG", kAnyState, 0, 1, &Session::cmd_lang, "LANG [language]"},
      {"STAT", kTransaction, 0, 0, &Session::cmd_stat, "STAT"},
      {"LIST", kTransaction, 0, 1, &Session::cmd_list, "LIST [msg]"},
      {"RETR", kTransaction, 1, 1, &Session::cmd_retr, "RETR msg"},
      {"DELE", kTransaction, 1, 1, &Session::cmd_dele, "DELE msg"},
      {"NOOP", kTransaction, 0, 0, &Session::cmd_noop, "NOOP"},
      {"RSET", kTransaction, 0, 0, &Session::cmd_rset, "RSET"},
      {"TOP", kTransaction, 2, 2, &Session::cmd_top, "TOP msg lines"},
      {"UIDL", kTransaction, 0, 1, &Session::cmd_uidl, "UIDL [msg]"},
  }};
  const auto it = std::ranges::find_if(
      kCommands, [name](const Command& command) { return ascii_iequals(command.name, name); });
  return it == kCommands.end() ? nullptr : &*it;
}

Session::Reply Session::execute(std::string_view line) {
  const auto space = line.find(' ');
  const auto name = line.substr(0, space);
  const auto rest = space == std::string_view::npos ? std::string_view() : line.substr(space + 1);
  if (line.empty()) return reject("Empty command line.");
  const Command* command = find_command(name);
  if (command == nullptr || (command->apop_only && !options_.apop_enabled)) {
    return reject("Unknown command.");
  }
  if (!allowed_in(command->states, state_)) {
    return reject(state_ == State::authorization ? "Not logged in." : "Already logged in.");
  }
  Tokens tokens;
  if (command->raw_argument) {
    if (!rest.empty()) tokens.items[tokens.count++] = rest;
  } else {
    tokens = tokenize(rest);
  }
  if (tokens.empty_token || tokens.count < command->min_args || tokens.count > command->max_args) {
    return reject(fmt::format("Syntax: {}", command->usage));
  }
  return (this->*command->handler)(Args(tokens.items.data(), tokens.count));
}

Session::Reply Session::cmd_user(Args args) {
  if (!plaintext_usable()) return reject(plaintext_refusal());
  pending_user_ = std::string(args[0]);
  append_ok(output_, "Send PASS.");
  return std::nullopt;
}

Session::Reply Session::cmd_pass(Args args) {
  if (!plaintext_usable()) return reject(plaintext_refusal());
  if (!pending_user_) return reject("Send USER first.");
  std::string user = std::move(*pending_user_);
  pending_user_.reset();  // RFC 1939: after PASS, successful or not, USER starts over
  LoginRequest request;
  request.mechanism = Mechanism::user_pass;
  request.user = user;
  request.secret = args[0];
  return request_login(std::move(request), std::move(user));
}

Session::Reply Session::cmd_apop(Args args) {
  const auto digest = args[1];
  if (digest.size() != 32 || !std::ranges::all_of(digest, hex_digit)) {
    return reject("Invalid APOP digest.");
  }
  std::string lower(digest);
  std::ranges::transform(lower, lower.begin(), [](char c) {
    return c >= 'A' && c <= 'F' ? static_cast<char>(c - 'A' + 'a') : c;
  });
  pending_user_.reset();
  LoginRequest request;
  request.mechanism = Mechanism::apop;
  request.user = args[0];
  request.secret = std::move(lower);
  request.apop_timestamp = options_.apop_timestamp;
  return request_login(std::move(request), std::string(args[0]));
}

Session::Reply Session::cmd_stls(Args) {
  if (options_.tls_active) return reject("TLS is already active.");
  if (!options_.stls_offered) return reject("STLS is not available on this connection.");
  append_ok(output_, "Begin TLS negotiation.");
  reader_.clear();  // whatever was pipelined after STLS came in plaintext: never execute it
  pending_user_.reset();
  return start_request(Awaiting::stls, StartTls{});
}

Session::Reply Session::cmd_utf8(Args) {
  append_ok(output_, "UTF-8 enabled.");
  return std::nullopt;
}

Session::Reply Session::cmd_capa(Args) {
  append_ok(output_, "Capability list follows.");
  const auto line = [this](std::string_view text) { append_listing_line(output_, text); };
  if (plaintext_usable()) line("USER");
  line("TOP");
  line("UIDL");
  line("RESP-CODES");
  line("AUTH-RESP-CODE");
  line("PIPELINING");
  if (options_.stls_offered && !options_.tls_active && state_ == State::authorization) {
    line("STLS");
  }
  if (const auto mechanisms = usable_mechanisms(); !mechanisms.empty()) {
    line(fmt::format("SASL {}", fmt::join(mechanisms, " ")));
  }
  if (options_.expire) line(fmt::format("EXPIRE {}", *options_.expire));
  if (options_.login_delay) line(fmt::format("LOGIN-DELAY {}", options_.login_delay->count()));
  line("UTF8");
  line("LANG");
  if (options_.implementation) line(fmt::format("IMPLEMENTATION {}", *options_.implementation));
  append_end_of_listing(output_);
  return std::nullopt;
}

Session::Reply Session::cmd_quit(Args) {
  if (state_ == State::authorization) {
    append_ok(output_, "Logging out.");
    return close();
  }
  state_ = State::update;
  Update update{maildrop_.deleted_indices(), {}};
  std::ranges::sort(retrieved_indices_);
  retrieved_indices_.erase(std::unique(retrieved_indices_.begin(), retrieved_indices_.end()),
                           retrieved_indices_.end());
  for (const std::size_t index : retrieved_indices_) {
    if (!maildrop_.deleted(index)) update.retrieved.push_back(index);
  }
  return start_request(Awaiting::update, std::move(update));
}

Session::Reply Session::cmd_lang(Args args) {
  if (args.empty()) {
    append_ok(output_, "Language listing follows.");
    append_listing_line(output_, "en English");
    append_end_of_listing(output_);
  } else if (args[0] == "*" || ascii_iequals(args[0], "en")) {
    append_ok(output_, "en Language is English.");
  } else {
    append_err(output_, "Unsupported language.");
  }
  return std::nullopt;
}

Session::Reply Session::cmd_stat(Args) {
  append_ok(output_, fmt::format("{} {}", maildrop_.live_count(), maildrop_.live_octets()));
  return std::nullopt;
}

Session::Reply Session::cmd_list(Args args) {
  if (!args.empty()) {
    const auto index = maildrop_.find(args[0]);
    if (!index) return reject(index.error().message);
    append_ok(output_, fmt::format("{} {}", *index + 1, maildrop_.message(*index).octets));
    return std::nullopt;
  }
  append_ok(output_, fmt::format("{} ({} octets)", plural(maildrop_.live_count(), "message"),
                                 maildrop_.live_octets()));
  output_.reserve(output_.size() + maildrop_.size() * kListingLineGuess);
  for (std::size_t i = 0; i < maildrop_.size(); ++i) {
    if (maildrop_.deleted(i)) continue;
    append_listing_line(output_, ListingLine(i + 1, maildrop_.message(i).octets).text());
  }
  append_end_of_listing(output_);
  return std::nullopt;
}

Session::Reply Session::cmd_uidl(Args args) {
  if (!args.empty()) {
    const auto index = maildrop_.find(args[0]);
    if (!index) return reject(index.error().message);
    append_ok(output_, fmt::format("{} {}", *index + 1, maildrop_.message(*index).uidl));
    return std::nullopt;
  }
  append_ok(output_, "Unique-ID listing follows.");
  output_.reserve(output_.size() + maildrop_.size() * kListingLineGuess * 3);
  for (std::size_t i = 0; i < maildrop_.size(); ++i) {
    if (maildrop_.deleted(i)) continue;
    append_listing_line(output_, ListingLine(i + 1, maildrop_.message(i).uidl).text());
  }
  append_end_of_listing(output_);
  return std::nullopt;
}

Session::Reply Session::cmd_retr(Args args) {
  return retrieve(args[0], std::nullopt);
}

Session::Reply Session::cmd_top(Args args) {
  const auto lines = parse_decimal(args[1]);
  if (!lines) return reject("Invalid line count.");
  return retrieve(args[0], *lines);
}

Session::Reply Session::retrieve(std::string_view number, std::optional<std::uint64_t> top_lines) {
  const auto index = maildrop_.find(number);
  if (!index) return reject(index.error().message);
  std::string ok = top_lines ? ok_line("Top of message follows.")
                             : ok_line(fmt::format("{} octets", maildrop_.message(*index).octets));
  if (!top_lines) retr_index_ = *index;
  return start_request(Awaiting::retrieve,
                       Retrieve{*index, top_lines, std::move(ok), options_.client_workarounds});
}

Session::Reply Session::cmd_dele(Args args) {
  const auto index = maildrop_.find(args[0]);
  if (!index) return reject(index.error().message);
  maildrop_.mark_deleted(*index);
  append_ok(output_, fmt::format("Message {} deleted.", *index + 1));
  return std::nullopt;
}

Session::Reply Session::cmd_noop(Args) {
  append_ok(output_);
  return std::nullopt;
}

Session::Reply Session::cmd_rset(Args) {
  maildrop_.unmark_all();
  append_ok(output_,
            fmt::format("Maildrop has {} ({} octets).", plural(maildrop_.live_count(), "message"),
                        maildrop_.live_octets()));
  return std::nullopt;
}

}  // namespace mailport::pop3
