// Who still logs in over port 110, from the server's log: every successful `event=login` line
// names the listener (pop3 = port 110, pop3s = 995) and the TLS version ("none" without TLS), so
// admins can contact those users before switching 110 off (docs/migrating-to-995.md).
#pragma once

#include <cstddef>
#include <map>
#include <string>
#include <string_view>

namespace mailport::migrate {

struct UserLogins {
  std::size_t plain_110 = 0;  // port 110 without TLS (plaintext_auth allowed it)
  std::size_t stls_110 = 0;   // port 110 after STLS
  std::size_t pop3s = 0;      // port 995
  std::string last_110;       // time of the latest login over 110 (either kind)
  std::string last_110_kind;  // "plain" or "stls"
  std::string last_pop3s;
};

class LoginReport {
 public:
  // `since`: ISO 8601 prefix ("2026-11-01" or "2026-11-01T08:00"); lines stamped earlier are
  // skipped. Lines without a leading timestamp are always counted.
  explicit LoginReport(std::string since = {}) : since_(std::move(since)) {}

  // Feeds one log line; anything but a successful login is ignored. Returns true if counted.
  bool add_line(std::string_view line);

  const std::map<std::string, UserLogins>& users() const { return users_; }
  std::size_t lines_counted() const { return counted_; }

 private:
  std::string since_;
  std::map<std::string, UserLogins> users_;
  std::size_t counted_ = 0;
};

// Value of `key=` in a log line: a bare word, or a quoted string with \" and \\ escapes.
// Empty when absent.
std::string log_field(std::string_view line, std::string_view key);

}  // namespace mailport::migrate
