// Rules that span several keys or look at the files a configuration names. Runs after the
// command line has overridden the file, so it is also where required keys are enforced.
#include <arpa/inet.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <grp.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <pwd.h>
#include <sys/stat.h>

#include <cctype>
#include <cerrno>
#include <cstring>
#include <memory>

#include "config/config.hpp"
#include "config/detail.hpp"
#include "core/unique_fd.hpp"

namespace mailport::config {
namespace {

namespace fs = std::filesystem;

// RFC 1939 section 3: the autologout timer must be at least 10 minutes.
constexpr std::chrono::seconds kMinIdleTimeout = std::chrono::minutes(10);

template <class T, void (*Free)(T*)>
struct OpenSslDeleter {
  void operator()(T* p) const { Free(p); }
};
using SslCtxPtr = std::unique_ptr<SSL_CTX, OpenSslDeleter<SSL_CTX, SSL_CTX_free>>;
using BioPtr = std::unique_ptr<BIO, OpenSslDeleter<BIO, BIO_free_all>>;
using PkeyPtr = std::unique_ptr<EVP_PKEY, OpenSslDeleter<EVP_PKEY, EVP_PKEY_free>>;

class Validator {
 public:
  explicit Validator(const Config& config) : config_(config) {}

  void run() {
    check_listeners();
    check_tls();
    check_passwd();
    check_mail();
    check_session();
    check_lmtp();
    check_privileges();
    check_metrics();
    check_general();
  }

  void run_delivery() {
    check_passwd();
    check_mail();
    check_lmtp_limits();
    check_general();
  }

 private:
  [[noreturn]] void fail(std::string_view key, const std::string& message) const {
    const auto it = config_.lines.find(std::string(key));
    const unsigned line = it == config_.lines.end() ? 0 : it->second;
    throw ConfigError(config_.source, line, std::string(key), message);
  }

  void check_listeners() const {
    const ListenerSettings& listen = config_.listen;
    if (!listen.pop3 && !listen.pop3s) {
      fail("listen", "listen.pop3 and listen.pop3s are both \"off\"; nothing to serve");
    }
    if (listen.pop3 && listen.pop3 == listen.pop3s && listen.pop3->port != 0) {
      fail("listen.pop3s",
           fmt::format("same address as listen.pop3 ({})", format_endpoint(listen.pop3)));
    }
  }

  void check_tls() const {
    const TlsSettings& tls = config_.tls;
    if (!detail::is_one_of(tls.min_version, detail::kTlsVersions)) {
      fail("tls.min_version", fmt::format("\"{}\" is not one of {}", tls.min_version,
                                          detail::describe_choices(detail::kTlsVersions)));
    }
    if (!tls.certificates.empty() && tls.cert.empty()) {
      fail("tls.certificates", "needs tls.cert and tls.key, the default certificate");
    }
    if (tls.cert.empty() && tls.key.empty() && !tls_required()) return;
    if (tls.cert.empty()) fail("tls.cert", fmt::format("not set; {}", why_tls()));
    if (tls.key.empty()) fail("tls.key", fmt::format("not set; {}", why_tls()));
    check_readable("tls.cert", tls.cert);
    check_readable("tls.key", tls.key);
    check_tls_files();
    for (const CertificatePair& pair : tls.certificates) check_extra_certificate(pair);
  }

  void check_extra_certificate(const CertificatePair& pair) const {
    check_readable("tls.certificates", pair.cert);
    check_readable("tls.certificates", pair.key);
    ERR_clear_error();
    SslCtxPtr ctx(SSL_CTX_new(TLS_server_method()));
    if (!ctx) fail("tls", "cannot create a TLS context: " + openssl_error());
    if (SSL_CTX_use_certificate_chain_file(ctx.get(), pair.cert.c_str()) != 1) {
      fail("tls.certificates",
           fmt::format("{}: not a PEM certificate chain: {}", pair.cert.string(), openssl_error()));
    }
    const PkeyPtr key = read_private_key("tls.certificates", pair.key);
    if (X509_check_private_key(SSL_CTX_get0_certificate(ctx.get()), key.get()) != 1) {
      ERR_clear_error();
      fail("tls.certificates", fmt::format("{} does not match the certificate in {}",
                                           pair.key.string(), pair.cert.string()));
    }
  }

  // Without a certificate, listen.pop3 cannot offer STLS; that is only workable if plaintext
  // logins are allowed on an unencrypted connection.
  bool tls_required() const {
    return config_.listen.pop3s ||
           (config_.listen.pop3 && config_.auth.plaintext_auth == PlaintextAuth::never);
  }

  std::string why_tls() const {
    if (config_.listen.pop3s) return "listen.pop3s needs a certificate and key";
    if (config_.listen.pop3) {
      return "listen.pop3 needs a certificate and key to offer STLS, and with "
             "auth.plaintext_auth = \"never\" no client could log in without it";
    }
    return "tls.cert and tls.key go together";
  }

  void check_tls_files() const {
    ERR_clear_error();
    SslCtxPtr ctx(SSL_CTX_new(TLS_server_method()));
    if (!ctx) fail("tls", "cannot create a TLS context: " + openssl_error());
    const TlsSettings& tls = config_.tls;
    if (SSL_CTX_use_certificate_chain_file(ctx.get(), tls.cert.c_str()) != 1) {
      fail("tls.cert",
           fmt::format("{}: not a PEM certificate chain: {}", tls.cert.string(), openssl_error()));
    }
    const PkeyPtr key = read_private_key("tls.key", tls.key);
    if (X509_check_private_key(SSL_CTX_get0_certificate(ctx.get()), key.get()) != 1) {
      ERR_clear_error();
      fail("tls.key", fmt::format("{} does not match the certificate in {}", tls.key.string(),
                                  tls.cert.string()));
    }
    if (!tls.ciphers.empty() && SSL_CTX_set_cipher_list(ctx.get(), tls.ciphers.c_str()) != 1) {
      fail("tls.ciphers", fmt::format("\"{}\" selects no cipher this OpenSSL supports: {}",
                                      tls.ciphers, openssl_error()));
    }
  }

  PkeyPtr read_private_key(std::string_view name, const fs::path& path) const {
    BioPtr bio(BIO_new_file(path.c_str(), "r"));
    if (!bio) fail(name, fmt::format("cannot open {}: {}", path.string(), openssl_error()));
    // A passphrase prompt would hang a daemon; an encrypted key simply fails to load.
    PkeyPtr key(PEM_read_bio_PrivateKey(bio.get(), nullptr, refuse_passphrase, nullptr));
    if (!key) {
      fail(name, fmt::format("{}: not an unencrypted PEM private key: {}", path.string(),
                             openssl_error()));
    }
    return key;
  }

  static int refuse_passphrase(char*, int, int, void*) { return -1; }

  static std::string openssl_error() {
    const unsigned long code = ERR_peek_last_error();
    char text[256] = "unknown error";
    if (code != 0) ERR_error_string_n(code, text, sizeof text);
    ERR_clear_error();
    return text;
  }

  void check_readable(std::string_view key, const fs::path& path) const {
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) fail(key, fmt::format("cannot open {}: {}", path.string(), std::strerror(errno)));
    struct stat info {};
    if (::fstat(fd.get(), &info) != 0 || !S_ISREG(info.st_mode)) {
      fail(key, fmt::format("{} is not a regular file", path.string()));
    }
  }

  void check_passwd() const {
    if (!config_.auth.passdb.empty()) {
      check_postgres("auth.passdb", config_.auth.passdb);
    } else {
      if (config_.auth.passwd.empty()) fail("auth.passwd", "not set; name the passwd file");
      check_readable("auth.passwd", config_.auth.passwd);
    }
    if (config_.auth.max_attempts == 0) fail("auth.max_attempts", "must be at least 1");
  }

  void check_mail() const {
    const MailSettings& mail = config_.mail;
    if (mail.location.empty()) fail("mail.location", "not set; name the mail location template");
    check_location(mail.location);
    if (mail.expire) {
      try {
        detail::check_expire(*mail.expire);
      } catch (const std::invalid_argument& e) {
        fail("mail.expire", e.what());
      }
    }
  }

  // The syntax only: whether the database answers is up to the first connection.
  void check_postgres(std::string_view key, std::string_view value) const {
    if (!value.starts_with(detail::kPostgresPrefix) ||
        value.size() == detail::kPostgresPrefix.size()) {
      fail(key, fmt::format("\"{}\": expected postgres:CONNINFO", mask_secrets(value)));
    }
  }

  void check_location(std::string_view location) const {
    if (location.starts_with(detail::kPostgresPrefix))
      return check_postgres("mail.location", location);
    location.remove_prefix(detail::location_prefix(location).size());
    if (!location.starts_with('/') && !location.starts_with("%h")) {
      fail("mail.location",
           fmt::format("\"{}\" must be an absolute path or start with %h", location));
    }
    check_location_variables(location);
  }

  void check_location_variables(std::string_view location) const {
    bool per_user = false;
    for (std::size_t i = location.find('%'); i != std::string_view::npos;
         i = location.find('%', i + 2)) {
      const char variable = i + 1 < location.size() ? location[i + 1] : '\0';
      if (variable == '%') continue;  // a literal '%'
      if (variable != 'u' && variable != 'n' && variable != 'd' && variable != 'h') {
        fail("mail.location",
             fmt::format("\"{}\": unknown variable %{} (known: %u %n %d %h %%)", location,
                         variable == '\0' ? "" : std::string(1, variable)));
      }
      per_user = per_user || variable != 'd';
    }
    if (!per_user) {
      fail("mail.location",
           fmt::format("\"{}\" gives every user the same maildir; use %u, %n or %h", location));
    }
  }

  void check_session() const {
    const SessionSettings& session = config_.session;
    if (session.idle_timeout < kMinIdleTimeout) {
      fail("session.idle_timeout",
           fmt::format("{} is shorter than the 10 minutes RFC 1939 requires",
                       format_duration(session.idle_timeout)));
    }
    if (session.prelogin_timeout.count() == 0) {
      fail("session.prelogin_timeout", "must be longer than 0s");
    }
    if (session.max_bad_commands == 0) fail("session.max_bad_commands", "must be at least 1");
    if (config_.limits.max_connections == 0) fail("limits.max_connections", "must be at least 1");
    if (config_.limits.max_connections_per_ip == 0) {
      fail("limits.max_connections_per_ip", "must be at least 1");
    }
    check_text("session.greeting", session.greeting);
    if (session.implementation) check_text("session.implementation", *session.implementation);
    if (!session.plaintext_refusal_hint.empty()) {
      check_text("session.plaintext_refusal_hint", session.plaintext_refusal_hint);
    }
  }

  void check_lmtp() const {
    const ListenerSettings& listen = config_.listen;
    for (const LmtpAddress& address : config_.lmtp.listen) {
      if (!address.tcp) continue;
      const std::string text = format_lmtp_address(address);
      if (!is_loopback(address.tcp->address)) {
        fail("lmtp.listen",
             fmt::format("\"{}\" is not a loopback address; LMTP has no authentication, so "
                         "listen on 127.0.0.1, [::1] or a Unix socket",
                         text));
      }
      if (address.tcp->port != 0 && (address.tcp == listen.pop3 || address.tcp == listen.pop3s)) {
        fail("lmtp.listen", fmt::format("\"{}\" is already a POP3 listener", text));
      }
    }
    check_lmtp_limits();
  }

  void check_lmtp_limits() const {
    const LmtpSettings& lmtp = config_.lmtp;
    if (lmtp.max_message_size < detail::kMinMessageSize ||
        lmtp.max_message_size > detail::kMaxMessageSize) {
      fail("lmtp.max_message_size",
           fmt::format("{} is out of range ({} to {}); messages are held in memory while they "
                       "are delivered",
                       format_size(lmtp.max_message_size), format_size(detail::kMinMessageSize),
                       format_size(detail::kMaxMessageSize)));
    }
    if (lmtp.socket_mode > detail::kMaxSocketMode) {
      fail("lmtp.socket_mode", fmt::format("0o{:o} is not a file mode", lmtp.socket_mode));
    }
    if (lmtp.max_recipients == 0) fail("lmtp.max_recipients", "must be at least 1");
    for (char c : lmtp.recipient_delimiter) {
      const bool allowed = c > 0x20 && c < 0x7f && c != '@' && c != '"' && c != '\\' &&
                           !std::isalnum(static_cast<unsigned char>(c));
      if (!allowed) {
        fail("lmtp.recipient_delimiter",
             fmt::format("\"{}\": use punctuation characters such as \"+\" or \"-\" (not '@', "
                         "letters, digits, quotes or spaces)",
                         lmtp.recipient_delimiter));
      }
    }
  }

  // Root inside a chroot can leave it, so a chroot only makes sense with a user to drop to; and
  // what the server opens after the drop must be inside it.
  void check_privileges() const {
    const PrivilegeSettings& privileges = config_.privileges;
    if (!privileges.user.empty() && !known_id(privileges.user, true)) {
      fail("privileges.user", fmt::format("no such user \"{}\"", privileges.user));
    }
    if (!privileges.group.empty() && !known_id(privileges.group, false)) {
      fail("privileges.group", fmt::format("no such group \"{}\"", privileges.group));
    }
    if (privileges.chroot.empty()) return;
    if (privileges.user.empty()) {
      fail("privileges.chroot", "needs privileges.user: root can leave a chroot");
    }
    struct stat info {};
    if (::stat(privileges.chroot.c_str(), &info) != 0 || !S_ISDIR(info.st_mode)) {
      fail("privileges.chroot", fmt::format("{} is not a directory", privileges.chroot.string()));
    }
    if (config_.auth.passdb.empty())
      check_inside_chroot("auth.passwd", config_.auth.passwd.string());
    std::string_view location = config_.mail.location;
    if (location.starts_with(detail::kPostgresPrefix)) return;
    location.remove_prefix(detail::location_prefix(location).size());
    if (location.starts_with("%h")) {
      fail("mail.location", "cannot start with %h together with privileges.chroot");
    }
    check_inside_chroot("mail.location", location);
  }

  void check_inside_chroot(std::string_view key, std::string_view path) const {
    const std::string root = config_.privileges.chroot.lexically_normal().string();
    const std::string prefix = root.ends_with('/') ? root : root + '/';
    if (!path.starts_with(prefix)) {
      fail(key, fmt::format("{} is outside privileges.chroot ({})", path, root));
    }
  }

  static bool known_id(const std::string& name, bool user) {
    if (!name.empty() && name.find_first_not_of("0123456789") == std::string::npos) return true;
    return user ? ::getpwnam(name.c_str()) != nullptr : ::getgrnam(name.c_str()) != nullptr;
  }

  static bool is_loopback(const std::string& address) {
    in_addr v4{};
    if (::inet_pton(AF_INET, address.c_str(), &v4) == 1) {
      return (ntohl(v4.s_addr) >> 24) == 127;
    }
    in6_addr v6{};
    return ::inet_pton(AF_INET6, address.c_str(), &v6) == 1 && IN6_IS_ADDR_LOOPBACK(&v6);
  }

  void check_text(std::string_view key, std::string_view text) const {
    try {
      detail::check_response_text(text);
    } catch (const std::invalid_argument& e) {
      fail(key, e.what());
    }
  }

  void check_general() const {
    if (!detail::is_one_of(config_.log_level, detail::kLogLevels)) {
      fail("log_level", fmt::format("\"{}\" is not one of {}", config_.log_level,
                                    detail::describe_choices(detail::kLogLevels)));
    }
    if (!detail::is_one_of(config_.log_format, detail::kLogFormats)) {
      fail("log_format", fmt::format("\"{}\" is not one of {}", config_.log_format,
                                     detail::describe_choices(detail::kLogFormats)));
    }
  }

  void check_metrics() const {
    const std::optional<Endpoint>& metrics = config_.metrics.listen;
    if (!metrics || metrics->port == 0) return;
    if (metrics == config_.listen.pop3 || metrics == config_.listen.pop3s) {
      fail("metrics.listen",
           fmt::format("\"{}\" is already a POP3 listener", format_endpoint(metrics)));
    }
    for (const LmtpAddress& address : config_.lmtp.listen) {
      if (address.tcp == metrics) {
        fail("metrics.listen",
             fmt::format("\"{}\" is already an LMTP listener", format_endpoint(metrics)));
      }
    }
  }

  const Config& config_;
};

}  // namespace

void validate(const Config& config) {
  Validator(config).run();
}

void validate_delivery(const Config& config) {
  Validator(config).run_delivery();
}

}  // namespace mailport::config
