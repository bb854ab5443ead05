#include "cli/commands.hpp"

namespace mailport::cli {

// Registered by the module that implements the subcommand.
void setup_check_command(CLI::App& app) { (void)app; }

}  // namespace mailport::cli
