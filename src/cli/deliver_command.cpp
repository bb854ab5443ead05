// `mailport deliver`: the local delivery agent. Reads one message on standard input and puts it
// into a user's maildrop, for an MTA's mailbox_command or as a procmail/fetchmail MDA. The exit
// status follows sysexits, which MTAs map to "delivered", "bounce" or "retry later".
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <iostream>
#include <memory>
#include <optional>
#include <string>

#include "auth/passwd_file.hpp"
#include "cli/commands.hpp"
#include "cli/common.hpp"
#include "cli/passdb.hpp"
#include "config/config.hpp"
#include "lmtp/local_delivery.hpp"

namespace mailport::cli {
namespace {

constexpr int kExitCantCreate = 73;  // EX_CANTCREAT: the MTA bounces
constexpr std::size_t kReadChunk = 64 * 1024;

struct DeliverOptions {
  std::string user;
  std::string sender;
  std::optional<std::string> address;
  std::optional<std::filesystem::path> config_file;
  std::optional<std::string> passwd, passdb, mail;
};

[[noreturn]] void fail(int code, const std::string& message) {
  std::cerr << "mailport: deliver: " << message << "\n";
  throw CLI::RuntimeError(code);
}

config::Config load_config(const DeliverOptions& options) {
  try {
    config::Config config = base_config(options.config_file);
    if (options.passwd) config.auth.passwd = *options.passwd, config.lines.erase("auth.passwd");
    if (options.passdb) config.auth.passdb = *options.passdb, config.lines.erase("auth.passdb");
    if (options.mail) config.mail.location = *options.mail, config.lines.erase("mail.location");
    config::validate_delivery(config);
    return config;
  } catch (const config::ConfigError& e) {
    fail(kExitConfig, e.what());
  }
}

// The whole message, bounded: the MTA retries nothing that could never fit.
std::string read_message(std::uint64_t max_size) {
  std::string message;
  char buffer[kReadChunk];
  for (;;) {
    const ssize_t n = ::read(STDIN_FILENO, buffer, sizeof buffer);
    if (n == 0) break;
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) fail(kExitTempFail, std::string("reading standard input: ") + std::strerror(errno));
    message.append(buffer, static_cast<std::size_t>(n));
    if (message.size() > max_size) {
      fail(kExitDataErr,
           "message larger than lmtp.max_message_size (" + config::format_size(max_size) + ")");
    }
  }
  // An MDA is often handed the mbox "From sender date" envelope line; it is not a header.
  if (message.starts_with("From ")) {
    const std::size_t lf = message.find('\n');
    message.erase(0, lf == std::string::npos ? message.size() : lf + 1);
  }
  if (message.empty()) fail(kExitDataErr, "empty message on standard input");
  return message;
}

int exit_code(lmtp::Outcome outcome) {
  switch (outcome) {
    case lmtp::Outcome::ok:
      return kExitOk;
    case lmtp::Outcome::no_such_user:
      return kExitNoUser;
    case lmtp::Outcome::permanent_failure:
      return kExitCantCreate;
    case lmtp::Outcome::temporary_failure:
    case lmtp::Outcome::storage_full:
    case lmtp::Outcome::mailbox_busy:
      return kExitTempFail;
  }
  return kExitTempFail;
}

const char* describe(lmtp::Outcome outcome) {
  switch (outcome) {
    case lmtp::Outcome::ok:
      return "delivered";
    case lmtp::Outcome::no_such_user:
      return "no such user";
    case lmtp::Outcome::permanent_failure:
      return "cannot deliver to this maildrop";
    case lmtp::Outcome::temporary_failure:
      return "temporary failure, try again later";
    case lmtp::Outcome::storage_full:
      return "mailbox or disk full, try again later";
    case lmtp::Outcome::mailbox_busy:
      return "mailbox locked for too long, try again later";
  }
  return "failed";
}

void run_deliver(const DeliverOptions& options) {
  const config::Config config = load_config(options);
  size_postgres_pools(config);
  const std::unique_ptr<auth::PassDb> passdb = open_passdb(config);
  lmtp::LocalDelivery delivery(
      *passdb, lmtp::DeliverySettings{.location = store::parse_mail_location(config.mail.location),
                                      .store_options = {.lock_timeout = config.mail.lock_timeout},
                                      .recipient_delimiter = config.lmtp.recipient_delimiter,
                                      .hostname = {}});
  auto user = delivery.resolve(options.user);
  if (!user) fail(exit_code(lmtp::outcome_of(user.error())), "user " + user.error().describe());
  if (!*user) fail(kExitNoUser, "\"" + options.user + "\": no such user");
  const std::string message = read_message(config.lmtp.max_message_size);
  const lmtp::Outcome outcome = delivery.deliver_local(
      **user, options.sender, options.address.value_or(options.user), message);
  if (outcome != lmtp::Outcome::ok)
    fail(exit_code(outcome), options.user + ": " + describe(outcome));
}

}  // namespace

void setup_deliver_command(CLI::App& app) {
  auto options = std::make_shared<DeliverOptions>();
  CLI::App* deliver = app.add_subcommand(
      "deliver",
      "Deliver one message from standard input to a user's maildrop (exit status: "
      "0 delivered, 67 unknown user, 75 try again later, 65 bad input)");
  deliver->add_option("-d", options->user, "The recipient: a user of the passwd file")->required();
  deliver->add_option("-f", options->sender, "Envelope sender for Return-Path (empty: <>)");
  deliver->add_option("-a", options->address,
                      "Recipient address for Delivered-To (default: the -d user)");
  deliver->add_option("--config", options->config_file, "TOML configuration file")
      ->check(CLI::ExistingFile);
  deliver->add_option("--passwd", options->passwd, "Users file (passwd-file format)");
  deliver->add_option("--passdb", options->passdb,
                      "Users in PostgreSQL instead of the passwd file: postgres:CONNINFO");
  deliver->add_option("--mail", options->mail,
                      "Mail location: [maildir:]TEMPLATE, mbox:TEMPLATE (%u %n %d %h) or "
                      "postgres:CONNINFO");
  deliver->callback([options] { run_deliver(*options); });
}

}  // namespace mailport::cli
