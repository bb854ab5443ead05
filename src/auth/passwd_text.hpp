// Internal to mailport_auth: the line-level syntax of the passwd file, shared by the parser and
// the editor so both agree on what a comment or a user line is.
#pragma once

#include <cstddef>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "auth/passwd_file.hpp"
#include "core/result.hpp"

namespace mailport::auth::detail {

inline constexpr std::size_t kMaxLineLength = 64 * 1024;
inline constexpr std::size_t kMaxFileSize = 128 * 1024 * 1024;

// Splits on '\n' only: a "\r" stays part of its line, so an edit can write untouched lines back
// byte for byte. A final line without '\n' is kept; the empty piece after a final '\n' is not.
std::vector<std::string_view> split_lines(std::string_view text);

// The line as the parser sees it: without a trailing '\r'.
std::string_view logical_line(std::string_view raw);

// Blank (only spaces and tabs) or a comment ('#' first).
bool is_ignored_line(std::string_view line);

// The user name of a line that is not ignored: everything before the first ':'.
std::string_view line_user_name(std::string_view line);

// Parses one line that is not ignored; the error message carries no location.
Result<UserRecord> parse_user_line(std::string_view line);

// Reads a whole file from an open descriptor; errors name `path`.
Result<std::string> read_all(int fd, const std::filesystem::path& path);

}  // namespace mailport::auth::detail
