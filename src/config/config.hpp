// The server's configuration: plain structs, filled from the embedded defaults, then a TOML file,
// then command-line flags (in the CLI). Every key is documented in docs/configuration.md.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace mailport::config {

struct Endpoint {
  std::string address;     // numeric IPv4 or IPv6 (without brackets)
  std::uint16_t port = 0;  // 0 = any free port (for tests)

  bool operator==(const Endpoint&) const = default;
};

// "ADDR:PORT", "[v6]:PORT" or "off" (-> nullopt). Throws ConfigError-free std::invalid_argument
// with a message naming what is wrong.
std::optional<Endpoint> parse_endpoint(std::string_view text);
std::string format_endpoint(const std::optional<Endpoint>& endpoint);
// Like parse_endpoint, and a bare "PORT" means 127.0.0.1:PORT: the metrics listener has no
// authentication, so the short form stays on loopback. Throws std::invalid_argument.
std::optional<Endpoint> parse_metrics_endpoint(std::string_view text);

// "500ms", "2s", "10m", "1h" (at most 365 days). Throws std::invalid_argument.
std::chrono::milliseconds parse_duration(std::string_view text);
// The largest unit that represents `value` exactly, so parse_duration(format_duration(d)) == d.
std::string format_duration(std::chrono::milliseconds value);

// A size in bytes: "1048576", "512K", "50M" or "1G" (binary multiples). Throws
// std::invalid_argument.
std::uint64_t parse_size(std::string_view text);
// The largest unit that represents `bytes` exactly, so parse_size(format_size(n)) == n.
std::string format_size(std::uint64_t bytes);

// Where the LMTP listener accepts connections: a Unix socket or a TCP endpoint.
struct LmtpAddress {
  std::filesystem::path unix_path;  // set for "unix:PATH"
  std::optional<Endpoint> tcp;      // set for "ADDR:PORT" / "[v6]:PORT"

  bool operator==(const LmtpAddress&) const = default;
};

// "unix:/ABSOLUTE/PATH", "ADDR:PORT", "[v6]:PORT" or "off" (-> nullopt). Throws
// std::invalid_argument.
std::optional<LmtpAddress> parse_lmtp_address(std::string_view text);
std::string format_lmtp_address(const LmtpAddress& address);

enum class PlaintextAuth { never, loopback, always };
std::optional<PlaintextAuth> parse_plaintext_auth(std::string_view text);
std::string_view to_string(PlaintextAuth value);

struct ListenerSettings {
  std::optional<Endpoint> pop3;   // plain POP3 with STLS; nullopt = off
  std::optional<Endpoint> pop3s;  // implicit TLS
  // Embedded default only: if the privileged port cannot be bound, use this one instead.
  std::optional<std::uint16_t> pop3_fallback_port;
  std::optional<std::uint16_t> pop3s_fallback_port;
  // Load balancers whose connections (on every listener, LMTP over TCP included) must start with
  // a PROXY protocol header naming the real client. Empty = no PROXY protocol.
  std::vector<std::string> proxy_trusted;

  bool operator==(const ListenerSettings&) const = default;
};

// One more certificate chosen by SNI against its DNS names (an RSA one beside an ECDSA one).
struct CertificatePair {
  std::filesystem::path cert;
  std::filesystem::path key;

  bool operator==(const CertificatePair&) const = default;
};

struct TlsSettings {
  std::filesystem::path cert;  // PEM chain
  std::filesystem::path key;   // PEM private key
  std::string min_version = "TLSv1.2";
  std::string ciphers;  // TLS 1.2 cipher list; empty = mailport's modern default
  std::vector<CertificatePair> certificates;
  // A new session-ticket key this often; a ticket is accepted for up to twice as long. 0 = no
  // session tickets.
  std::chrono::seconds ticket_key_rotation{3600};

  bool operator==(const TlsSettings&) const = default;
};

struct AuthSettings {
  std::filesystem::path passwd;
  // "postgres:CONNINFO": users in PostgreSQL instead of the passwd file; empty = the file.
  std::string passdb;
  PlaintextAuth plaintext_auth = PlaintextAuth::never;
  bool apop = false;
  std::chrono::milliseconds failure_delay{2000};  // before answering a failed login
  unsigned max_attempts = 3;                      // failed logins per connection, then close
  // The delay doubles with each failure from the same address, up to this.
  std::chrono::milliseconds max_failure_delay{15000};
  unsigned ban_after_failures = 50;  // failures from one address within failure_window; 0 = never
  std::chrono::seconds failure_window{600};
  std::chrono::seconds ban_duration{600};
  // CIDRs exempt from the plaintext policy, penalties, bans and per-address caps.
  std::vector<std::string> trusted_networks;
  bool rehash = false;  // upgrade weaker stored hashes to ARGON2ID at login
  // How long a verified user+password pair skips the stored hash; 0 = never (the default).
  std::chrono::seconds credential_cache_ttl{0};
  // SASL mechanisms offered by AUTH (RFC 5034), in CAPA order.
  std::vector<std::string> mechanisms = {"PLAIN", "LOGIN", "SCRAM-SHA-256", "SCRAM-SHA-1"};

  bool operator==(const AuthSettings&) const = default;
};

struct LimitsSettings {
  unsigned max_connections = 10000;      // open connections, whole server
  unsigned max_connections_per_ip = 50;  // per client address (IPv6: per /64)

  bool operator==(const LimitsSettings&) const = default;
};

struct MailSettings {
  // Template with %u %n %d %h; "maildir:" or "mbox:" picks the backend; "postgres:CONNINFO"
  // stores the mail in PostgreSQL.
  std::string location;
  std::chrono::milliseconds lock_timeout{5000};
  std::optional<std::chrono::seconds> login_delay;  // announced in CAPA and enforced
  std::optional<std::string> expire;                // CAPA EXPIRE: "NEVER" or a number of days
  // UIDL churn alarm (Maildir, mbox): warn when more than this percentage of the UIDLs a client saw
  // last time is gone without a DELE, if it saw at least uidl_churn_min_seen. 0 = off.
  unsigned uidl_churn_percent = 50;
  unsigned uidl_churn_min_seen = 20;

  bool operator==(const MailSettings&) const = default;
};

// Mail in over LMTP (RFC 2033) from the local MTA. LMTP has no authentication, so TCP listeners
// must be on a loopback address; a Unix socket's access is governed by socket_mode and the
// permissions of its directory.
struct LmtpSettings {
  std::vector<LmtpAddress> listen;                       // empty = no LMTP listener
  std::uint64_t max_message_size = 50ull * 1024 * 1024;  // SIZE; also `deliver`'s input limit
  unsigned socket_mode = 0666;                           // permissions of Unix sockets
  unsigned max_recipients = 1000;                        // RCPT TO per transaction
  // Cut from the local part before the user lookup ("+" makes alice+lists@ alice@); empty = off.
  std::string recipient_delimiter;

  bool operator==(const LmtpSettings&) const = default;
};

// Started as root, the server binds its ports and then runs as `user` (the virtual-mail user that
// owns every maildrop), optionally confined to `chroot`.
struct PrivilegeSettings {
  std::string user;              // name or numeric uid; empty = keep the starting user
  std::string group;             // name or numeric gid; empty = the user's primary group
  std::filesystem::path chroot;  // empty = none

  bool operator==(const PrivilegeSettings&) const = default;
};

struct SessionSettings {
  std::chrono::seconds idle_timeout{600};  // authenticated; RFC 1939 requires >= 10 min
  std::chrono::seconds prelogin_timeout{60};
  unsigned max_bad_commands = 20;
  std::string greeting = "mailport ready.";
  std::optional<std::string> implementation;  // CAPA IMPLEMENTATION; leaks the version
  // Appended to the -ERR a plaintext login gets before TLS on port 110: tells users what to
  // change while 110 is being retired (docs/migrating-to-995.md). Empty: nothing appended.
  std::string plaintext_refusal_hint = "Set your mail program to port 995 with SSL/TLS.";
  // Off by default: "outlook-no-nuls", "oe-ns-eoh" (docs/compatibility.md).
  std::vector<std::string> client_workarounds;

  bool operator==(const SessionSettings&) const = default;
};

// The Prometheus scrape endpoint (/metrics, /healthz); unauthenticated, so loopback by default.
struct MetricsSettings {
  std::optional<Endpoint> listen;  // nullopt = off

  bool operator==(const MetricsSettings&) const = default;
};

// The PostgreSQL backends ("postgres:CONNINFO" in mail.location and auth.passdb).
struct PostgresSettings {
  // Connections one instance opens to one database at most. Every open POP3 session holds one
  // (it carries the maildrop's lock), so this also caps the instance's concurrent sessions.
  unsigned pool_size = 64;

  bool operator==(const PostgresSettings&) const = default;
};

struct Config {
  std::string source = "<embedded default>";  // file the values came from, for messages
  std::filesystem::path data_dir;             // embedded default's self-contained directory
  bool embedded_default = false;  // bootstrap missing cert/passwd/demo account in data_dir
  ListenerSettings listen;
  TlsSettings tls;
  AuthSettings auth;
  MailSettings mail;
  SessionSettings session;
  LmtpSettings lmtp;
  LimitsSettings limits;
  PrivilegeSettings privileges;
  MetricsSettings metrics;
  PostgresSettings postgres;
  unsigned threads = 0;  // I/O threads; 0 = one per core
  std::string log_level = "info";
  // "text" (key=value words, what the fail2ban filter reads) or "json" (one object per line).
  std::string log_format = "text";
  // Dotted key ("auth.passwd") -> line in `source` it was read from, so validate() can point at
  // it. Whoever overrides a field afterwards (a command-line flag) should erase its entry.
  std::map<std::string, unsigned> lines;
};

// A configuration mistake, located. what() is "file:line: key: message" (line omitted if 0).
class ConfigError : public std::runtime_error {
 public:
  ConfigError(std::string file, unsigned line, std::string key, std::string message);
  const std::string& file() const { return file_; }
  unsigned line() const { return line_; }
  const std::string& key() const { return key_; }

 private:
  std::string file_;
  unsigned line_;
  std::string key_;
};

// The configuration `mailport serve` uses without --config: everything under `data_dir`,
// listening on 127.0.0.1 (110/995, falling back to 1110/1995).
Config embedded_default(const std::filesystem::path& data_dir);

// Reads a TOML file over the embedded defaults (without their paths and fallback ports). Unknown
// keys, wrong types and malformed values throw ConfigError with the file and line; relative paths
// are resolved against the directory of the file (for load_string: of `origin`). Keys that a file
// must give are checked by validate(), after command-line flags had their say.
Config load_file(const std::filesystem::path& path);
Config load_string(std::string_view toml, std::string_view origin);

// Checks cross-field rules and the files the config names (readable cert/key, matching pair,
// readable passwd file, a usable mail template). Throws ConfigError.
void validate(const Config& config);

// The subset of validate() that `mailport deliver` needs: the passwd file, the mail location and
// the LMTP limits (which bound its input). Listeners and TLS are not looked at. Throws
// ConfigError.
void validate_delivery(const Config& config);

// The effective configuration as TOML, secrets hidden, for `mailport config check`.
std::string to_toml(const Config& config);

// Hides passwords in a value: the password of URI userinfo ("scheme://user:****@host") and the
// value of password=, passwd=, pwd= and secret= (case-insensitive).
std::string mask_secrets(std::string_view text);

}  // namespace mailport::config
