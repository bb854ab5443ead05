// First start with the embedded default: make the data directory usable out of the box
// (certificate, users file with a demo account, a welcome message), once.
#pragma once

#include <string>

#include "config/config.hpp"
#include "core/result.hpp"

namespace mailport::cli {

struct DemoAccount {
  std::string user;
  std::string password;  // empty if the account was made by an older run and its note is gone
  bool created_now = false;
};

// Creates whatever of data_dir, TLS certificate/key, passwd file and demo mailbox is missing.
// With users or mail in PostgreSQL only the certificate is made (the account's user is empty).
Result<DemoAccount> bootstrap_data_dir(const config::Config& config);

// The ready-to-paste block printed once the listeners are bound.
std::string describe_ready(const config::Config& config, const DemoAccount& demo,
                           std::uint16_t pop3_port, std::uint16_t pop3s_port);

}  // namespace mailport::cli
