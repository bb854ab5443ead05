#include <CLI/CLI.hpp>

#include "cli/commands.hpp"

int main(int argc, char** argv) {
  CLI::App app{"mailport - POP3/POP3S mail server and toolkit"};
  app.set_version_flag("--version", std::string("mailport ") + MAILPORT_VERSION);
  app.require_subcommand(1);
  mailport::cli::setup_serve_command(app);
  mailport::cli::setup_user_command(app);
  mailport::cli::setup_hash_command(app);
  mailport::cli::setup_config_command(app);
  mailport::cli::setup_deliver_command(app);
  mailport::cli::setup_fetch_command(app);
  mailport::cli::setup_check_command(app);
  mailport::cli::setup_migrate_command(app);
  mailport::cli::setup_report_command(app);
  mailport::cli::setup_completion_command(app);
  mailport::cli::setup_man_command(app);
  mailport::cli::setup_db_command(app);
  CLI11_PARSE(app, argc, argv);
  return 0;
}
