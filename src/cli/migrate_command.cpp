// `mailport migrate import` and `migrate pull`: take over the UIDLs an old POP3 server showed its
// clients, so that after the switch no client downloads an old message again; see
// docs/migration.md.
#include <algorithm>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "auth/passwd_file.hpp"
#include "cli/commands.hpp"
#include "cli/common.hpp"
#include "cli/password_input.hpp"
#include "client/password_file.hpp"
#include "client/progress.hpp"
#include "client/url.hpp"
#include "migrate/importer.hpp"
#include "migrate/pull.hpp"
#include "store/mail_store.hpp"
#include "store/store_factory.hpp"

namespace mailport::cli {
namespace {

constexpr std::string_view kImport = "migrate import";
constexpr std::string_view kPull = "migrate pull";

struct ImportFlags {
  std::string from;
  std::string uidl_format = "%08Xu%08Xv";
  std::string mail;
  std::filesystem::path passwd;
  std::vector<std::string> users;
  bool dry_run = false;
  std::optional<std::filesystem::path> csv;
};

migrate::ImportSource source_from_flag(const ImportFlags& flags) {
  if (flags.from == "dovecot") return migrate::ImportSource::dovecot;
  if (flags.from == "courier") return migrate::ImportSource::courier;
  if (flags.from == "xuidl") return migrate::ImportSource::xuidl;
  if (flags.from == "csv") {
    if (!flags.csv) fail_command(kImport, "--from csv needs --csv FILE", kExitUsage);
    return migrate::ImportSource::csv;
  }
  fail_command(kImport,
               "--from: expected dovecot, courier, xuidl or csv, not \"" + flags.from + "\"",
               kExitUsage);
}

std::vector<auth::UserRecord> selected_users(const ImportFlags& flags) {
  auto records = auth::parse_passwd_file(flags.passwd);
  if (!records) fail_command(kImport, records.error());
  if (flags.users.empty()) return std::move(*records);
  std::vector<auth::UserRecord> chosen;
  for (const auto& name : flags.users) {
    const auto it = std::ranges::find(*records, name, &auth::UserRecord::name);
    if (it == records->end()) {
      fail_command(kImport, "--users: no user \"" + name + "\" in " + flags.passwd.string(),
                   kExitNoUser);
    }
    chosen.push_back(*it);
  }
  return chosen;
}

void print_plan(const migrate::UserPlan& plan, bool dry_run) {
  std::cout << plan.user << ": " << plan.messages.size() << " messages, " << plan.added
            << (dry_run ? " UIDLs to import, " : " UIDLs imported, ") << plan.without_old_uidl()
            << " without an old UIDL, " << plan.collisions() << " collisions ("
            << plan.maildir.string() << ")\n";
  if (!dry_run) return;
  std::size_t number = 0;
  for (const auto& m : plan.messages) {
    std::cout << "  " << ++number << ' ' << m.uidl << ' ' << m.base;
    if (m.kept_existing)
      std::cout << "  KEPT (map already had it; old server said " << m.old_uidl << ')';
    else if (m.collision)
      std::cout << "  COLLISION (old UIDL " << m.old_uidl << " already listed)";
    else if (m.old_uidl.empty() && !m.from_map)
      std::cout << "  NO-OLD-UIDL";
    std::cout << '\n';
  }
}

void run_import(const ImportFlags& flags) {
  migrate::ImportOptions options;
  options.source = source_from_flag(flags);
  options.dry_run = flags.dry_run;
  auto format = migrate::UidlTemplate::parse(flags.uidl_format);
  if (!format) fail_command(kImport, "--uidl-format: " + format.error().message, kExitUsage);
  options.uidl_format = std::move(*format);
  const store::MailLocation location = store::parse_mail_location(flags.mail);
  if (location.kind != store::StoreKind::maildir) {
    fail_command(kImport, "--mail: only Maildir locations can be imported into", kExitUsage);
  }
  std::optional<migrate::CsvUidls> csv;
  if (options.source == migrate::ImportSource::csv) {
    std::ifstream in(*flags.csv, std::ios::binary);
    if (!in) fail_command(kImport, "cannot read " + flags.csv->string(), kExitIoErr);
    const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    auto parsed = migrate::parse_uidl_csv(text, flags.csv->string());
    if (!parsed) fail_command(kImport, parsed.error().message, kExitDataErr);
    csv = std::move(*parsed);
  }
  int status = kExitOk;
  std::set<std::string> seen;
  for (const auto& record : selected_users(flags)) {
    seen.insert(record.name);
    auto path = store::expand_template(location.path_template, {record.name, record.home});
    if (!path) fail_command(kImport, record.name + ": " + path.error().describe(), kExitDataErr);
    auto plan = migrate::import_user(record.name, *path, options, csv ? &*csv : nullptr);
    if (!plan) {
      std::cerr << "mailport: " << kImport << ": " << record.name << ": " << plan.error().describe()
                << std::endl;
      status = plan.error().is(errc::invalid_input) ? kExitDataErr : kExitIoErr;
      continue;
    }
    print_plan(*plan, flags.dry_run);
  }
  if (csv) {
    for (const auto& [user, uidls] : *csv) {
      if (!seen.contains(user) && flags.users.empty()) {
        std::cerr << "mailport: " << kImport << ": warning: " << flags.csv->string() << ": user \""
                  << user << "\" is not in " << flags.passwd.string() << std::endl;
      }
    }
  }
  std::cout << std::flush;
  if (status != kExitOk) throw CLI::RuntimeError(status);
}

void setup_import(CLI::App& migrate) {
  auto flags = std::make_shared<ImportFlags>();
  CLI::App* import = migrate.add_subcommand(
      "import", "Record the UIDLs an old server showed (read in place) in each user's UIDL map");
  import->add_option("--from", flags->from, "Old server's state: dovecot, courier, xuidl or csv")
      ->required();
  import->add_option("--uidl-format", flags->uidl_format,
                     "dovecot: the old pop3_uidl_format (default %08Xu%08Xv)");
  import->add_option("--mail", flags->mail, "Mail location template, e.g. /var/mail/%u/Maildir")
      ->required();
  import->add_option("--passwd", flags->passwd, "passwd file listing the users")
      ->required()
      ->check(CLI::ExistingFile);
  import->add_option("--users", flags->users, "Only these users (comma-separated)")->delimiter(',');
  import->add_flag("--dry-run", flags->dry_run,
                   "Print each user's resulting UIDL list, write nothing");
  import->add_option("--csv", flags->csv, "csv: file of user,message-file,uidl lines")
      ->check(CLI::ExistingFile);
  import->callback([flags] { run_import(*flags);
});
}  // namespace

struct PullFlags {
  std::string url;
  std::optional<std::string> mail;
  std::optional<std::filesystem::path> maildir;
  std::optional<std::string> local_user;
  std::optional<std::filesystem::path> password_file;
  std::optional<std::filesystem::path> cafile;
  bool insecure_plaintext = false;
  std::string auth = "auto";
  unsigned timeout = 60;
};

std::string pull_password(const PullFlags& flags) {
  if (flags.password_file) {
    auto read = client::read_password_file(*flags.password_file);
    if (!read) {
      fail_command(kPull, flags.password_file->string() + ": " + read.error().describe(),
                   kExitUsage);
    }
    return std::move(read->password);
  }
  if (const char* env = std::getenv("MAILPORT_PASSWORD"); env && *env) return env;
  fail_command(kPull, "no password: use --password-file FILE or MAILPORT_PASSWORD", kExitUsage);
}

// Where the copy goes: --maildir as given, or --mail expanded for the local user.
std::filesystem::path pull_target(const PullFlags& flags, const client::ServerUrl& url) {
  if (!!flags.mail == !!flags.maildir) {
    fail_command(kPull, "say where the mail goes: one of --mail TEMPLATE or --maildir DIR",
                 kExitUsage);
  }
  if (flags.maildir) return *flags.maildir;
  const store::MailLocation location = store::parse_mail_location(*flags.mail);
  if (location.kind != store::StoreKind::maildir) {
    fail_command(kPull, "--mail: only Maildir locations can be pulled into", kExitUsage);
  }
  auto path =
      store::expand_template(location.path_template, {flags.local_user.value_or(url.user), ""});
  if (!path) fail_command(kPull, "--mail: " + path.error().describe(), kExitUsage);
  return *path;
}

int pull_exit_code(const Error& error) {
  if (error.code.category() != mailport_category()) return kExitTempFail;
  if (error.is(errc::auth_failed)) return 77;  // EX_NOPERM, as fetch
  if (error.is(errc::invalid_input)) return kExitDataErr;
  if (error.is(errc::permanent_failure) || error.is(errc::not_found)) return 69;
  return kExitTempFail;
}

void run_pull(const PullFlags& flags) {
  std::signal(SIGPIPE, SIG_IGN);  // a server hanging up is an error value, not the end
  auto url = client::parse_server_url(flags.url);
  if (!url) fail_command(kPull, url.error().message, kExitUsage);
  migrate::PullOptions options;
  options.url = *url;
  options.maildir = pull_target(flags, *url);
  options.cafile = flags.cafile;
  options.insecure_plaintext = flags.insecure_plaintext;
  const auto method = client::parse_auth_method(flags.auth);
  if (!method) {
    fail_command(kPull, "--auth: expected auto, scram-sha-256, plain or user", kExitUsage);
  }
  options.auth = *method;
  options.timeout = std::chrono::seconds(flags.timeout);
  const std::string password = pull_password(flags);
  const std::string account = url->display();
  auto report = migrate::pull_mailbox(options, password, [&](std::string_view line) {
    std::cerr << "mailport: " << kPull << ": " << account << ": " << line << std::endl;
  });
  if (!report) {
    fail_command(kPull, account + ": " + client::error_text(report.error()),
                 pull_exit_code(report.error()));
  }
  std::cout << account << ": " << report->on_server << " messages on the server, " << report->copied
            << " copied (" << report->bytes << " octets), " << report->already_local
            << " already copied, " << report->failed.size() << " failed -> "
            << options.maildir.string() << '\n'
            << std::flush;
  for (const auto& failure : report->failed) {
    std::cerr << "mailport: " << kPull << ": " << account << ": " << failure << std::endl;
  }
  if (!report->failed.empty()) throw CLI::RuntimeError(kExitTempFail);
}

void setup_pull(CLI::App& migrate) {
  auto flags = std::make_shared<PullFlags>();
  CLI::App* pull = migrate.add_subcommand(
      "pull", "Copy a mailbox from a live POP3 server, keeping its UIDLs (never deletes there)");
  pull->add_option("url", flags->url, "pop3s://USER@HOST[:PORT] or pop3://USER@HOST[:PORT]")
      ->required();
  pull->add_option("--mail", flags->mail, "Mail location template for the local user");
  pull->add_option("--maildir", flags->maildir, "Copy into this Maildir");
  pull->add_option("--local-user", flags->local_user,
                   "Local login for --mail's %u/%n/%d (default: the user in the URL)");
  pull->add_option("--password-file", flags->password_file,
                   "File whose first line is the password (else MAILPORT_PASSWORD)");
  pull->add_option("--cafile", flags->cafile, "Trust this CA certificate (PEM) for the server")
      ->check(CLI::ExistingFile);
  pull->add_flag("--insecure-plaintext", flags->insecure_plaintext,
                 "pop3:// only: log in without TLS when the server offers no STLS");
  pull->add_option("--auth", flags->auth, "auto (default), scram-sha-256, plain or user");
  pull->add_option("--timeout", flags->timeout, "Seconds to wait for the server (default 60)")
      ->check(CLI::Range(1, 3600));
  pull->callback([flags] { run_pull(*flags); });
}

}  // namespace mailport::cli

void setup_migrate_command(CLI::App& app) {
  CLI::App* migrate = app.add_subcommand(
      "migrate",
      "Take over mailboxes from another POP3 server, or copy a store into PostgreSQL "
      "(--from maildir:TEMPLATE --to postgres:CONNINFO)");
  migrate->require_subcommand(0, 1);
  setup_import(*migrate);
  setup_pull(*migrate);
  setup_migrate_copy(*migrate);
}

}  // namespace mailport::cli
