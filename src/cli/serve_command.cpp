// `mailport serve`: runs the POP3/POP3S server in the foreground, logging to stderr.
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <iostream>
#include <memory>
#include <optional>
#include <string>

#include "auth/passwd_file.hpp"
#include "cli/bootstrap.hpp"
#include "cli/commands.hpp"
#include "cli/common.hpp"
#include "cli/passdb.hpp"
#include "config/config.hpp"
#include "net/abuse_guard.hpp"
#include "net/log_format.hpp"
#include "net/metrics.hpp"
#include "net/metrics_server.hpp"
#include "net/privileges.hpp"
#include "net/server.hpp"
#include "store/store_factory.hpp"

namespace mailport::cli {
namespace {

struct ServeOptions {
  std::optional<std::filesystem::path> config_file;
  std::optional<std::string> pop3, pop3s, cert, key, passwd, passdb, mail, plaintext_auth,
      log_level;
  std::optional<std::string> log_format, metrics;
  std::optional<std::string> failure_delay, lock_timeout, proxy_trusted;
  std::optional<unsigned> threads;
  std::vector<std::string> lmtp;  // every --lmtp together replaces lmtp.listen
};

[[noreturn]] void fail(int code, const std::string& message) {
  std::cerr << "mailport: serve: " << message << "\n";
  throw CLI::RuntimeError(code);
}

std::optional<config::Endpoint> endpoint_flag(const std::string& flag, const std::string& value) {
  try {
    return config::parse_endpoint(value);
  } catch (const std::invalid_argument& e) {
    fail(kExitUsage, flag + " " + value + ": " + e.what());
  }
}

std::chrono::milliseconds duration_flag(const std::string& flag, const std::string& value) {
  try {
    return config::parse_duration(value);
  } catch (const std::invalid_argument& e) {
    fail(kExitUsage, flag + " " + value + ": " + e.what());
  }
}

// "10.0.0.5,10.0.1.0/24" -> each checked; "" clears the list.
std::vector<std::string> cidr_list_flag(const std::string& flag, const std::string& value) {
  std::vector<std::string> cidrs;
  for (std::size_t start = 0; start < value.size();) {
    const std::size_t comma = std::min(value.find(',', start), value.size());
    const std::string cidr = value.substr(start, comma - start);
    if (auto parsed = net::parse_cidr(cidr); !parsed || cidr.empty()) {
      fail(kExitUsage, flag + " " + value + ": \"" + cidr + "\" is not an address or CIDR");
    }
    cidrs.push_back(cidr);
    start = comma + 1;
    if (comma + 1 == value.size()) fail(kExitUsage, flag + " " + value + ": trailing comma");
  }
  return cidrs;
}

// Flags override the file; they name an exact key each (docs/configuration.md).
void apply_flags(const ServeOptions& options, config::Config& config) {
  auto overridden = [&](const char* key) { config.lines.erase(key); };
  if (options.pop3) {
    config.listen.pop3 = endpoint_flag("--pop3", *options.pop3);
    config.listen.pop3_fallback_port.reset();
    overridden("listen.pop3");
  }
  if (options.pop3s) {
    config.listen.pop3s = endpoint_flag("--pop3s", *options.pop3s);
    config.listen.pop3s_fallback_port.reset();
    overridden("listen.pop3s");
  }
  if (!options.lmtp.empty()) {
    config.lmtp.listen.clear();
    for (const std::string& value : options.lmtp) {
      try {
        std::optional<config::LmtpAddress> address = config::parse_lmtp_address(value);
        if (address) config.lmtp.listen.push_back(std::move(*address));
      } catch (const std::invalid_argument& e) {
        fail(kExitUsage, "--lmtp " + value + ": " + e.what());
      }
    }
    overridden("lmtp.listen");
  }
  if (options.cert) config.tls.cert = *options.cert, overridden("tls.cert");
  if (options.key) config.tls.key = *options.key, overridden("tls.key");
  if (options.passwd) config.auth.passwd = *options.passwd, overridden("auth.passwd");
  if (options.passdb) config.auth.passdb = *options.passdb, overridden("auth.passdb");
  if (options.mail) config.mail.location = *options.mail, overridden("mail.location");
  if (options.plaintext_auth) {
    auto policy = config::parse_plaintext_auth(*options.plaintext_auth);
    if (!policy) {
      fail(kExitUsage,
           "--plaintext-auth " + *options.plaintext_auth + ": expected never, loopback or always");
    }
    config.auth.plaintext_auth = *policy;
    overridden("auth.plaintext_auth");
  }
  if (options.failure_delay) {
    config.auth.failure_delay = duration_flag("--failure-delay", *options.failure_delay);
    overridden("auth.failure_delay");
  }
  if (options.lock_timeout) {
    config.mail.lock_timeout = duration_flag("--lock-timeout", *options.lock_timeout);
    overridden("mail.lock_timeout");
  }
  if (options.proxy_trusted) {
    config.listen.proxy_trusted = cidr_list_flag("--proxy-trusted", *options.proxy_trusted);
    overridden("listen.proxy_trusted");
  }
  if (options.threads) config.threads = *options.threads, overridden("threads");
  if (options.log_level) config.log_level = *options.log_level, overridden("log_level");
  if (options.log_format) {
    if (*options.log_format != "text" && *options.log_format != "json") {
      fail(kExitUsage, "--log-format " + *options.log_format + ": expected text or json");
    }
    config.log_format = *options.log_format;
    overridden("log_format");
  }
  if (options.metrics) {
    try {
      config.metrics.listen = config::parse_metrics_endpoint(*options.metrics);
    } catch (const std::invalid_argument& e) {
      fail(kExitUsage, "--metrics " + *options.metrics + ": " + e.what());
    }
    overridden("metrics.listen");
  }
}

void setup_logging(const std::string& level, const std::string& format) {
  auto logger = spdlog::stderr_color_mt("mailport");
  if (format == "json") {
    logger->set_formatter(net::make_json_formatter());
  } else {
    logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ %v");
  }
  spdlog::set_default_logger(logger);
  auto parsed = spdlog::level::from_str(level);
  if (parsed == spdlog::level::off && level != "off") {
    fail(kExitUsage, "log level '" + level + "': expected trace, debug, info, warn or error");
  }
  spdlog::set_level(parsed);
  spdlog::flush_on(spdlog::level::trace);
}

// The embedded default only uses its own paths when the flags left them alone.
bool owns_passwd(const config::Config& config) {
  return config.auth.passwd == config::embedded_default(config.data_dir).auth.passwd;
}

// The user the server runs as once its ports are bound; nullopt = stay as started.
std::optional<net::Identity> mail_user(const config::Config& config) {
  const config::PrivilegeSettings& wanted = config.privileges;
  if (wanted.user.empty()) return std::nullopt;
  auto who = net::resolve_identity(wanted.user, wanted.group);
  if (!who) fail(kExitConfig, "privileges.user: " + who.error().describe());
  if (net::running_as_root()) return *who;
  if (who->uid == ::geteuid() && who->gid == ::getegid()) return std::nullopt;
  fail(kExitConfig, "privileges.user " + wanted.user + ": only root can switch to another user");
}

store::ChurnSettings churn_settings(const config::MailSettings& mail) {
  store::ChurnSettings churn;
  churn.percent = mail.uidl_churn_percent;
  churn.min_seen = mail.uidl_churn_min_seen;
  churn.on_alarm = [] { net::metrics::metrics().uidl_churn_alarm(); };
  return churn;
}

// After the drop the users file and the mail are opened by their paths inside the chroot; the
// certificates are still loaded from outside, before it.
config::Config runtime_paths(config::Config config) {
  const config::TlsSettings tls = config.tls;
  const std::filesystem::path root = config.privileges.chroot;
  config = net::for_chroot(std::move(config), root);
  config.tls = tls;
  return config;
}

// Drops to privileges.user, or refuses to serve mail as root. Root is tolerated only while every
// listener is on loopback, so that a development checkout run by root keeps working.
void settle_privileges(const config::Config& config, const std::optional<net::Identity>& run_as,
                       const net::Server& server) {
  if (run_as) {
    if (auto dropped = net::drop_privileges(*run_as, config.privileges.chroot); !dropped) {
      fail(kExitSoftware, "dropping privileges: " + dropped.error().describe());
    }
    spdlog::info("privileges dropped user={} uid={} gid={} chroot={}", run_as->name, run_as->uid,
                 run_as->gid,
                 config.privileges.chroot.empty() ? "none" : config.privileges.chroot.string());
    return;
  }
  if (!net::running_as_root()) return;
  for (const auto& listener : server.listeners()) {
    if (!listener.endpoint.address().is_loopback()) {
      fail(kExitConfig, "refusing to serve mail as root on " +
                            listener.endpoint.address().to_string() +
                            ": set privileges.user to the unprivileged user that owns the mail");
    }
  }
  spdlog::warn(
      "running as root (tolerated because every listener is on loopback); set "
      "privileges.user to drop to the user that owns the mail");
}

// Bound before privileges are dropped, like the mail listeners; served on its own threads.
std::unique_ptr<net::metrics::MetricsServer> serve_metrics(const config::Config& config,
                                                           net::Server& server) {
  if (!config.metrics.listen) return nullptr;
  net::metrics::metrics().set_penalty_source([&guard = server.guard()] {
    const net::AbuseGuard::PenaltyCounts counts = guard.penalties_in_force();
    net::metrics::Penalties penalties;
    penalties.delayed = counts.delayed;
    penalties.banned = counts.banned;
    return penalties;
  });
  auto started =
      net::metrics::MetricsServer::start(*config.metrics.listen, net::metrics::metrics());
  if (!started) fail(kExitConfig, started.error().describe());
  spdlog::info("listening listener=metrics address={} port={}", config.metrics.listen->address,
               (*started)->port());
  return std::move(*started);
}

// SIGHUP: the file and the flags again, checked as at start-up. Inside a chroot, the files are
// looked up by their paths in it.
Result<config::Config> reload_config(const ServeOptions& options,
                                     const std::optional<std::filesystem::path>& config_file,
                                     const std::filesystem::path& chroot) {
  try {
    std::optional<std::filesystem::path> file = config_file;
    if (file) file = net::inside_chroot(chroot, *file);
    config::Config fresh = base_config(file);
    apply_flags(options, fresh);
    fresh = net::for_chroot(std::move(fresh), chroot);
    config::Config checked = fresh;
    checked.privileges = {};  // the chroot and user were checked at start-up, from outside
    config::validate(checked);
    return fresh;
  } catch (const std::exception& e) {
    return make_error(errc::invalid_input, e.what());
  }
}

void run_serve(const ServeOptions& options) {
  config::Config config;
  try {
    config = base_config(options.config_file);
    apply_flags(options, config);
    setup_logging(config.log_level, config.log_format);
  } catch (const config::ConfigError& e) {
    fail(kExitConfig, e.what());
  }
  std::optional<DemoAccount> demo;
  if (config.embedded_default) {
    auto made = bootstrap_data_dir(config);
    if (!made)
      fail(kExitIoErr, "preparing " + config.data_dir.string() + ": " + made.error().describe());
    if (owns_passwd(config) && !made->user.empty()) demo = *made;
  }
  try {
    config::validate(config);
  } catch (const config::ConfigError& e) {
    fail(kExitConfig, e.what());
  }
  const std::optional<net::Identity> run_as = mail_user(config);
  const std::optional<std::filesystem::path> config_file =
      options.config_file ? std::optional(std::filesystem::absolute(*options.config_file))
                          : std::nullopt;
  config = runtime_paths(std::move(config));
  size_postgres_pools(config);
  net::Server server(
      config, std::make_unique<net::MailOwnerCheck>(open_passdb(config)),
      store::make_store(store::parse_mail_location(config.mail.location),
                        {.lock_timeout = config.mail.lock_timeout}, churn_settings(config.mail)));
  if (auto opened = server.open(); !opened) fail(kExitConfig, opened.error().describe());
  const std::unique_ptr<net::metrics::MetricsServer> metrics = serve_metrics(config, server);
  settle_privileges(config, run_as, server);
  server.set_reloader([&options, config_file, chroot = config.privileges.chroot] {
    return reload_config(options, config_file, chroot);
  });
  std::uint16_t pop3_port = 0, pop3s_port = 0;
  for (const auto& listener : server.listeners()) {
    spdlog::info("listening listener={} address={} port={}", net::to_string(listener.kind),
                 listener.endpoint.address().to_string(), listener.endpoint.port());
    (listener.kind == net::ListenerKind::pop3 ? pop3_port : pop3s_port) = listener.endpoint.port();
  }
  for (const std::string& address : server.lmtp_addresses()) {
    spdlog::info("listening listener=lmtp address={}", address);
  }
  if (demo) std::cout << describe_ready(config, *demo, pop3_port, pop3s_port) << std::flush;
  server.run();
  spdlog::info("stopped");
}

}  // namespace

void setup_serve_command(CLI::App& app) {
  auto options = std::make_shared<ServeOptions>();
  CLI::App* serve = app.add_subcommand("serve", "Run the POP3/POP3S server in the foreground");
  serve->add_option("--config", options->config_file, "TOML configuration file")
      ->check(CLI::ExistingFile);
  serve->add_option("--pop3", options->pop3, "Plain POP3 listener with STLS: ADDR:PORT or off");
  serve->add_option("--pop3s", options->pop3s, "Implicit-TLS listener: ADDR:PORT or off");
  serve->add_option("--lmtp", options->lmtp,
                    "LMTP listener: unix:PATH, loopback ADDR:PORT or off (repeatable)");
  serve->add_option("--cert", options->cert, "TLS certificate chain (PEM)");
  serve->add_option("--key", options->key, "TLS private key (PEM)");
  serve->add_option("--passwd", options->passwd, "Users file (passwd-file format)");
  serve->add_option("--passdb", options->passdb,
                    "Users in PostgreSQL instead of the passwd file: postgres:CONNINFO");
  serve->add_option("--mail", options->mail,
                    "Mail location: [maildir:]TEMPLATE, mbox:TEMPLATE (%u login, %n local part, "
                    "%d domain, %h home) or postgres:CONNINFO");
  serve->add_option("--plaintext-auth", options->plaintext_auth,
                    "Logins before TLS: never (default), loopback or always");
  serve->add_option("--failure-delay", options->failure_delay,
                    "Delay before answering a failed login (e.g. 2s, 0s)");
  serve->add_option("--lock-timeout", options->lock_timeout,
                    "How long a login waits for a mailbox in use (e.g. 5s)");
  serve->add_option("--threads", options->threads, "I/O threads (0 = one per core)");
  serve->add_option("--proxy-trusted", options->proxy_trusted,
                    "Load balancers that must send a PROXY protocol header (v1 or v2), on every "
                    "listener: CIDR[,CIDR...]");
  serve->add_option("--log-level", options->log_level, "trace, debug, info, warn or error");
  serve->add_option("--log-format", options->log_format,
                    "text (key=value, default) or json (one object per line)");
  serve->add_option("--metrics", options->metrics,
                    "Prometheus /metrics and /healthz: ADDR:PORT, PORT (on 127.0.0.1) or off");
  // A later flag wins, so wrappers can append overrides to a fixed command line.
  for (CLI::Option* option : serve->get_options()) {
    if (option->get_type_size() > 0 && option->get_name() != "--lmtp") {
      option->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
    }
  }
  serve->callback([options] { run_serve(*options); });
}

}  // namespace mailport::cli
