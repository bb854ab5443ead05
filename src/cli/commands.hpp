// One file per subcommand; each registers itself on the root CLI::App.
#pragma once

#include <CLI/CLI.hpp>

namespace mailport::cli {

void setup_serve_command(CLI::App& app);       // serve_command.cpp
void setup_user_command(CLI::App& app);        // user_command.cpp: user add|passwd|del|list
void setup_hash_command(CLI::App& app);        // hash_command.cpp
void setup_config_command(CLI::App& app);      // config_command.cpp: config check
void setup_deliver_command(CLI::App& app);     // deliver_command.cpp: local delivery agent
void setup_fetch_command(CLI::App& app);       // fetch_command.cpp: download a maildrop safely
void setup_check_command(CLI::App& app);       // check_command.cpp: audit a server's 110/995
void setup_migrate_command(CLI::App& app);     // migrate_command.cpp: import UIDLs, pull mailboxes
void setup_report_command(CLI::App& app);      // report_command.cpp: port110 logins from the log
void setup_completion_command(CLI::App& app);  // completion_command.cpp: bash/zsh completion
void setup_man_command(CLI::App& app);         // man_command.cpp: the manual page
void setup_db_command(CLI::App& app);          // db_command.cpp: db migrate (PostgreSQL schema)
// migrate_copy.cpp: `migrate --from STORE --to postgres:...` on the migrate command itself
void setup_migrate_copy(CLI::App& migrate);

}  // namespace mailport::cli
