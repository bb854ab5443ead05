// Command-line settings of mailport-bench, shared by every scenario.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace mailport::bench {

enum class TlsMode { none, implicit, stls };
enum class AuthMode { user_pass, sasl_plain };

struct Account {
  std::string user;
  std::string password;
};

struct Options {
  std::string scenario;
  std::string label;
  std::string host = "127.0.0.1";
  std::uint16_t port = 110;
  TlsMode tls = TlsMode::none;
  AuthMode auth = AuthMode::user_pass;
  std::string cafile;     // verify the server certificate when set
  std::string sni = "localhost";
  bool tls_resume = false;  // offer the last session (ticket) of the same client again
  std::vector<Account> accounts;
  unsigned clients = 8;
  unsigned threads = 1;
  double duration_s = 10;
  double warmup_s = 1;
  double op_timeout_s = 30;
  // idle
  unsigned connections = 100;
  double hold_s = 5;
  bool hold_until_stdin = false;
  // bigbox
  unsigned iterations = 3;
  std::optional<std::uint64_t> expect_messages;
  // mixed
  unsigned dele_percent = 20;
  std::string deliver_template;  // Maildir path with %u, e.g. /srv/mail/%u/Maildir
  double deliver_rate = 0;       // messages per second into deliver_template
  int deliver_uid = -1;
  int deliver_gid = -1;

  std::chrono::nanoseconds op_timeout() const {
    return std::chrono::nanoseconds(static_cast<std::int64_t>(op_timeout_s * 1e9));
  }
};

// Reads "user:password" lines; blank lines and lines starting with '#' are skipped.
std::optional<std::vector<Account>> load_accounts(const std::string& path, std::string& error);

}  // namespace mailport::bench
