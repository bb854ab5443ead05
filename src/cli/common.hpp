// Helpers shared by the subcommands.
#pragma once

#include <filesystem>
#include <optional>
#include <string>

#include "config/config.hpp"

namespace mailport::cli {

// Where the embedded default keeps its files when no --config is given: $MAILPORT_HOME, else
// ./mailport-data.
std::filesystem::path default_data_dir();

// The configuration a subcommand starts from: the --config file if given, else the embedded
// default. Throws config::ConfigError.
config::Config base_config(const std::optional<std::filesystem::path>& config_file);

// Exit codes shared by subcommands (sysexits-style where a caller may act on them).
inline constexpr int kExitOk = 0;
inline constexpr int kExitUsage = 64;     // EX_USAGE: bad flag or argument
inline constexpr int kExitDataErr = 65;   // EX_DATAERR: bad input data
inline constexpr int kExitNoUser = 67;    // EX_NOUSER
inline constexpr int kExitSoftware = 70;  // EX_SOFTWARE
inline constexpr int kExitIoErr = 74;     // EX_IOERR
inline constexpr int kExitTempFail = 75;  // EX_TEMPFAIL
inline constexpr int kExitConfig = 78;    // EX_CONFIG: bad configuration

}  // namespace mailport::cli
