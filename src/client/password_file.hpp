// The password of `mailport fetch` from a file: its first line.
#pragma once

#include <filesystem>
#include <string>

#include "core/result.hpp"

namespace mailport::client {

struct PasswordFile {
  std::string password;
  bool readable_by_others = false;  // group or other may read it: worth a warning
};

// The first line without "\n" or "\r\n". An empty first line or a NUL byte is
// errc::invalid_input; files over 64 KiB are refused (a wrong path, not a password file).
Result<PasswordFile> read_password_file(const std::filesystem::path& path);

}  // namespace mailport::client
