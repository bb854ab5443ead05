// The command-line tree as CLI11 holds it, read by `completion` and `man` so that neither can
// drift from what --help prints.
#pragma once

#include <CLI/CLI.hpp>
#include <string>
#include <vector>

namespace mailport::cli {

struct CliOption {
  std::vector<std::string> names;  // "--config", "-l"; empty for a positional argument
  std::string positional;          // the positional's name, e.g. "host"
  std::string description;
  bool takes_value = false;
};

struct CliCommand {
  std::vector<std::string> path;  // {} for the program, {"user", "add"} for `mailport user add`
  std::string description;
  std::vector<CliOption> options;
  std::vector<std::string> subcommands;  // names, in registration order
};

// Every command, depth first in registration order, the program itself first.
std::vector<CliCommand> walk_cli(const CLI::App& app);

}  // namespace mailport::cli
