// Several accounts for `mailport fetch --config FILE` (TOML). Top-level keys are defaults for
// every [[account]]; an account's own keys win. See docs/fetch.md for the format.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "client/fetch_account.hpp"
#include "core/result.hpp"

namespace mailport::client {

struct FetchAccountConfig {
  AccountSettings settings;  // everything but state_file, which depends on state_dir
  std::optional<std::filesystem::path> password_file;
  unsigned line = 0;  // of its [[account]] header, for messages
};

struct FetchConfig {
  std::optional<std::filesystem::path> state_dir;
  unsigned jobs = 4;  // accounts fetched at the same time
  std::vector<FetchAccountConfig> accounts;
};

inline constexpr unsigned kMaxJobs = 64;

// Errors are errc::invalid_input with "FILE:LINE: key: problem". Unknown keys are errors: a
// misspelt "keep" must not turn into deleted mail. Relative paths start at the file's directory;
// a leading "~/" is the home directory.
Result<FetchConfig> load_fetch_config(const std::filesystem::path& file);

}  // namespace mailport::client
