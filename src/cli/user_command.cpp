// `mailport user add|passwd|del|list`: edits the passwd file the server reads.
#include <string.h>

#include <cctype>
#include <charconv>
#include <filesystem>
#include <iostream>
#include <memory>
#include <optional>
#include <string>

#include "auth/passwd_file.hpp"
#include "auth/password.hpp"
#include "auth/pg_passdb.hpp"
#include "cli/commands.hpp"
#include "cli/common.hpp"
#include "cli/password_input.hpp"
#include "config/config.hpp"
#include "pg/conninfo.hpp"
#include "pg/pool.hpp"

namespace mailport::cli {
namespace {

namespace fs = std::filesystem;

struct FileFlags {
  std::string passwd;
  std::string passdb;
  std::string config;
};

struct AddFlags {
  FileFlags files;
  std::string name;
  std::string scheme{auth::scheme_name(auth::kDefaultScheme)};
  std::string uid;
  std::string gid;
  std::string home;
};

struct PasswdFlags {
  FileFlags files;
  std::string name;
  std::string scheme{auth::scheme_name(auth::kDefaultScheme)};
};

struct DelFlags {
  FileFlags files;
  std::string name;
};

struct ListFlags {
  FileFlags files;
  bool long_format = false;
};

void add_file_flags(CLI::App& command, FileFlags& files) {
  command.add_option("--passwd", files.passwd,
                     "passwd file (default: auth.passwd of --config or of the embedded default)");
  command.add_option("--passdb", files.passdb, "users in PostgreSQL: postgres:CONNINFO");
  command.add_option("--config", files.config,
                     "TOML configuration whose auth.passdb or auth.passwd to use");
}

// The PostgreSQL user database the flags name (--passdb, else auth.passdb of --config unless
// --passwd is given), or nullptr for a passwd file.
std::shared_ptr<pg::Pool> database(std::string_view command, const FileFlags& files) {
  std::string spec = files.passdb;
  if (spec.empty() && files.passwd.empty() && !files.config.empty()) {
    try {
      spec = base_config(fs::path(files.config)).auth.passdb;
    } catch (const std::exception& e) {
      fail_command(command, e.what(), kExitConfig);
    }
  }
  if (spec.empty()) return nullptr;
  auto conninfo = pg::strip_prefix(spec);
  if (!conninfo) {
    fail_command(command, "--passdb " + config::mask_secrets(spec) + ": expected postgres:CONNINFO",
                 kExitUsage);
  }
  if (auto checked = pg::check_conninfo(*conninfo); !checked) {
    fail_command(command, "--passdb: " + checked.error().message, kExitUsage);
  }
  return pg::shared_pool(std::string(*conninfo), 2);
}

std::string where(const std::shared_ptr<pg::Pool>& db, const fs::path& path) {
  return db ? "PostgreSQL (" + pg::describe_conninfo(db->conninfo()) + ")" : path.string();
}

std::optional<auth::UserRecord> current_db_record(std::string_view command, pg::Pool& db,
                                                  std::string_view name) {
  auth::PgPassDb passdb(db.shared_from_this());
  auto found = passdb.lookup(name);
  if (!found) fail_command(command, found.error());
  return std::move(*found);
}

fs::path passwd_path(std::string_view command, const FileFlags& files) {
  if (!files.passwd.empty()) return files.passwd;
  std::optional<fs::path> config_file;
  if (!files.config.empty()) config_file = files.config;
  try {
    return base_config(config_file).auth.passwd;
  } catch (const config::ConfigError& e) {
    fail_command(command, e.what(), kExitConfig);
  } catch (const std::exception& e) {
    fail_command(command, std::string("--config: ") + e.what(), kExitConfig);
  }
}

// The user's current record; nullopt if the file or the user does not exist. Checked before
// asking for a password so a typo does not cost the admin a prompt; the edit checks again
// under its lock.
std::optional<auth::UserRecord> current_record(std::string_view command, const fs::path& path,
                                               std::string_view name) {
  std::error_code ec;
  if (!fs::exists(path, ec)) return std::nullopt;
  auto users = auth::parse_passwd_file(path);
  if (!users) fail_command(command, users.error());
  for (auto& user : *users) {
    if (user.name == name) return std::move(user);
  }
  return std::nullopt;
}

void require_valid_name(std::string_view command, const std::string& name) {
  if (auth::valid_user_name(name)) return;
  fail_command(command,
               "NAME: invalid user name '" + name +
                   "' (1-255 octets without ':', spaces or control characters)",
               kExitUsage);
}

template <class Id>
std::optional<Id> id_flag(std::string_view command, std::string_view flag,
                          const std::string& text) {
  if (text.empty()) return std::nullopt;
  Id value{};
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) {
    fail_command(command,
                 std::string(flag) + ": expected a non-negative number, got '" + text + "'",
                 kExitUsage);
  }
  return value;
}

void warn_if_plain(std::string_view command, auth::Scheme scheme) {
  if (scheme != auth::Scheme::plain) return;
  std::cerr << "mailport: " << command
            << ": warning: PLAIN stores the password as clear text; use it for tests only\n";
}

std::string new_password_hash(std::string_view command, auth::Scheme scheme) {
  std::string password = read_password_from_stdin(command);
  auto hash = auth::hash_password(password, scheme);
  ::explicit_bzero(password.data(), password.size());
  if (!hash) fail_command(command, hash.error());
  return std::move(hash).value();
}

void run_add(const AddFlags& flags) {
  constexpr std::string_view kCommand = "user add";
  require_valid_name(kCommand, flags.name);
  const auto scheme = scheme_from_flag(kCommand, flags.scheme);
  auth::UserRecord record;
  record.name = flags.name;
  record.uid = id_flag<uid_t>(kCommand, "--uid", flags.uid);
  record.gid = id_flag<gid_t>(kCommand, "--gid", flags.gid);
  if (flags.home.find_first_of(":\r\n") != std::string::npos) {
    fail_command(kCommand, "--home: must not contain ':' or a line break", kExitUsage);
  }
  record.home = flags.home;
  const auto db = database(kCommand, flags.files);
  const auto path = db ? fs::path() : passwd_path(kCommand, flags.files);
  if (db ? current_db_record(kCommand, *db, flags.name).has_value()
         : current_record(kCommand, path, flags.name).has_value()) {
    fail_command(kCommand, "user '" + flags.name + "' already exists in " + where(db, path),
                 kExitDataErr);
  }
  warn_if_plain(kCommand, scheme);
  record.password = new_password_hash(kCommand, scheme);
  if (db) {
    if (auto added = auth::pg_add_user(*db, record); !added) fail_command(kCommand, added.error());
    std::cout << "user '" << flags.name << "' added to " << where(db, path) << '\n';
    return;
  }
  // A fresh setup may not have the data directory yet; the file itself gets mode 0640.
  std::error_code ec;
  if (path.has_parent_path()) fs::create_directories(path.parent_path(), ec);
  if (auto added = auth::add_user(path, record); !added) fail_command(kCommand, added.error());
  std::cout << "user '" << flags.name << "' added to " << path.string() << '\n';
}

void run_passwd(const PasswdFlags& flags) {
  constexpr std::string_view kCommand = "user passwd";
  const auto scheme = scheme_from_flag(kCommand, flags.scheme);
  const auto db = database(kCommand, flags.files);
  const auto path = db ? fs::path() : passwd_path(kCommand, flags.files);
  if (db ? !current_db_record(kCommand, *db, flags.name)
         : !current_record(kCommand, path, flags.name)) {
    fail_command(kCommand, "user '" + flags.name + "' not found in " + where(db, path),
                 kExitNoUser);
  }
  warn_if_plain(kCommand, scheme);
  const auto hash = new_password_hash(kCommand, scheme);
  if (db) {
    if (auto changed = auth::pg_set_password(*db, flags.name, hash); !changed) {
      fail_command(kCommand, changed.error());
    }
    std::cout << "password of user '" << flags.name << "' changed in " << where(db, path) << '\n';
    return;
  }
  if (auto changed = auth::set_password(path, flags.name, hash); !changed) {
    fail_command(kCommand, changed.error());
  }
  std::cout << "password of user '" << flags.name << "' changed in " << path.string() << '\n';
}

void run_del(const DelFlags& flags) {
  constexpr std::string_view kCommand = "user del";
  if (const auto db = database(kCommand, flags.files)) {
    if (auto deleted = auth::pg_delete_user(*db, flags.name); !deleted) {
      fail_command(kCommand, deleted.error());
    }
    std::cout << "user '" << flags.name << "' deleted from " << where(db, {}) << '\n';
    return;
  }
  const auto path = passwd_path(kCommand, flags.files);
  if (auto deleted = auth::delete_user(path, flags.name); !deleted) {
    fail_command(kCommand, deleted.error());
  }
  std::cout << "user '" << flags.name << "' deleted from " << path.string() << '\n';
}

// The scheme as an admin would name it, also for values mailport only verifies.
std::string scheme_label(std::string_view stored) {
  if (auto scheme = auth::stored_scheme(stored)) return std::string(auth::scheme_name(*scheme));
  if (stored.empty()) return "(none)";
  const auto close = stored.find('}');
  if (stored.starts_with('{') && close != std::string_view::npos) {
    std::string name(stored.substr(1, close - 1));
    for (char& c : name) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return name;
  }
  return "CRYPT";
}

void run_list(const ListFlags& flags) {
  constexpr std::string_view kCommand = "user list";
  const auto db = database(kCommand, flags.files);
  auto users =
      db ? auth::pg_list_users(*db) : auth::parse_passwd_file(passwd_path(kCommand, flags.files));
  if (!users) fail_command(kCommand, users.error());
  for (const auto& user : *users) {
    std::cout << user.name;
    if (flags.long_format) std::cout << '\t' << scheme_label(user.password);
    std::cout << '\n';
  }
  std::cout << std::flush;
}

void setup_add(CLI::App& user) {
  auto flags = std::make_shared<AddFlags>();
  CLI::App* add = user.add_subcommand(
      "add", "Add a user; the password is read from standard input (prompted on a terminal)");
  add->add_option("NAME", flags->name, "user name")->required();
  add_file_flags(*add, flags->files);
  add->add_option("--scheme", flags->scheme,
                  "ARGON2ID (default), BLF-CRYPT, SHA512-CRYPT, SHA256-CRYPT or PLAIN");
  add->add_option("--uid", flags->uid, "numeric uid stored in the passwd line");
  add->add_option("--gid", flags->gid, "numeric gid stored in the passwd line");
  add->add_option("--home", flags->home, "home directory stored in the passwd line (%h)");
  add->callback([flags] { run_add(*flags); });
}

void setup_passwd(CLI::App& user) {
  auto flags = std::make_shared<PasswdFlags>();
  CLI::App* passwd = user.add_subcommand(
      "passwd", "Change a user's password, read from standard input (prompted on a terminal)");
  passwd->add_option("NAME", flags->name, "user name")->required();
  add_file_flags(*passwd, flags->files);
  passwd->add_option("--scheme", flags->scheme,
                     "ARGON2ID (default), BLF-CRYPT, SHA512-CRYPT, SHA256-CRYPT or PLAIN");
  passwd->callback([flags] { run_passwd(*flags); });
}

void setup_del(CLI::App& user) {
  auto flags = std::make_shared<DelFlags>();
  CLI::App* del = user.add_subcommand("del", "Delete a user (the mail is left in place)");
  del->add_option("NAME", flags->name, "user name")->required();
  add_file_flags(*del, flags->files);
  del->callback([flags] { run_del(*flags); });
}

void setup_list(CLI::App& user) {
  auto flags = std::make_shared<ListFlags>();
  CLI::App* list = user.add_subcommand("list", "List the users, one per line");
  add_file_flags(*list, flags->files);
  list->add_flag("--long,-l", flags->long_format, "also show each user's password scheme");
  list->callback([flags] { run_list(*flags); });
}

}  // namespace

void setup_user_command(CLI::App& app) {
  CLI::App* user =
      app.add_subcommand("user", "Manage the users of the passwd file or of a PostgreSQL passdb");
  user->require_subcommand(1);
  setup_add(*user);
  setup_passwd(*user);
  setup_del(*user);
  setup_list(*user);
}

}  // namespace mailport::cli
