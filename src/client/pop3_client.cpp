#include "client/pop3_client.hpp"

#include <openssl/crypto.h>

#include <array>

#include "client/scram.hpp"
#include "sasl/base64.hpp"

namespace mailport::client {
namespace {

constexpr std::size_t kReadChunk = 64 * 1024;

Error protocol_error(std::string message) {
  return make_error(errc::invalid_input, std::move(message));
}

// Wipes a buffer that held a password when it goes out of scope.
class Wiped {
 public:
  explicit Wiped(std::string& text) : text_(text) {}
  Wiped(const Wiped&) = delete;
  Wiped& operator=(const Wiped&) = delete;
  ~Wiped() { OPENSSL_cleanse(text_.data(), text_.size()); }

 private:
  std::string& text_;
};

}  // namespace

std::string_view to_string(AuthMethod method) {
  switch (method) {
    case AuthMethod::automatic:
      return "auto";
    case AuthMethod::scram_sha_256:
      return "scram-sha-256";
    case AuthMethod::plain:
      return "plain";
    case AuthMethod::user_pass:
      return "user";
  }
  return "auto";
}

std::optional<AuthMethod> parse_auth_method(std::string_view name) {
  for (auto method : {AuthMethod::automatic, AuthMethod::scram_sha_256, AuthMethod::plain,
                      AuthMethod::user_pass}) {
    if (name == to_string(method)) return method;
  }
  return std::nullopt;
}

Result<std::string_view> Pop3Client::next_line(Framing framing) {
  std::size_t scanned = start_;
  for (;;) {
    const auto lf = buffer_.find('\n', scanned);
    const bool crlf = lf != std::string::npos && lf > start_ && buffer_[lf - 1] == '\r';
    if (lf != std::string::npos && (crlf || framing == Framing::lenient)) {
      std::string_view line(buffer_.data() + start_, lf - start_);
      start_ = lf + 1;
      if (line.ends_with('\r')) line.remove_suffix(1);
      return line;
    }
    if (lf != std::string::npos) {
      scanned = lf + 1;  // a bare LF inside a body line is content, not a line end
      continue;
    }
    if (buffer_.size() - start_ > kMaxServerLine) {
      return protocol_error("the server sent a line longer than " + std::to_string(kMaxServerLine) +
                            " octets");
    }
    // Drop consumed bytes before reading more; views from earlier calls are dead by now.
    buffer_.erase(0, start_);
    start_ = 0;
    scanned = buffer_.size();
    const std::size_t old_size = buffer_.size();
    buffer_.resize(old_size + kReadChunk);
    auto got = transport_.read_some(std::span<char>(buffer_.data() + old_size, kReadChunk));
    buffer_.resize(old_size + (got ? *got : 0));
    if (!got) return got.error();
    if (*got == 0) return make_error(errc::temporary_failure, "the server closed the connection");
  }
}

Result<Reply> Pop3Client::read_reply() {
  auto line = next_line();
  if (!line) return line.error();
  return parse_reply(*line);
}

Result<void> Pop3Client::send_line(std::string_view line) {
  std::string wire;
  wire.reserve(line.size() + 2);
  wire.append(line).append("\r\n");
  const Wiped wipe(wire);  // the line may carry a password or a SASL response
  return transport_.write_all(wire);
}

Result<Reply> Pop3Client::greeting() {
  auto reply = read_reply();
  if (!reply) return reply.error();
  if (!reply->ok) return reply_error(*reply, "connection", errc::temporary_failure);
  return reply;
}

Result<Reply> Pop3Client::command(std::string_view line) {
  if (auto sent = send_line(line); !sent) return sent.error();
  return read_reply();
}

Result<std::string> Pop3Client::exchange(std::string_view line) {
  if (auto sent = send_line(line); !sent) return sent.error();
  auto reply = next_line();
  if (!reply) return reply.error();
  return std::string(*reply);
}

Result<Reply> Pop3Client::expect_ok(std::string_view line, std::string_view what, errc fallback) {
  auto reply = command(line);
  if (!reply) return reply.error();
  if (!reply->ok) return reply_error(*reply, what, fallback);
  return reply;
}

Result<std::vector<std::string>> Pop3Client::read_listing() {
  std::vector<std::string> lines;
  for (;;) {
    auto line = next_line(Framing::strict);
    if (!line) return line.error();
    const auto content = unstuff_line(*line);
    if (!content) return lines;
    lines.emplace_back(*content);
  }
}

Result<std::optional<Capabilities>> Pop3Client::capa() {
  auto reply = command("CAPA");
  if (!reply) return reply.error();
  if (!reply->ok) return std::optional<Capabilities>();
  auto lines = read_listing();
  if (!lines) return lines.error();
  return std::optional<Capabilities>(Capabilities::parse(*lines));
}

Result<void> Pop3Client::stls() {
  auto reply = expect_ok("STLS", "STLS", errc::permanent_failure);
  if (!reply) return reply.error();
  if (has_buffered_input()) {
    return protocol_error("the server sent data after accepting STLS; refusing to continue");
  }
  return transport_.start_tls();
}

Result<AuthMethod> Pop3Client::login(AuthMethod method, const std::optional<Capabilities>& caps,
                                     std::string_view user, std::string_view password) {
  if (method == AuthMethod::automatic) {
    method = AuthMethod::user_pass;
    if (caps && caps->sasl("PLAIN")) method = AuthMethod::plain;
    if (caps && caps->sasl("SCRAM-SHA-256") && scram_available()) {
      method = AuthMethod::scram_sha_256;
    }
  }
  Result<void> done;
  switch (method) {
    case AuthMethod::scram_sha_256:
      done = login_scram(user, password);
      break;
    case AuthMethod::plain:
      done = login_plain(user, password);
      break;
    case AuthMethod::automatic:
    case AuthMethod::user_pass:
      done = login_user_pass(user, password);
      break;
  }
  if (!done) return done.error();
  return method;
}

Result<void> Pop3Client::login_user_pass(std::string_view user, std::string_view password) {
  if (auto r = expect_ok("USER " + std::string(user), "USER", errc::auth_failed); !r) {
    return r.error();
  }
  std::string line = "PASS ";
  const Wiped wipe(line);
  line.append(password);
  if (auto r = expect_ok(line, "PASS", errc::auth_failed); !r) return r.error();
  return {};
}

namespace {

// "+ text" or a bare "+": a SASL challenge (RFC 5034 §4), as opposed to "+OK".
std::optional<std::string_view> continuation(std::string_view line) {
  if (line == "+") return std::string_view();
  if (line.starts_with("+ ")) return line.substr(2);
  return std::nullopt;
}

}  // namespace

Result<void> Pop3Client::login_plain(std::string_view user, std::string_view password) {
  // The initial response goes on its own line: RFC 5034 lets servers cap the AUTH command line
  // at 255 octets, which a long password in base64 can exceed.
  if (auto sent = send_line("AUTH PLAIN"); !sent) return sent.error();
  auto line = next_line();
  if (!line) return line.error();
  if (!continuation(*line)) {
    auto reply = parse_reply(*line);
    if (!reply) return reply.error();
    if (reply->ok) return protocol_error("the server accepted AUTH PLAIN without credentials");
    return reply_error(*reply, "AUTH PLAIN", errc::auth_failed);
  }
  std::string message;
  const Wiped wipe_message(message);
  message.push_back('\0');
  message.append(user).push_back('\0');
  message.append(password);
  std::string encoded = sasl::encode_base64(message);
  const Wiped wipe_encoded(encoded);
  if (auto r = expect_ok(encoded, "AUTH PLAIN", errc::auth_failed); !r) return r.error();
  return {};
}

Result<void> Pop3Client::login_scram(std::string_view user, std::string_view password) {
  auto scram = ScramSession::start(user, password);
  if (!scram) return scram.error();
  if (auto sent = send_line("AUTH SCRAM-SHA-256"); !sent) return sent.error();
  // client-first, client-final, the empty answer to server-final, and slack for one more.
  constexpr int kMaxRounds = 4;
  for (int round = 0; round < kMaxRounds; ++round) {
    auto line = next_line();
    if (!line) return line.error();
    const auto challenge = continuation(*line);
    if (!challenge) {
      auto reply = parse_reply(*line);
      if (!reply) return reply.error();
      if (!reply->ok) return reply_error(*reply, "AUTH SCRAM-SHA-256", errc::auth_failed);
      if (!scram->complete()) {
        return make_error(errc::auth_failed,
                          "the server ended SCRAM-SHA-256 without proving it knows the password");
      }
      return {};
    }
    auto response = scram->step(*challenge);
    if (!response) {
      // RFC 5034 §4: "*" cancels the exchange; the server answers -ERR.
      if (auto cancelled = command("*"); !cancelled) return cancelled.error();
      return response.error();
    }
    if (auto sent = send_line(*response); !sent) return sent.error();
  }
  return protocol_error("the server kept the SCRAM-SHA-256 exchange going too long");
}

Result<std::vector<ListingEntry>> Pop3Client::uidl() {
  if (auto r = expect_ok("UIDL", "UIDL", errc::permanent_failure); !r) return r.error();
  auto lines = read_listing();
  if (!lines) return lines.error();
  std::vector<ListingEntry> entries;
  entries.reserve(lines->size());
  for (const auto& line : *lines) {
    auto entry = parse_uidl_line(line);
    if (!entry) return entry.error();
    entries.push_back(std::move(*entry));
  }
  return entries;
}

Result<std::vector<std::pair<std::uint64_t, std::uint64_t>>> Pop3Client::list() {
  if (auto r = expect_ok("LIST", "LIST", errc::permanent_failure); !r) return r.error();
  auto lines = read_listing();
  if (!lines) return lines.error();
  std::vector<std::pair<std::uint64_t, std::uint64_t>> entries;
  entries.reserve(lines->size());
  for (const auto& line : *lines) {
    auto entry = parse_list_line(line);
    if (!entry) return entry.error();
    entries.push_back(*entry);
  }
  return entries;
}

Result<Reply> Pop3Client::retrieve(std::uint64_t number, std::string& message,
                                   const std::function<void(std::size_t)>& on_bytes) {
  message.clear();
  auto reply = command("RETR " + std::to_string(number));
  if (!reply || !reply->ok) return reply;
  for (;;) {
    auto next = next_line(Framing::strict);
    if (!next) return next.error();
    if (on_bytes) on_bytes(next->size() + 2);
    const auto content = unstuff_line(*next);
    if (!content) return reply;
    message.append(*content).push_back('\n');
  }
}

Result<Reply> Pop3Client::dele(std::uint64_t number) {
  return command("DELE " + std::to_string(number));
}

Result<void> Pop3Client::quit() {
  if (auto r = expect_ok("QUIT", "QUIT", errc::temporary_failure); !r) return r.error();
  return {};
}

}  // namespace mailport::client
