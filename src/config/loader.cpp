// TOML -> Config. Every value is checked for type and syntax where it is read, so an error can
// name the line; rules that involve several keys or the filesystem live in validate.cpp.
#include <fcntl.h>
#include <fmt/format.h>
#include <toml++/toml.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "config/detail.hpp"
#include "core/unique_fd.hpp"

namespace mailport::config {
namespace {

namespace fs = std::filesystem;
using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr unsigned kMaxThreads = 1024;
// More connections than PostgreSQL servers are ever set up for: a typo, not a plan.
constexpr std::int64_t kMaxPoolSize = 10000;
// A configuration file is a few kilobytes; the cap keeps a wrong path (a device) from hanging.
constexpr std::size_t kMaxFileSize = 1 << 20;

// Where values come from: the name used in messages and the directory relative paths start at.
struct Origin {
  std::string name;
  fs::path base_dir;
};

unsigned line_of(const toml::node& node) {
  return node.source().begin.line;
}

std::string_view type_name(const toml::node& node) {
  switch (node.type()) {
    case toml::node_type::string:
      return "a string";
    case toml::node_type::integer:
      return "an integer";
    case toml::node_type::floating_point:
      return "a float";
    case toml::node_type::boolean:
      return "a boolean";
    case toml::node_type::array:
      return "an array";
    case toml::node_type::table:
      return "a table";
    default:
      return "a date or time";
  }
}

[[noreturn]] void wrong_type(const toml::node& node, std::string_view expected) {
  throw std::invalid_argument(fmt::format("expected {}, not {}", expected, type_name(node)));
}

// One TOML table and the keys the schema knows in it.
class Section {
 public:
  Section(const toml::table& table, std::string prefix, const Origin& origin,
          std::map<std::string, unsigned>& lines)
      : table_(table), prefix_(std::move(prefix)), origin_(origin), lines_(lines) {}

  const Origin& origin() const { return origin_; }

  std::string dotted(std::string_view key) const {
    return prefix_.empty() ? std::string(key) : fmt::format("{}.{}", prefix_, key);
  }

  // The node under `key` or nullptr; either way `key` is now known to this section.
  const toml::node* find(std::string_view key) {
    known_.emplace_back(key);
    const toml::node* node = table_.get(key);
    if (node != nullptr) lines_[dotted(key)] = line_of(*node);
    return node;
  }

  std::optional<Section> subsection(std::string_view key) {
    const toml::node* node = find(key);
    if (node == nullptr) return std::nullopt;
    if (!node->is_table())
      fail(*node, key, fmt::format("expected a table, not {}", type_name(*node)));
    return Section(*node->as_table(), dotted(key), origin_, lines_);
  }

  [[noreturn]] void fail(const toml::node& node, std::string_view key,
                         const std::string& message) const {
    throw ConfigError(origin_.name, line_of(node), dotted(key), message);
  }

  // A misspelt key must not be silently ignored: report the first one in file order.
  void reject_unknown() const {
    const toml::key* first = nullptr;
    for (auto&& [key, node] : table_) {
      if (std::find(known_.begin(), known_.end(), key.str()) != known_.end()) continue;
      if (first == nullptr || key.source().begin.line < first->source().begin.line) first = &key;
    }
    if (first == nullptr) return;
    throw ConfigError(origin_.name, first->source().begin.line, dotted(first->str()),
                      fmt::format("unknown key (known here: {})", fmt::join(known_, ", ")));
  }

 private:
  const toml::table& table_;
  std::string prefix_;
  const Origin& origin_;
  std::map<std::string, unsigned>& lines_;
  std::vector<std::string> known_;
};

template <class T, class Convert>
void read(Section& section, std::string_view key, T& out, Convert convert) {
  const toml::node* node = section.find(key);
  if (node == nullptr) return;
  try {
    out = convert(*node);
  } catch (const std::invalid_argument& e) {
    section.fail(*node, key, e.what());
  }
}

template <class Apply>
void read_section(Section& parent, std::string_view key, Apply apply) {
  if (std::optional<Section> section = parent.subsection(key)) {
    apply(*section);
    section->reject_unknown();
  }
}

std::string string_of(const toml::node& node) {
  if (const auto* value = node.as_string()) return value->get();
  wrong_type(node, "a string");
}

bool bool_of(const toml::node& node) {
  if (const auto* value = node.as_boolean()) return value->get();
  wrong_type(node, "true or false");
}

unsigned count_of(const toml::node& node, unsigned max) {
  const auto* value = node.as_integer();
  if (value == nullptr) wrong_type(node, "an integer");
  if (value->get() < 0 || value->get() > static_cast<std::int64_t>(max)) {
    throw std::invalid_argument(fmt::format("{} is out of range (0 to {})", value->get(), max));
  }
  return static_cast<unsigned>(value->get());
}

unsigned count_of(const toml::node& node) {
  return count_of(node, std::numeric_limits<unsigned>::max());
}

// A duration string, or an integer number of seconds.
milliseconds duration_of(const toml::node& node) {
  if (const auto* text = node.as_string()) return parse_duration(text->get());
  const auto* number = node.as_integer();
  if (number == nullptr) wrong_type(node, "a duration such as \"2s\" or a number of seconds");
  if (number->get() < 0) throw std::invalid_argument("a duration must not be negative");
  return parse_duration(fmt::format("{}s", number->get()));
}

seconds whole_seconds_of(const toml::node& node) {
  const milliseconds value = duration_of(node);
  if (value % seconds(1) != milliseconds(0)) {
    throw std::invalid_argument(
        fmt::format("\"{}\": must be a whole number of seconds", format_duration(value)));
  }
  return std::chrono::duration_cast<seconds>(value);
}

template <std::size_t N>
std::string choice_of(const toml::node& node, const std::array<std::string_view, N>& choices) {
  std::string value = string_of(node);
  if (!detail::is_one_of(value, choices)) {
    throw std::invalid_argument(
        fmt::format("\"{}\" is not one of {}", value, detail::describe_choices(choices)));
  }
  return value;
}

PlaintextAuth plaintext_auth_of(const toml::node& node) {
  return *parse_plaintext_auth(choice_of(node, detail::kPlaintextAuthValues));
}

std::optional<Endpoint> endpoint_of(const toml::node& node) {
  return parse_endpoint(string_of(node));
}

fs::path path_of(const toml::node& node, const fs::path& base_dir) {
  const fs::path path = string_of(node);
  if (path.empty()) throw std::invalid_argument("empty path; leave the key out instead");
  return path.is_absolute() ? path : (base_dir / path).lexically_normal();
}

// A mail template is a path too, unless it starts at the user's home directory. The backend
// prefix ("maildir:", "mbox:") stays in front of the resolved path.
std::string location_of(const toml::node& node, const fs::path& base_dir) {
  const std::string location = string_of(node);
  if (location.starts_with(detail::kPostgresPrefix)) {
    if (location.size() == detail::kPostgresPrefix.size()) {
      throw std::invalid_argument("empty PostgreSQL connection string after \"postgres:\"");
    }
    return location;
  }
  const std::string_view prefix = detail::location_prefix(location);
  const fs::path path = location.substr(prefix.size());
  if (path.empty()) {
    throw std::invalid_argument(prefix == detail::kMboxPrefix ? "empty mbox template"
                                                              : "empty maildir template");
  }
  if (path.is_absolute() || location.substr(prefix.size()).starts_with("%h")) return location;
  return std::string(prefix) + (base_dir / path).lexically_normal().string();
}

std::string passdb_of(const toml::node& node) {
  std::string passdb = string_of(node);
  if (!passdb.starts_with(detail::kPostgresPrefix) ||
      passdb.size() == detail::kPostgresPrefix.size()) {
    throw std::invalid_argument(
        "expected \"postgres:CONNINFO\" (leave the key out for auth.passwd)");
  }
  return passdb;
}

std::string response_text_of(const toml::node& node) {
  std::string text = string_of(node);
  detail::check_response_text(text);
  return text;
}

// EXPIRE takes "NEVER" or a number of days; TOML lets the days be an integer.
std::string expire_of(const toml::node& node) {
  if (node.is_integer()) return std::to_string(count_of(node));
  std::string text = string_of(node);
  detail::check_expire(text);
  return text == "NEVER" ? text : std::to_string(std::stoul(text));
}

// An array whose every element is a string that `element_of` checks (and may normalise).
template <class ElementOf>
std::vector<std::string> string_list_of(const toml::node& node, ElementOf element_of) {
  const toml::array* array = node.as_array();
  if (array == nullptr) {
    throw std::invalid_argument(
        fmt::format("expected an array of strings, not {}", type_name(node)));
  }
  std::vector<std::string> values;
  for (const toml::node& element : *array) values.push_back(element_of(element));
  return values;
}

// ["10.0.0.0/8", "::1"]: each entry a numeric address with an optional prefix length.
std::vector<std::string> cidr_list_of(const toml::node& node) {
  return string_list_of(node, [](const toml::node& element) {
    std::string text = string_of(element);
    detail::check_cidr(text);
    return text;
  });
}

// A relative Unix socket path follows the file like every other path.
LmtpAddress lmtp_address_of(std::string text, const fs::path& base_dir) {
  const std::string_view prefix = detail::kUnixPrefix;
  if (text.starts_with(prefix) && text.size() > prefix.size() && text[prefix.size()] != '/') {
    text =
        std::string(prefix) + (base_dir / text.substr(prefix.size())).lexically_normal().string();
  }
  std::optional<LmtpAddress> address = parse_lmtp_address(text);
  if (!address) throw std::invalid_argument("\"off\" cannot be one of several addresses");
  return *address;
}

// One address, "off", or an array of addresses (a Unix socket and a TCP port at once).
std::vector<LmtpAddress> lmtp_addresses_of(const toml::node& node, const fs::path& base_dir) {
  std::vector<LmtpAddress> addresses;
  if (const auto* text = node.as_string()) {
    if (text->get() == "off") return addresses;
    addresses.push_back(lmtp_address_of(text->get(), base_dir));
    return addresses;
  }
  const auto* array = node.as_array();
  if (array == nullptr) wrong_type(node, "a string or an array of strings");
  for (const toml::node& element : *array) {
    LmtpAddress address = lmtp_address_of(string_of(element), base_dir);
    if (std::find(addresses.begin(), addresses.end(), address) != addresses.end()) {
      throw std::invalid_argument(
          fmt::format("\"{}\" is listed twice", format_lmtp_address(address)));
    }
    addresses.push_back(std::move(address));
  }
  return addresses;
}

std::uint64_t size_of(const toml::node& node) {
  if (const auto* text = node.as_string()) return parse_size(text->get());
  const auto* number = node.as_integer();
  if (number == nullptr) wrong_type(node, "a size such as \"50M\" or a number of bytes");
  if (number->get() < 0) throw std::invalid_argument("a size must not be negative");
  return static_cast<std::uint64_t>(number->get());
}

// TOML writes octal integers as 0o660; a decimal 660 is almost certainly a mistake.
unsigned mode_of(const toml::node& node) {
  const auto* value = node.as_integer();
  if (value == nullptr) wrong_type(node, "an octal integer such as 0o660");
  if (value->get() < 0 || value->get() > detail::kMaxSocketMode) {
    throw std::invalid_argument(fmt::format(
        "{} is not a file mode; write it in octal, 0o000 to 0o777 (e.g. 0o660)", value->get()));
  }
  return static_cast<unsigned>(value->get());
}

std::vector<std::string> mechanism_list_of(const toml::node& node) {
  return string_list_of(node, [](const toml::node& element) {
    std::string name = string_of(element);
    for (char& c : name) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    if (!detail::is_one_of(name, detail::kSaslMechanisms)) {
      throw std::invalid_argument(fmt::format("\"{}\" is not one of {}", name,
                                              detail::describe_choices(detail::kSaslMechanisms)));
    }
    return name;
  });
}

std::vector<std::string> workaround_list_of(const toml::node& node) {
  return string_list_of(node, [](const toml::node& element) {
    return choice_of(element, detail::kClientWorkarounds);
  });
}

void read_root(Section& root, Config& config) {
  const fs::path& base = root.origin().base_dir;
  read(root, "data_dir", config.data_dir, [&](const toml::node& n) { return path_of(n, base); });
  read(root, "threads", config.threads,
       [](const toml::node& n) { return count_of(n, kMaxThreads); });
  read(root, "log_level", config.log_level,
       [](const toml::node& n) { return choice_of(n, detail::kLogLevels); });
  read(root, "log_format", config.log_format,
       [](const toml::node& n) { return choice_of(n, detail::kLogFormats); });
}

void read_metrics(Section& section, MetricsSettings& metrics) {
  read(section, "listen", metrics.listen,
       [](const toml::node& n) { return parse_metrics_endpoint(string_of(n)); });
}

void read_listen(Section& section, ListenerSettings& listen) {
  read(section, "pop3", listen.pop3, endpoint_of);
  read(section, "pop3s", listen.pop3s, endpoint_of);
  read(section, "proxy_trusted", listen.proxy_trusted, cidr_list_of);
}

// [[tls.certificates]] (or an array of inline tables): each entry a cert and a key path.
std::vector<CertificatePair> certificates_of(const toml::node& node, const fs::path& base_dir) {
  const toml::array* array = node.as_array();
  if (array == nullptr) wrong_type(node, "an array of tables with cert and key");
  std::vector<CertificatePair> pairs;
  for (const toml::node& element : *array) {
    const toml::table* table = element.as_table();
    if (table == nullptr) wrong_type(element, "a table with cert and key");
    CertificatePair pair;
    for (auto&& [key, value] : *table) {
      if (key.str() != "cert" && key.str() != "key") {
        throw std::invalid_argument(
            fmt::format("unknown key \"{}\" in an entry (known: cert, key)", key.str()));
      }
      (key.str() == "cert" ? pair.cert : pair.key) = path_of(value, base_dir);
    }
    if (pair.cert.empty() || pair.key.empty()) {
      throw std::invalid_argument("every entry needs both cert and key");
    }
    pairs.push_back(std::move(pair));
  }
  return pairs;
}

void read_tls(Section& section, TlsSettings& tls) {
  const fs::path& base = section.origin().base_dir;
  read(section, "cert", tls.cert, [&](const toml::node& n) { return path_of(n, base); });
  read(section, "key", tls.key, [&](const toml::node& n) { return path_of(n, base); });
  read(section, "min_version", tls.min_version,
       [](const toml::node& n) { return choice_of(n, detail::kTlsVersions); });
  read(section, "ciphers", tls.ciphers, string_of);
  read(section, "certificates", tls.certificates,
       [&](const toml::node& n) { return certificates_of(n, base); });
  read(section, "ticket_key_rotation", tls.ticket_key_rotation, whole_seconds_of);
}

void read_privileges(Section& section, PrivilegeSettings& privileges) {
  const fs::path& base = section.origin().base_dir;
  read(section, "user", privileges.user, string_of);
  read(section, "group", privileges.group, string_of);
  read(section, "chroot", privileges.chroot, [&](const toml::node& n) { return path_of(n, base); });
}

void read_auth(Section& section, AuthSettings& auth) {
  const fs::path& base = section.origin().base_dir;
  read(section, "passwd", auth.passwd, [&](const toml::node& n) { return path_of(n, base); });
  read(section, "passdb", auth.passdb, passdb_of);
  read(section, "plaintext_auth", auth.plaintext_auth, plaintext_auth_of);
  read(section, "apop", auth.apop, bool_of);
  read(section, "failure_delay", auth.failure_delay, duration_of);
  read(section, "max_attempts", auth.max_attempts, [](const toml::node& n) { return count_of(n); });
  read(section, "max_failure_delay", auth.max_failure_delay, duration_of);
  read(section, "ban_after_failures", auth.ban_after_failures,
       [](const toml::node& n) { return count_of(n); });
  read(section, "failure_window", auth.failure_window, whole_seconds_of);
  read(section, "ban_duration", auth.ban_duration, whole_seconds_of);
  read(section, "trusted_networks", auth.trusted_networks, cidr_list_of);
  read(section, "rehash", auth.rehash, bool_of);
  read(section, "credential_cache_ttl", auth.credential_cache_ttl, whole_seconds_of);
  read(section, "mechanisms", auth.mechanisms, mechanism_list_of);
}

void read_limits(Section& section, LimitsSettings& limits) {
  read(section, "max_connections", limits.max_connections,
       [](const toml::node& n) { return count_of(n); });
  read(section, "max_connections_per_ip", limits.max_connections_per_ip,
       [](const toml::node& n) { return count_of(n); });
}

void read_mail(Section& section, MailSettings& mail) {
  const fs::path& base = section.origin().base_dir;
  read(section, "location", mail.location,
       [&](const toml::node& n) { return location_of(n, base); });
  read(section, "lock_timeout", mail.lock_timeout, duration_of);
  read(section, "login_delay", mail.login_delay, whole_seconds_of);
  read(section, "expire", mail.expire, expire_of);
  read(section, "uidl_churn_percent", mail.uidl_churn_percent,
       [](const toml::node& n) { return count_of(n, 100); });
  read(section, "uidl_churn_min_seen", mail.uidl_churn_min_seen,
       [](const toml::node& n) { return count_of(n); });
}

void read_session(Section& section, SessionSettings& session) {
  read(section, "idle_timeout", session.idle_timeout, whole_seconds_of);
  read(section, "prelogin_timeout", session.prelogin_timeout, whole_seconds_of);
  read(section, "max_bad_commands", session.max_bad_commands,
       [](const toml::node& n) { return count_of(n); });
  read(section, "greeting", session.greeting, response_text_of);
  read(section, "implementation", session.implementation, response_text_of);
  read(section, "plaintext_refusal_hint", session.plaintext_refusal_hint, response_text_of);
  read(section, "client_workarounds", session.client_workarounds, workaround_list_of);
}

void read_postgres(Section& section, PostgresSettings& postgres) {
  read(section, "pool_size", postgres.pool_size, [](const toml::node& n) {
    const auto* value = n.as_integer();
    if (value == nullptr) wrong_type(n, "an integer");
    if (value->get() < 1 || value->get() > kMaxPoolSize) {
      throw std::invalid_argument(
          fmt::format("{} is out of range (1 to {})", value->get(), kMaxPoolSize));
    }
    return static_cast<unsigned>(value->get());
  });
}

void read_lmtp(Section& section, LmtpSettings& lmtp) {
  const fs::path& base = section.origin().base_dir;
  read(section, "listen", lmtp.listen,
       [&](const toml::node& n) { return lmtp_addresses_of(n, base); });
  read(section, "max_message_size", lmtp.max_message_size, size_of);
  read(section, "socket_mode", lmtp.socket_mode, mode_of);
  read(section, "max_recipients", lmtp.max_recipients,
       [](const toml::node& n) { return count_of(n); });
  read(section, "recipient_delimiter", lmtp.recipient_delimiter, string_of);
}

fs::path base_dir_of(std::string_view origin) {
  const fs::path parent = fs::path(origin).parent_path();
  return parent.empty() ? fs::current_path() : fs::absolute(parent).lexically_normal();
}

toml::table parse_toml(std::string_view text, const std::string& origin) {
  try {
    return toml::parse(text, std::string_view(origin));
  } catch (const toml::parse_error& e) {
    throw ConfigError(origin, e.source().begin.line, "", std::string(e.description()));
  }
}

std::string read_file(const fs::path& path) {
  const auto fail = [&](const std::string& what) {
    return ConfigError(path.string(), 0, "", fmt::format("cannot read: {}", what));
  };
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) throw fail(std::strerror(errno));
  std::string text;
  char buffer[8192];
  while (text.size() <= kMaxFileSize) {
    const ssize_t n = ::read(fd.get(), buffer, sizeof buffer);
    if (n == 0) return text;
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw fail(std::strerror(errno));
    text.append(buffer, static_cast<std::size_t>(n));
  }
  throw fail(fmt::format("larger than {} bytes", kMaxFileSize));
}

}  // namespace

Config load_string(std::string_view toml, std::string_view origin) {
  const Origin where{std::string(origin), base_dir_of(origin)};
  const toml::table document = parse_toml(toml, where.name);
  Config config = detail::file_defaults();
  config.source = where.name;
  Section root(document, "", where, config.lines);
  read_root(root, config);
  read_section(root, "listen", [&](Section& s) { read_listen(s, config.listen); });
  read_section(root, "tls", [&](Section& s) { read_tls(s, config.tls); });
  read_section(root, "auth", [&](Section& s) { read_auth(s, config.auth); });
  read_section(root, "mail", [&](Section& s) { read_mail(s, config.mail); });
  read_section(root, "session", [&](Section& s) { read_session(s, config.session); });
  read_section(root, "lmtp", [&](Section& s) { read_lmtp(s, config.lmtp); });
  read_section(root, "limits", [&](Section& s) { read_limits(s, config.limits); });
  read_section(root, "privileges", [&](Section& s) { read_privileges(s, config.privileges); });
  read_section(root, "metrics", [&](Section& s) { read_metrics(s, config.metrics); });
  read_section(root, "postgres", [&](Section& s) { read_postgres(s, config.postgres); });
  root.reject_unknown();
  return config;
}

Config load_file(const std::filesystem::path& path) {
  return load_string(read_file(path), path.string());
}

}  // namespace mailport::config
