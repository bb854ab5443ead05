// Reading a new password for the `user` and `hash` subcommands. Passwords never come from argv
// (other local users can read it in /proc).
#pragma once

#include <cstddef>
#include <string>

#include "core/result.hpp"

namespace mailport::auth {

inline constexpr std::size_t kMaxPasswordLength = 4096;

// From a terminal: writes prompts to `prompt_fd`, reads with echo off, and with `confirm` asks a
// second time and requires both to match. From anything else: one line, without its "\n" or
// "\r\n". An empty password, a NUL byte or more than kMaxPasswordLength octets is an
// errc::invalid_input error; a read failure keeps its errno.
Result<std::string> read_new_password(int in_fd, int prompt_fd, bool confirm = true);

}  // namespace mailport::auth
