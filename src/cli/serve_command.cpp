// `mailport serve`: runs the POP3/POP3S server in the foreground, logging to stderr.
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <iostream>
#include <memory>
#include <optional>
#include <string>

#include "auth/passwd_file.hpp"
#include "cli/bootstrap.hpp"
#include "cli/commands.hpp"
#include "cli/common.hpp"
#include "config/config.hpp"
#include "net/server.hpp"
#include "store/maildir_store.hpp"

namespace mailport::cli {
namespace {

struct ServeOptions {
  std::optional<std::filesystem::path> config_file;
  std::optional<std::string> pop3, pop3s, cert, key, passwd, mail, plaintext_auth, log_level;
  std::optional<std::string> failure_delay, lock_timeout;
  std::optional<unsigned> threads;
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
  if (options.cert) config.tls.cert = *options.cert, overridden("tls.cert");
  if (options.key) config.tls.key = *options.key, overridden("tls.key");
  if (options.passwd) config.auth.passwd = *options.passwd, overridden("auth.passwd");
  if (options.mail) config.mail.location = *options.mail, overridden("mail.location");
  if (options.plaintext_auth) {
    auto policy = config::parse_plaintext_auth(*options.plaintext_auth);
    if (!policy) {
      fail(kExitUsage, "--plaintext-auth " + *options.plaintext_auth +
                           ": expected never, loopback or always");
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
  if (options.threads) config.threads = *options.threads, overridden("threads");
  if (options.log_level) config.log_level = *options.log_level, overridden("log_level");
}

void setup_logging(const std::string& level) {
  auto logger = spdlog::stderr_color_mt("mailport");
  logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ %v");
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

void run_serve(const ServeOptions& options) {
  config::Config config;
  try {
    config = base_config(options.config_file);
    apply_flags(options, config);
    setup_logging(config.log_level);
  } catch (const config::ConfigError& e) {
    fail(kExitConfig, e.what());
  }
  std::optional<DemoAccount> demo;
  if (config.embedded_default) {
    auto made = bootstrap_data_dir(config);
    if (!made) fail(kExitIoErr, "preparing " + config.data_dir.string() + ": " + made.error().describe());
    if (owns_passwd(config)) demo = *made;
  }
  try {
    config::validate(config);
  } catch (const config::ConfigError& e) {
    fail(kExitConfig, e.what());
  }
  net::Server server(config, std::make_unique<auth::PasswdFileDb>(config.auth.passwd),
                     std::make_unique<store::MaildirStore>(config.mail.location));
  if (auto opened = server.open(); !opened) fail(kExitConfig, opened.error().describe());
  std::uint16_t pop3_port = 0, pop3s_port = 0;
  for (const auto& listener : server.listeners()) {
    spdlog::info("listening listener={} address={} port={}", net::to_string(listener.kind),
                 listener.endpoint.address().to_string(), listener.endpoint.port());
    (listener.kind == net::ListenerKind::pop3 ? pop3_port : pop3s_port) = listener.endpoint.port();
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
  serve->add_option("--cert", options->cert, "TLS certificate chain (PEM)");
  serve->add_option("--key", options->key, "TLS private key (PEM)");
  serve->add_option("--passwd", options->passwd, "Users file (passwd-file format)");
  serve->add_option("--mail", options->mail,
                    "Maildir location template: %u login, %n local part, %d domain, %h home");
  serve->add_option("--plaintext-auth", options->plaintext_auth,
                    "Logins before TLS: never (default), loopback or always");
  serve->add_option("--failure-delay", options->failure_delay,
                    "Delay before answering a failed login (e.g. 2s, 0s)");
  serve->add_option("--lock-timeout", options->lock_timeout,
                    "How long a login waits for a mailbox in use (e.g. 5s)");
  serve->add_option("--threads", options->threads, "I/O threads (0 = one per core)");
  serve->add_option("--log-level", options->log_level, "trace, debug, info, warn or error");
  // A later flag wins, so wrappers can append overrides to a fixed command line.
  for (CLI::Option* option : serve->get_options()) {
    if (option->get_type_size() > 0) option->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  }
  serve->callback([options] { run_serve(*options); });
}

}  // namespace mailport::cli
