// Shared by the `user` and `hash` subcommands: password input, --scheme, and turning auth errors
// into a message and an exit code.
#pragma once

#include <string>
#include <string_view>

#include "auth/password.hpp"
#include "core/result.hpp"

namespace mailport::cli {

// Prints "mailport: <command>: <message>" on stderr and ends the subcommand with `exit_code`
// (throws CLI::RuntimeError, which main() turns into the process exit status).
[[noreturn]] void fail_command(std::string_view command, std::string_view message, int exit_code);

// Fails with the exit code that fits an error from the auth library: kExitNoUser, kExitDataErr,
// kExitTempFail, or kExitIoErr for a system error.
[[noreturn]] void fail_command(std::string_view command, const Error& error);

// The --scheme value; an unknown name is a usage error naming the flag and the choices.
auth::Scheme scheme_from_flag(std::string_view command, std::string_view name);

// The new password from standard input: prompted twice without echo on a terminal, otherwise
// the first line. Anything unusable (empty, mismatch, end of input) ends the command.
std::string read_password_from_stdin(std::string_view command);

}  // namespace mailport::cli
