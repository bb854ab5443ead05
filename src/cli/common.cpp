#include "cli/common.hpp"

#include <cstdlib>

namespace mailport::cli {

std::filesystem::path default_data_dir() {
  if (const char* home = std::getenv("MAILPORT_HOME"); home && *home) return home;
  return std::filesystem::current_path() / "mailport-data";
}

config::Config base_config(const std::optional<std::filesystem::path>& config_file) {
  if (config_file) return config::load_file(*config_file);
  return config::embedded_default(default_data_dir());
}

}  // namespace mailport::cli
