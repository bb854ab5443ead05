// `mailport hash`: prints "{SCHEME}hash" for a password read from standard input, for pasting
// into a passwd file by hand or generating one with other tools.
#include <string.h>

#include <iostream>
#include <memory>
#include <string>

#include "auth/password.hpp"
#include "cli/commands.hpp"
#include "cli/password_input.hpp"

namespace mailport::cli {
namespace {

struct HashFlags {
  std::string scheme{auth::scheme_name(auth::kDefaultScheme)};
};

void run_hash(const HashFlags& flags) {
  constexpr std::string_view kCommand = "hash";
  const auto scheme = scheme_from_flag(kCommand, flags.scheme);
  std::string password = read_password_from_stdin(kCommand);
  auto hash = auth::hash_password(password, scheme);
  ::explicit_bzero(password.data(), password.size());
  if (!hash) fail_command(kCommand, hash.error());
  std::cout << *hash << std::endl;
}

}  // namespace

void setup_hash_command(CLI::App& app) {
  auto flags = std::make_shared<HashFlags>();
  CLI::App* hash = app.add_subcommand(
      "hash", "Hash a password read from standard input and print it as {SCHEME}hash");
  hash->add_option("--scheme", flags->scheme,
                   "ARGON2ID (default), BLF-CRYPT, SHA512-CRYPT, SHA256-CRYPT or PLAIN");
  hash->callback([flags] { run_hash(*flags); });
}

}  // namespace mailport::cli
