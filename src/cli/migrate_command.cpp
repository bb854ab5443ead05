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
#include "migrate/old_server.hpp"
#include "migrate/pop3_import.hpp"
#include "migrate/pull.hpp"
#include "store/mail_store.hpp"
#include "store/store_factory.hpp"

namespace mailport::cli {
namespace {

constexpr std::string_view kImport = "migrate import";
constexpr std::string_view kPull = "migrate pull";

// How to reach and log in to the old server: `pull` and `import --from pop3`.
struct OldServerFlags {
  std::optional<std::filesystem::path> password_file;
  std::optional<std::filesystem::path> cafile;
  bool insecure_plaintext = false;
  std::string auth = "auto";
  unsigned timeout = 60;
};

void add_old_server_options(CLI::App& command, OldServerFlags& flags) {
  command.add_option("--password-file", flags.password_file,
                     "File whose first line is the password (else MAILPORT_PASSWORD)");
  command.add_option("--cafile", flags.cafile, "Trust this CA certificate (PEM) for the server")
      ->check(CLI::ExistingFile);
  command.add_flag("--insecure-plaintext", flags.insecure_plaintext,
                   "pop3:// only: log in without TLS when the server offers no STLS");
  command.add_option("--auth", flags.auth, "auto (default), scram-sha-256, plain or user");
  command.add_option("--timeout", flags.timeout, "Seconds to wait for the server (default 60)")
      ->check(CLI::Range(1, 3600));
}

std::string old_server_password(std::string_view command, const OldServerFlags& flags) {
  if (flags.password_file) {
    auto read = client::read_password_file(*flags.password_file);
    if (!read) {
      fail_command(command, flags.password_file->string() + ": " + read.error().describe(),
                   kExitUsage);
    }
    return std::move(read->password);
  }
  if (const char* env = std::getenv("MAILPORT_PASSWORD"); env && *env) return env;
  fail_command(command, "no password: use --password-file FILE or MAILPORT_PASSWORD", kExitUsage);
}

migrate::OldServerOptions old_server_options(std::string_view command, const std::string& url_text,
                                             const OldServerFlags& flags) {
  auto url = client::parse_server_url(url_text);
  if (!url) fail_command(command, url.error().message, kExitUsage);
  migrate::OldServerOptions options;
  options.url = *url;
  options.cafile = flags.cafile;
  options.insecure_plaintext = flags.insecure_plaintext;
  const auto method = client::parse_auth_method(flags.auth);
  if (!method) {
    fail_command(command, "--auth: expected auto, scram-sha-256, plain or user", kExitUsage);
  }
  options.auth = *method;
  options.timeout = std::chrono::seconds(flags.timeout);
  return options;
}

// The old server's errors as exit codes: 77 refused login, 65 bad local data, 69 permanent.
int old_server_exit_code(const Error& error) {
  if (error.code.category() != mailport_category()) return kExitTempFail;
  if (error.is(errc::auth_failed)) return 77;  // EX_NOPERM, as fetch
  if (error.is(errc::invalid_input)) return kExitDataErr;
  if (error.is(errc::permanent_failure) || error.is(errc::not_found)) return 69;
  return kExitTempFail;
}

struct ImportFlags {
  std::string from;
  std::string url;  // --from pop3
  std::optional<std::filesystem::path> mbox;
  std::optional<std::string> local_user;
  OldServerFlags server;
  std::string uidl_format = "%08Xu%08Xv";
  std::string mail;
  std::optional<std::filesystem::path> passwd;
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
               "--from: expected dovecot, courier, xuidl, csv or pop3, not \"" + flags.from + "\"",
               kExitUsage);
}

std::vector<auth::UserRecord> selected_users(const ImportFlags& flags) {
  auto records = auth::parse_passwd_file(*flags.passwd);
  if (!records) fail_command(kImport, records.error());
  if (flags.users.empty()) return std::move(*records);
  std::vector<auth::UserRecord> chosen;
  for (const auto& name : flags.users) {
    const auto it = std::ranges::find(*records, name, &auth::UserRecord::name);
    if (it == records->end()) {
      fail_command(kImport, "--users: no user \"" + name + "\" in " + flags.passwd->string(),
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

// --from pop3: the spool is --mbox, or --mail (an mbox: template) for --local-user.
std::filesystem::path pop3_import_spool(const ImportFlags& flags, const client::ServerUrl& url) {
  if (flags.mbox.has_value() == !flags.mail.empty()) {
    fail_command(kImport, "--from pop3: name the spool with one of --mbox FILE or --mail TEMPLATE",
                 kExitUsage);
  }
  if (flags.mbox) return *flags.mbox;
  const store::MailLocation location = store::parse_mail_location(flags.mail);
  if (location.kind != store::StoreKind::mbox) {
    fail_command(kImport,
                 "--from pop3 imports into mbox spools (--mail mbox:TEMPLATE); for a Maildir use "
                 "`migrate pull` or the old server's state files",
                 kExitUsage);
  }
  auto path =
      store::expand_template(location.path_template, {flags.local_user.value_or(url.user), ""});
  if (!path) fail_command(kImport, "--mail: " + path.error().describe(), kExitUsage);
  return *path;
}

void run_pop3_import(const ImportFlags& flags) {
  std::signal(SIGPIPE, SIG_IGN);  // a server hanging up is an error value, not the end
  if (flags.url.empty())
    fail_command(kImport, "--from pop3 needs the old server's URL", kExitUsage);
  if (flags.passwd || !flags.users.empty() || flags.csv) {
    fail_command(kImport,
                 "--from pop3 imports one account: --passwd, --users and --csv do not apply",
                 kExitUsage);
  }
  migrate::Pop3ImportOptions options;
  options.server = old_server_options(kImport, flags.url, flags.server);
  options.spool = pop3_import_spool(flags, options.server.url);
  options.dry_run = flags.dry_run;
  const std::string password = old_server_password(kImport, flags.server);
  const std::string account = options.server.url.display();
  const auto say = [&](const std::string& line) {
    std::cerr << "mailport: " << kImport << ": " << account << ": " << line << std::endl;
  };
  auto plan = migrate::import_from_pop3(options, password, say,
                                        [&](const std::string& line) { say("warning: " + line); });
  if (!plan) {
    fail_command(kImport, account + ": " + client::error_text(plan.error()),
                 old_server_exit_code(plan.error()));
  }
  print_plan(*plan, flags.dry_run);
  std::cout << std::flush;
}

void run_import(const ImportFlags& flags) {
  if (flags.from == "pop3") return run_pop3_import(flags);
  if (!flags.url.empty() || flags.mbox) {
    fail_command(kImport, "a URL and --mbox go with --from pop3 only", kExitUsage);
  }
  if (flags.mail.empty() || !flags.passwd) {
    fail_command(kImport, "--from " + flags.from + " needs --mail TEMPLATE and --passwd FILE",
                 kExitUsage);
  }
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
                  << user << "\" is not in " << flags.passwd->string() << std::endl;
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
  import
      ->add_option("--from", flags->from,
                   "Old server's state: dovecot, courier, xuidl, csv, or pop3 (ask the live "
                   "server for an mbox spool's UIDLs)")
      ->required();
  import->add_option("url", flags->url, "pop3: the old server, pop3s://USER@HOST[:PORT]");
  import->add_option("--uidl-format", flags->uidl_format,
                     "dovecot: the old pop3_uidl_format (default %08Xu%08Xv)");
  import->add_option("--mail", flags->mail,
                     "Mail location template, e.g. /var/mail/%u/Maildir (pop3: mbox:/var/mail/%u)");
  import->add_option("--passwd", flags->passwd, "passwd file listing the users")
      ->check(CLI::ExistingFile);
  import->add_option("--mbox", flags->mbox, "pop3: the spool file the old server serves");
  import->add_option("--local-user", flags->local_user,
                     "pop3: login for --mail's %u/%n/%d (default: the user in the URL)");
  add_old_server_options(*import, flags->server);
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
  OldServerFlags server;
};

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

void run_pull(const PullFlags& flags) {
  std::signal(SIGPIPE, SIG_IGN);  // a server hanging up is an error value, not the end
  migrate::PullOptions options;
  options.server = old_server_options(kPull, flags.url, flags.server);
  options.maildir = pull_target(flags, options.server.url);
  const std::string password = old_server_password(kPull, flags.server);
  const std::string account = options.server.url.display();
  auto report = migrate::pull_mailbox(options, password, [&](std::string_view line) {
    std::cerr << "mailport: " << kPull << ": " << account << ": " << line << std::endl;
  });
  if (!report) {
    fail_command(kPull, account + ": " + client::error_text(report.error()),
                 old_server_exit_code(report.error()));
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
  add_old_server_options(*pull, flags->server);
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
