// `mailport migrate --from maildir:TEMPLATE --to postgres:CONNINFO`: copies every user's mail
// into PostgreSQL with the UIDLs the old store showed, so POP3 clients download nothing twice.
// Messages whose UIDL the target already has are skipped, so an interrupted run is simply run
// again. The source is only read.
#include <algorithm>
#include <iostream>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "auth/passwd_file.hpp"
#include "cli/commands.hpp"
#include "cli/common.hpp"
#include "cli/password_input.hpp"
#include "config/config.hpp"
#include "pg/conninfo.hpp"
#include "pg/pool.hpp"
#include "store/pg_store.hpp"
#include "store/store_factory.hpp"

namespace mailport::cli {
namespace {

constexpr std::string_view kCommand = "migrate";
constexpr std::size_t kReadChunk = 64 * 1024;

struct CopyFlags {
  std::string from;
  std::string to;
  std::string passwd;
  std::vector<std::string> users;
};

struct Counts {
  std::size_t copied = 0;
  std::size_t skipped = 0;  // already in the target
  std::size_t failed = 0;
};

Result<std::string> read_message(store::Mailbox& mailbox, std::size_t index) {
  auto reader = mailbox.open_message(index);
  if (!reader) return reader.error();
  std::string message;
  std::vector<char> buffer(kReadChunk);
  for (;;) {
    auto got = (*reader)->read(buffer);
    if (!got) return got.error();
    if (*got == 0) return message;
    message.append(buffer.data(), *got);
  }
}

// The users to copy with their home directories (for %h): the passwd file's, or --users.
std::vector<store::UserContext> users_to_copy(const CopyFlags& flags) {
  std::vector<store::UserContext> known;
  if (!flags.passwd.empty()) {
    auto records = auth::parse_passwd_file(flags.passwd);
    if (!records) fail_command(kCommand, records.error());
    for (const auth::UserRecord& record : *records) known.push_back({record.name, record.home});
  }
  if (flags.users.empty()) return known;
  std::vector<store::UserContext> chosen;
  for (const std::string& name : flags.users) {
    auto it = std::find_if(known.begin(), known.end(),
                           [&name](const store::UserContext& user) { return user.login == name; });
    if (it != known.end()) {
      chosen.push_back(*it);
    } else if (flags.passwd.empty()) {
      chosen.push_back({name, ""});
    } else {
      fail_command(kCommand, "--users: " + name + " is not in " + flags.passwd, kExitNoUser);
    }
  }
  return chosen;
}

Counts copy_user(store::MailStore& source, pg::Pool& target, const store::UserContext& user) {
  Counts counts;
  auto present = store::postgres_uidls(target, user.login);
  if (!present) {
    std::cerr << "mailport: migrate: " << user.login << ": " << present.error().describe() << "\n";
    ++counts.failed;
    return counts;
  }
  auto mailbox = source.open(user);
  if (!mailbox) {
    std::cerr << "mailport: migrate: " << user.login << ": " << mailbox.error().describe() << "\n";
    ++counts.failed;
    return counts;
  }
  const auto& messages = (*mailbox)->messages();
  for (std::size_t index = 0; index < messages.size(); ++index) {
    if (present->contains(messages[index].uidl)) {
      ++counts.skipped;
      continue;
    }
    auto message = read_message(**mailbox, index);
    Result<bool> added =
        message ? store::import_to_postgres(target, user.login, messages[index].uidl, *message)
                : Result<bool>(message.error());
    if (!added) {
      std::cerr << "mailport: migrate: " << user.login << ": message " << messages[index].uidl
                << ": " << added.error().describe() << "\n";
      ++counts.failed;
    } else {
      ++(*added ? counts.copied : counts.skipped);
    }
  }
  return counts;
}

void run_copy(const CopyFlags& flags) {
  if (flags.from.empty() || flags.to.empty()) {
    fail_command(kCommand,
                 "give --from maildir:TEMPLATE and --to postgres:CONNINFO (or a subcommand)",
                 kExitUsage);
  }
  const store::MailLocation from = store::parse_mail_location(flags.from);
  if (from.kind == store::StoreKind::postgres) {
    fail_command(kCommand, "--from: expected maildir:TEMPLATE or mbox:TEMPLATE", kExitUsage);
  }
  auto conninfo = pg::strip_prefix(flags.to);
  if (!conninfo) {
    fail_command(kCommand,
                 "--to " + config::mask_secrets(flags.to) + ": expected postgres:CONNINFO",
                 kExitUsage);
  }
  if (auto checked = pg::check_conninfo(*conninfo); !checked) {
    fail_command(kCommand, "--to: " + checked.error().message, kExitUsage);
  }
  if (flags.passwd.empty() && flags.users.empty()) {
    fail_command(kCommand, "name the users: --passwd FILE and/or --users a,b", kExitUsage);
  }
  const std::vector<store::UserContext> users = users_to_copy(flags);
  auto source = store::make_store(from);
  auto target = pg::shared_pool(std::string(*conninfo), 2);
  Counts total;
  for (const store::UserContext& user : users) {
    const Counts counts = copy_user(*source, *target, user);
    std::cout << user.login << ": " << counts.copied << " copied, " << counts.skipped
              << " already there, " << counts.failed << " failed\n";
    total.copied += counts.copied;
    total.skipped += counts.skipped;
    total.failed += counts.failed;
  }
  std::cout << "total: " << users.size() << " users, " << total.copied << " copied, "
            << total.skipped << " already there, " << total.failed << " failed\n"
            << std::flush;
  if (total.failed > 0) {
    fail_command(kCommand, std::to_string(total.failed) + " failed; run it again to resume",
                 kExitTempFail);
  }
}

}  // namespace

void setup_migrate_copy(CLI::App& migrate) {
  auto flags = std::make_shared<CopyFlags>();
  migrate.add_option("--from", flags->from,
                     "Store to copy from: maildir:TEMPLATE or mbox:TEMPLATE (%u %n %d %h)");
  migrate.add_option("--to", flags->to, "Store to copy into: postgres:CONNINFO");
  migrate.add_option("--passwd", flags->passwd, "Users to copy (and their %h): a passwd file");
  migrate.add_option("--users", flags->users, "Only these users (comma-separated)")->delimiter(',');
  CLI::App* app = &migrate;
  migrate.callback([flags, app] {
    if (app->get_subcommands().empty()) run_copy(*flags);
  });
}

}  // namespace mailport::cli
