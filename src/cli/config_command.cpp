#include <iostream>
#include <memory>
#include <optional>
#include <string>

#include "cli/commands.hpp"
#include "cli/common.hpp"
#include "config/config.hpp"

namespace mailport::cli {
namespace {

struct CheckOptions {
  std::string config_file;
};

void run_check(const CheckOptions& options) {
  std::optional<std::filesystem::path> file;
  if (!options.config_file.empty()) file = options.config_file;
  std::optional<config::Config> loaded;
  try {
    loaded = base_config(file);
    config::validate(*loaded);
  } catch (const config::ConfigError& e) {
    std::cerr << "mailport: config check: " << e.what() << '\n';
    if (loaded && loaded->embedded_default) {
      std::cerr << "mailport: config check: note: `mailport serve` creates the embedded "
                   "default's files in "
                << loaded->data_dir.string() << " on its first start\n";
    }
    throw CLI::RuntimeError(kExitConfig);
  }
  std::cout << config::to_toml(*loaded) << std::flush;
}

}  // namespace

void setup_config_command(CLI::App& app) {
  CLI::App* config = app.add_subcommand("config", "Inspect the configuration");
  config->require_subcommand(1);
  CLI::App* check = config->add_subcommand(
      "check", "Validate the configuration and print the effective values as TOML");
  auto options = std::make_shared<CheckOptions>();
  check
      ->add_option("--config", options->config_file,
                   "TOML configuration file (default: the embedded default)")
      ->type_name("FILE");
  check->callback([options] { run_check(*options); });
}

}  // namespace mailport::cli
