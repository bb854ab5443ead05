#include "cli/commands.hpp"

namespace mailport::cli {

void setup_config_command(CLI::App& app) { (void)app; }

}  // namespace mailport::cli
