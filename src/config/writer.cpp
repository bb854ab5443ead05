// Config -> TOML, in the order and with the key names docs/configuration.md uses. Values are
// quoted by toml++ so the output always parses; keys without a value become comments.
#include <fmt/format.h>
#include <toml++/toml.h>

#include <sstream>
#include <vector>

#include "config/config.hpp"
#include "config/detail.hpp"

namespace mailport::config {
namespace {

class TomlWriter {
 public:
  void section(std::string_view name) { out_ << '\n' << '[' << name << "]\n"; }

  void string(std::string_view key, std::string_view value) {
    // Basic strings only: one quoting style throughout, as in the documentation.
    const toml::value<std::string> node(mask_secrets(value));
    out_ << key << " = " << toml::toml_formatter(node, toml::format_flags::none) << '\n';
  }
  // An empty value is shown as a comment saying what that means.
  void string(std::string_view key, std::string_view value, std::string_view unset) {
    if (value.empty()) return comment(key, unset);
    string(key, value);
  }
  void path(std::string_view key, const std::filesystem::path& value, std::string_view unset) {
    string(key, value.string(), unset);
  }
  void certificates(std::string_view key, const std::vector<CertificatePair>& pairs) {
    out_ << key << " = [";
    for (std::size_t i = 0; i < pairs.size(); ++i) {
      out_ << (i ? ", " : "") << "{ cert = " << quoted(pairs[i].cert.string())
           << ", key = " << quoted(pairs[i].key.string()) << " }";
    }
    out_ << "]\n";
  }
  void octal(std::string_view key, unsigned value) {
    out_ << key << " = 0o" << fmt::format("{:o}", value) << '\n';
  }
  void integer(std::string_view key, std::int64_t value) {
    out_ << key << " = " << toml::value<std::int64_t>(value) << '\n';
  }
  void boolean(std::string_view key, bool value) {
    out_ << key << " = " << (value ? "true" : "false") << '\n';
  }
  void strings(std::string_view key, const std::vector<std::string>& values) {
    toml::array array;
    for (const auto& value : values) array.push_back(mask_secrets(value));
    out_ << key << " = " << toml::toml_formatter(array, toml::format_flags::none) << '\n';
  }
  void duration(std::string_view key, std::chrono::milliseconds value) {
    string(key, format_duration(value));
  }
  void comment(std::string_view key, std::string_view why) {
    out_ << "# " << key << ": " << why << '\n';
  }
  // A comment ends at a line break, so one inside `text` (a strange file name) is neutralised.
  void note(std::string_view text) {
    out_ << "# ";
    for (char c : text) out_ << (c == '\n' || c == '\r' ? ' ' : c);
    out_ << '\n';
  }

  std::string text() const { return out_.str(); }

  static std::string quoted(std::string_view value) {
    std::ostringstream out;
    out << toml::toml_formatter(toml::value<std::string>(mask_secrets(value)),
                                toml::format_flags::none);
    return out.str();
  }

 private:
  std::ostringstream out_;
};

bool is_days(const std::string& expire) {
  try {
    detail::check_expire(expire);
    return expire != "NEVER";
  } catch (const std::invalid_argument&) {
    return false;
  }
}

void write_root(TomlWriter& out, const Config& config) {
  out.note(fmt::format("Effective configuration from {}", config.source));
  out.path("data_dir", config.data_dir, "not set");
  out.integer("threads", config.threads);
  out.string("log_level", config.log_level);
  out.string("log_format", config.log_format);
}

void write_metrics(TomlWriter& out, const MetricsSettings& metrics) {
  out.section("metrics");
  out.string("listen", format_endpoint(metrics.listen));
}

void write_postgres(TomlWriter& out, const PostgresSettings& postgres) {
  out.section("postgres");
  out.integer("pool_size", postgres.pool_size);
}

void write_listen(TomlWriter& out, const ListenerSettings& listen) {
  out.section("listen");
  out.string("pop3", format_endpoint(listen.pop3));
  if (listen.pop3_fallback_port) {
    out.note(
        fmt::format("pop3 falls back to port {} if it cannot bind", *listen.pop3_fallback_port));
  }
  out.string("pop3s", format_endpoint(listen.pop3s));
  if (listen.pop3s_fallback_port) {
    out.note(
        fmt::format("pop3s falls back to port {} if it cannot bind", *listen.pop3s_fallback_port));
  }
  out.strings("proxy_trusted", listen.proxy_trusted);
}

void write_tls(TomlWriter& out, const TlsSettings& tls) {
  out.section("tls");
  out.path("cert", tls.cert, "not set (no TLS)");
  out.path("key", tls.key, "not set (no TLS)");
  out.string("min_version", tls.min_version);
  out.string("ciphers", tls.ciphers);
  out.certificates("certificates", tls.certificates);
  out.duration("ticket_key_rotation", tls.ticket_key_rotation);
}

void write_privileges(TomlWriter& out, const PrivilegeSettings& privileges) {
  out.section("privileges");
  out.string("user", privileges.user, "not set (keep the starting user)");
  out.string("group", privileges.group, "not set (the user's primary group)");
  out.path("chroot", privileges.chroot, "not set");
}

void write_auth(TomlWriter& out, const AuthSettings& auth) {
  out.section("auth");
  out.path("passwd", auth.passwd, "not set");
  out.string("passdb", auth.passdb, "not set (users from auth.passwd)");
  out.string("plaintext_auth", to_string(auth.plaintext_auth));
  out.boolean("apop", auth.apop);
  out.duration("failure_delay", auth.failure_delay);
  out.integer("max_attempts", auth.max_attempts);
  out.duration("max_failure_delay", auth.max_failure_delay);
  out.integer("ban_after_failures", auth.ban_after_failures);
  out.duration("failure_window", auth.failure_window);
  out.duration("ban_duration", auth.ban_duration);
  out.strings("trusted_networks", auth.trusted_networks);
  out.boolean("rehash", auth.rehash);
  out.duration("credential_cache_ttl", auth.credential_cache_ttl);
  out.strings("mechanisms", auth.mechanisms);
}

void write_limits(TomlWriter& out, const LimitsSettings& limits) {
  out.section("limits");
  out.integer("max_connections", limits.max_connections);
  out.integer("max_connections_per_ip", limits.max_connections_per_ip);
}

void write_mail(TomlWriter& out, const MailSettings& mail) {
  out.section("mail");
  out.string("location", mail.location, "not set");
  out.duration("lock_timeout", mail.lock_timeout);
  if (mail.login_delay) {
    out.duration("login_delay", *mail.login_delay);
  } else {
    out.comment("login_delay", "not set (not announced)");
  }
  if (!mail.expire) {
    out.comment("expire", "not set (not announced)");
  } else if (is_days(*mail.expire)) {
    out.integer("expire", std::stoll(*mail.expire));
  } else {
    out.string("expire", *mail.expire);
  }
  out.integer("uidl_churn_percent", mail.uidl_churn_percent);
  out.integer("uidl_churn_min_seen", mail.uidl_churn_min_seen);
}

void write_session(TomlWriter& out, const SessionSettings& session) {
  out.section("session");
  out.duration("idle_timeout", session.idle_timeout);
  out.duration("prelogin_timeout", session.prelogin_timeout);
  out.integer("max_bad_commands", session.max_bad_commands);
  out.string("greeting", session.greeting);
  if (session.implementation) {
    out.string("implementation", *session.implementation);
  } else {
    out.comment("implementation", "not set (not announced)");
  }
  out.strings("client_workarounds", session.client_workarounds);
  out.string("plaintext_refusal_hint", session.plaintext_refusal_hint);
}

void write_lmtp(TomlWriter& out, const LmtpSettings& lmtp) {
  out.section("lmtp");
  if (lmtp.listen.empty()) {
    out.string("listen", "off");
  } else {
    std::vector<std::string> addresses;
    for (const LmtpAddress& address : lmtp.listen)
      addresses.push_back(format_lmtp_address(address));
    out.strings("listen", addresses);
  }
  out.string("max_message_size", format_size(lmtp.max_message_size));
  out.octal("socket_mode", lmtp.socket_mode);
  out.integer("max_recipients", lmtp.max_recipients);
  out.string("recipient_delimiter", lmtp.recipient_delimiter);
}

}  // namespace

std::string to_toml(const Config& config) {
  TomlWriter out;
  write_root(out, config);
  write_listen(out, config.listen);
  write_tls(out, config.tls);
  write_auth(out, config.auth);
  write_mail(out, config.mail);
  write_session(out, config.session);
  write_limits(out, config.limits);
  write_lmtp(out, config.lmtp);
  write_privileges(out, config.privileges);
  write_metrics(out, config.metrics);
  write_postgres(out, config.postgres);
  return out.text();
}

}  // namespace mailport::config
