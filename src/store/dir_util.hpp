// Directory helpers on top of *at() system calls, so that a Maildir is addressed through the
// descriptors opened once at open time.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "core/result.hpp"
#include "core/unique_fd.hpp"

namespace mailport::store {

// mkdir -p with mode 0700 for every directory created (existing ones are left alone).
Result<void> make_directories(const std::filesystem::path& path);

Result<UniqueFd> open_directory(const std::filesystem::path& path);
Result<UniqueFd> open_directory_at(int dir_fd, const char* name);

// Creates `name` below `dir_fd` (mode 0700) unless it exists, then opens it.
Result<UniqueFd> make_and_open_directory_at(int dir_fd, const char* name);

// Names of the regular files in the directory, skipping dot-files, subdirectories, symlinks and
// entries that vanish while we look. Uses d_type, and fstatat only when the filesystem does not
// fill it in.
Result<std::vector<std::string>> list_regular_files(int dir_fd);

Result<void> sync_directory(int dir_fd, const char* what);

}  // namespace mailport::store
