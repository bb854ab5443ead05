#include "cli/password_input.hpp"

#include <unistd.h>

#include <CLI/CLI.hpp>
#include <iostream>

#include "auth/password_input.hpp"
#include "cli/common.hpp"

namespace mailport::cli {

void fail_command(std::string_view command, std::string_view message, int exit_code) {
  std::cerr << "mailport: " << command << ": " << message << '\n';
  throw CLI::RuntimeError(exit_code);
}

void fail_command(std::string_view command, const Error& error) {
  // Our own errors carry a complete sentence; system errors need the errno text appended.
  const bool own = error.code.category() == mailport_category() && !error.message.empty();
  const std::string message = own ? error.message : error.describe();
  int code = kExitIoErr;
  if (error.is(errc::not_found)) code = kExitNoUser;
  if (error.is(errc::invalid_input)) code = kExitDataErr;
  if (error.is(errc::temporary_failure)) code = kExitTempFail;
  fail_command(command, message, code);
}

auth::Scheme scheme_from_flag(std::string_view command, std::string_view name) {
  if (auto scheme = auth::parse_scheme(name)) return *scheme;
  fail_command(command,
               "--scheme: unknown scheme '" + std::string(name) +
                   "' (choose ARGON2ID, BLF-CRYPT, SHA512-CRYPT, SHA256-CRYPT or PLAIN)",
               kExitUsage);
}

std::string read_password_from_stdin(std::string_view command) {
  auto password = auth::read_new_password(STDIN_FILENO, STDERR_FILENO, true);
  if (!password) {
    const auto& error = password.error();
    const bool own = error.code.category() == mailport_category();
    fail_command(command, own ? error.message : error.describe(), own ? kExitDataErr : kExitIoErr);
  }
  return std::move(password).value();
}

}  // namespace mailport::cli
