// `mailport db migrate`: creates or upgrades the PostgreSQL schema ahead of a rollout, so that
// instances never find it missing (they would apply it on first use too).
#include <iostream>
#include <memory>
#include <optional>
#include <set>
#include <string>

#include "cli/commands.hpp"
#include "cli/common.hpp"
#include "cli/password_input.hpp"
#include "config/config.hpp"
#include "pg/connection.hpp"
#include "pg/conninfo.hpp"
#include "pg/schema.hpp"

namespace mailport::cli {
namespace {

constexpr std::string_view kCommand = "db migrate";

struct DbOptions {
  std::optional<std::string> mail, passdb;
  std::optional<std::filesystem::path> config_file;
};

std::string conninfo_flag(std::string_view flag, const std::string& value) {
  auto conninfo = pg::strip_prefix(value);
  if (!conninfo) {
    fail_command(
        kCommand,
        std::string(flag) + " " + config::mask_secrets(value) + ": expected postgres:CONNINFO",
        kExitUsage);
  }
  if (auto checked = pg::check_conninfo(*conninfo); !checked) {
    fail_command(kCommand, std::string(flag) + ": " + checked.error().message, kExitUsage);
  }
  return std::string(*conninfo);
}

// Every database the flags (or the configuration's keys) name, each once.
std::set<std::string> databases(const DbOptions& options) {
  std::optional<std::string> mail = options.mail, passdb = options.passdb;
  if (options.config_file) {
    try {
      const config::Config config = config::load_file(*options.config_file);
      if (!mail && config.mail.location.starts_with(pg::kPrefix)) mail = config.mail.location;
      if (!passdb && !config.auth.passdb.empty()) passdb = config.auth.passdb;
    } catch (const std::exception& e) {
      fail_command(kCommand, e.what(), kExitConfig);
    }
  }
  std::set<std::string> found;
  if (mail) found.insert(conninfo_flag("--mail", *mail));
  if (passdb) found.insert(conninfo_flag("--passdb", *passdb));
  if (found.empty()) {
    fail_command(kCommand,
                 "name a database: --mail postgres:CONNINFO and/or --passdb postgres:CONNINFO "
                 "(or --config with such keys)",
                 kExitUsage);
  }
  return found;
}

void run_migrate(const DbOptions& options) {
  for (const std::string& conninfo : databases(options)) {
    const std::string where = pg::describe_conninfo(conninfo);
    auto connection = pg::Connection::open(conninfo);
    if (!connection)
      fail_command(kCommand, where + ": " + connection.error().message, kExitTempFail);
    auto state = pg::ensure_schema(**connection);
    if (!state) {
      fail_command(kCommand, where + ": " + state.error().message,
                   state.error().is(errc::permanent_failure) ? kExitSoftware : kExitTempFail);
    }
    const int applied = state->version_after - state->version_before;
    std::cout << where << ": schema version " << state->version_after;
    if (applied == 0) {
      std::cout << " (up to date)\n";
    } else {
      std::cout << " (upgraded from " << state->version_before << ")\n";
    }
  }
}

}  // namespace

void setup_db_command(CLI::App& app) {
  CLI::App* db = app.add_subcommand("db", "PostgreSQL schema management");
  db->require_subcommand(1);
  auto options = std::make_shared<DbOptions>();
  CLI::App* migrate =
      db->add_subcommand("migrate", "Create or upgrade the schema of the PostgreSQL database(s)");
  migrate->add_option("--mail", options->mail, "Mail store: postgres:CONNINFO");
  migrate->add_option("--passdb", options->passdb, "User database: postgres:CONNINFO");
  migrate
      ->add_option("--config", options->config_file,
                   "TOML configuration whose mail.location / auth.passdb to use")
      ->check(CLI::ExistingFile);
  migrate->callback([options] { run_migrate(*options); });
}

}  // namespace mailport::cli
