// A POP3 client (RFC 1939, 2449, 2595, 5034) over any Transport: one command at a time, every
// reply checked, multi-line responses un-byte-stuffed. Blocking; thread-compatible.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "client/reply.hpp"
#include "client/transport.hpp"
#include "core/result.hpp"

namespace mailport::client {

enum class AuthMethod { automatic, scram_sha_256, plain, user_pass };
std::string_view to_string(AuthMethod method);                       // "auto", "scram-sha-256", ...
std::optional<AuthMethod> parse_auth_method(std::string_view name);  // the same names

// Longest line accepted from the server. Real mail keeps lines under 1000 octets (RFC 5322),
// but broken messages exist and must still be fetched.
inline constexpr std::size_t kMaxServerLine = 4 * 1024 * 1024;

class Pop3Client {
 public:
  explicit Pop3Client(Transport& transport) : transport_(transport) {}

  // The server's greeting; a -ERR greeting is an error.
  Result<Reply> greeting();
  // Sends `line` + CRLF and reads the status line. A -ERR reply is a value, not an error.
  Result<Reply> command(std::string_view line);
  // Sends `line` + CRLF and returns the first response line as it came (for SASL
  // continuations, which are neither +OK nor -ERR).
  Result<std::string> exchange(std::string_view line);
  // The lines of the multi-line response whose +OK was just read, un-byte-stuffed.
  Result<std::vector<std::string>> read_listing();

  // nullopt when the server does not know CAPA (-ERR).
  Result<std::optional<Capabilities>> capa();
  // STLS, then the TLS handshake. Bytes the server sent after its +OK in plaintext are an error:
  // they would be read as if they came through TLS.
  Result<void> stls();

  // Logs in with `method`; `automatic` picks SCRAM-SHA-256, then SASL PLAIN, then USER/PASS from
  // `caps`. Returns the method used.
  Result<AuthMethod> login(AuthMethod method, const std::optional<Capabilities>& caps,
                           std::string_view user, std::string_view password);
  Result<void> login_user_pass(std::string_view user, std::string_view password);
  Result<void> login_plain(std::string_view user, std::string_view password);
  // RFC 7677 with GNU SASL; the server's final message is verified, so success also proves the
  // server knows the password.
  Result<void> login_scram(std::string_view user, std::string_view password);

  Result<std::vector<ListingEntry>> uidl();
  Result<std::vector<std::pair<std::uint64_t, std::uint64_t>>> list();  // number, octets
  // RETR: the message with LF line ends (as Unix mail stores keep it) when the reply is +OK.
  // A -ERR reply (message gone, server trouble) is returned as a value; `on_bytes` sees the
  // octets as they arrive.
  Result<Reply> retrieve(std::uint64_t number, std::string& message,
                         const std::function<void(std::size_t)>& on_bytes = {});
  // DELE; a -ERR reply is a value.
  Result<Reply> dele(std::uint64_t number);
  // Ends the session; in TRANSACTION state this commits the deletions (RFC 1939 UPDATE).
  Result<void> quit();

  // Whether the server has sent bytes that were not read yet.
  bool has_buffered_input() const { return start_ < buffer_.size(); }

 private:
  // Status lines also end at a bare LF (some servers send them); inside a multi-line response
  // only CRLF ends a line, so a bare LF in a message cannot fake a line start or the final ".".
  enum class Framing { lenient, strict };
  // The next line without its line end; valid until the next read.
  Result<std::string_view> next_line(Framing framing = Framing::lenient);
  Result<Reply> read_reply();
  Result<Reply> expect_ok(std::string_view line, std::string_view what, errc fallback);
  Result<void> send_line(std::string_view line);

  Transport& transport_;
  std::string buffer_;
  std::size_t start_ = 0;
};

}  // namespace mailport::client
