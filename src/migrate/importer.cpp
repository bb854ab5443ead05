#include "migrate/importer.hpp"

#include <fcntl.h>
#include <strings.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <set>
#include <sstream>

#include "core/unique_fd.hpp"
#include "migrate/courier_sizelist.hpp"
#include "migrate/dovecot_uidlist.hpp"
#include "store/dir_util.hpp"
#include "store/maildir_name.hpp"
#include "store/maildir_snapshot.hpp"
#include "store/uidl_map.hpp"

namespace mailport::migrate {
namespace {

constexpr std::size_t kHeaderLimit = 256 * 1024;  // X-UIDL must be in the header block

using OldUidls = std::map<std::string, std::string, std::less<>>;  // base name -> old UIDL

Result<std::optional<std::string>> read_text_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    if (errno == ENOENT) return std::optional<std::string>();
    return Error::from_errno(errno, path.string());
  }
  std::ostringstream out;
  out << in.rdbuf();
  return std::optional<std::string>(out.str());
}

std::string base_of(std::string_view name) {
  const std::size_t slash = name.rfind('/');
  if (slash != std::string_view::npos) name.remove_prefix(slash + 1);
  return std::string(store::parse_maildir_name(name).base);
}

// Current messages: file names in cur/ and new/, in listing order.
struct MaildirFile {
  std::string name;
  std::filesystem::path path;
};

Result<std::vector<MaildirFile>> list_messages(const std::filesystem::path& maildir) {
  std::vector<std::string> names;
  std::map<std::string, std::filesystem::path> paths;
  for (const char* folder : {"cur", "new"}) {
    auto dir = store::open_directory(maildir / folder);
    if (!dir) {
      if (dir.error().code == std::errc::no_such_file_or_directory) continue;
      return dir.error();
    }
    auto listed = store::list_regular_files(dir->get());
    if (!listed) return listed.error();
    for (auto& name : *listed) {
      paths.emplace(name, maildir / folder / name);
      names.push_back(std::move(name));
    }
  }
  std::vector<MaildirFile> files;
  for (auto& name : store::listing_order(std::move(names))) {
    files.push_back(MaildirFile{name, paths[name]});
  }
  return files;
}

Result<OldUidls> dovecot_uidls(const std::filesystem::path& maildir, const UidlTemplate& format) {
  const auto path = maildir / "dovecot-uidlist";
  auto text = read_text_file(path);
  if (!text) return text.error();
  OldUidls uidls;
  if (!*text) return uidls;  // never opened by the old server: no client saw a UIDL
  auto list = parse_dovecot_uidlist(**text, path.string());
  if (!list) return list.error();
  for (const UidlistEntry& entry : list->entries) {
    const std::string base = base_of(entry.filename);
    // pop3_save_uidl kept the UIDL clients saw: it wins over the format, as in the old server.
    if (const auto saved = entry.field('P'); saved && !saved->empty()) {
      uidls.emplace(base, std::string(*saved));
      continue;
    }
    UidlFields fields;
    fields.uid = entry.uid;
    fields.uidvalidity = list->uidvalidity;
    fields.filename = base;
    const auto guid = entry.field('G');
    fields.guid = guid && !guid->empty() ? std::string(*guid) : base;
    uidls.emplace(base, format.expand(fields));
  }
  return uidls;
}

Result<OldUidls> courier_uidls(const std::filesystem::path& maildir) {
  const auto path = maildir / kCourierSizelistName;
  auto text = read_text_file(path);
  if (!text) return text.error();
  OldUidls uidls;
  if (!*text) return uidls;
  auto list = parse_courier_sizelist(**text, path.string());
  if (!list) return list.error();
  for (const CourierEntry& entry : list->entries)
    uidls.emplace(base_of(entry.filename), entry.uidl);
  return uidls;
}

// The X-UIDL header value of a message file, if its header block has one.
Result<std::optional<std::string>> read_x_uidl(const std::filesystem::path& path) {
  const UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  if (!fd) return Error::from_errno(errno, path.string());
  std::string head;
  char buffer[8192];
  while (head.size() < kHeaderLimit) {
    const ssize_t n = ::read(fd.get(), buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Error::from_errno(errno, path.string());
    if (n == 0) break;
    head.append(buffer, static_cast<std::size_t>(n));
    if (head.find("\n\n") != std::string::npos || head.find("\r\n\r\n") != std::string::npos) break;
  }
  std::istringstream lines(head);
  for (std::string line; std::getline(lines, line);) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) break;
    if (line.size() < 7 || strncasecmp(line.c_str(), "x-uidl:", 7) != 0) continue;
    const std::size_t start = line.find_first_not_of(" \t", 7);
    if (start == std::string::npos) return std::optional<std::string>();
    const std::size_t end = line.find_last_not_of(" \t");
    return std::optional<std::string>(line.substr(start, end - start + 1));
  }
  return std::optional<std::string>();
}

Result<OldUidls> xuidl_uidls(const std::vector<MaildirFile>& files) {
  OldUidls uidls;
  for (const MaildirFile& file : files) {
    auto value = read_x_uidl(file.path);
    if (!value) {
      if (value.error().code == std::errc::no_such_file_or_directory)
        continue;  // expunged meanwhile
      return value.error();
    }
    if (*value) uidls.emplace(base_of(file.name), **value);
  }
  return uidls;
}

Result<OldUidls> old_uidls(const std::filesystem::path& maildir,
                           const std::vector<MaildirFile>& files, const ImportOptions& options,
                           const std::string& user, const CsvUidls* csv) {
  switch (options.source) {
    case ImportSource::dovecot:
      return dovecot_uidls(maildir, options.uidl_format);
    case ImportSource::courier:
      return courier_uidls(maildir);
    case ImportSource::xuidl:
      return xuidl_uidls(files);
    case ImportSource::csv: {
      OldUidls uidls;
      if (csv == nullptr) return uidls;
      if (const auto it = csv->find(user); it != csv->end()) {
        for (const auto& [base, uidl] : it->second) uidls.emplace(base, uidl);
      }
      return uidls;
    }
  }
  return OldUidls{};
}

// Adds the old UIDLs to the map in listing order, skipping any that an earlier message already
// holds (that one keeps it; the later one keeps mailport's own UIDL and is flagged).
Result<std::size_t> extend_map(store::UidlMap& map, const std::vector<MaildirFile>& files,
                               const OldUidls& old) {
  std::set<std::string, std::less<>> taken;
  for (const auto& [base, uidl] : map.entries()) taken.insert(uidl);
  std::size_t added = 0;
  for (const MaildirFile& file : files) {
    const std::string base = base_of(file.name);
    const auto it = old.find(base);
    if (it == old.end() || map.find(base) || taken.contains(it->second)) continue;
    auto result = map.add(base, it->second);
    if (!result) {
      return make_error(errc::invalid_input, file.path.string() + ": " + result.error().message);
    }
    taken.insert(it->second);
    ++added;
  }
  return added;
}

}  // namespace

std::size_t UserPlan::without_old_uidl() const {
  std::size_t count = 0;
  for (const auto& m : messages) count += m.old_uidl.empty() && !m.from_map ? 1 : 0;
  return count;
}

std::size_t UserPlan::collisions() const {
  std::size_t count = 0;
  for (const auto& m : messages) count += m.collision || m.kept_existing ? 1 : 0;
  return count;
}

Result<CsvUidls> parse_uidl_csv(std::string_view text, std::string_view origin) {
  CsvUidls uidls;
  std::size_t number = 0;
  const auto fail = [&](std::string_view what) {
    return make_error(errc::invalid_input, std::string(origin) + ":" + std::to_string(number) +
                                               ": " + std::string(what));
  };
  while (!text.empty()) {
    ++number;
    const std::size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    if (line.ends_with('\r')) line.remove_suffix(1);
    if (line.empty() || line.starts_with('#')) continue;
    const std::size_t first = line.find(',');
    const std::size_t last = line.rfind(',');
    if (first == std::string_view::npos || first == last) {
      return fail("expected \"user,message-file,uidl\"");
    }
    const std::string_view user = line.substr(0, first);
    const std::string base = base_of(line.substr(first + 1, last - first - 1));
    const std::string_view uidl = line.substr(last + 1);
    if (user.empty() || base.empty()) return fail("empty user or message file");
    if (!store::is_valid_uidl(uidl)) {
      return fail("invalid UIDL \"" + std::string(uidl) + "\" (1-70 characters 0x21-0x7E)");
    }
    auto& per_user = uidls[std::string(user)];
    if (per_user.contains(base)) return fail("message " + base + " listed twice");
    per_user.emplace(base, std::string(uidl));
  }
  if (number == 0) return make_error(errc::invalid_input, std::string(origin) + ": empty file");
  return uidls;
}

PlannedMessage plan_message(std::string base, std::string old_uidl, std::string own_uidl,
                            store::UidlAssigner& assigner, const store::UidlMap& map) {
  PlannedMessage message;
  message.base = std::move(base);
  message.old_uidl = std::move(old_uidl);
  auto assigned = assigner.assign(message.base, std::move(own_uidl));
  message.uidl = std::move(assigned.uidl);
  message.from_map = assigned.from_map;
  const auto mapped = map.find(message.base);
  message.kept_existing = mapped && !message.old_uidl.empty() && *mapped != message.old_uidl;
  message.collision =
      !message.old_uidl.empty() && !message.kept_existing && message.uidl != message.old_uidl;
  return message;
}

Result<UserPlan> import_user(const std::string& user, const std::filesystem::path& maildir,
                             const ImportOptions& options, const CsvUidls* csv) {
  UserPlan plan;
  plan.user = user;
  plan.maildir = maildir;
  auto files = list_messages(maildir);
  if (!files) return files.error();
  auto old = old_uidls(maildir, *files, options, user, csv);
  if (!old) return old.error();
  for (const auto& [base, uidl] : *old) {
    if (!store::is_valid_uidl(uidl)) {
      return make_error(errc::invalid_input, maildir.string() + ": message " + base +
                                                 ": old UIDL \"" + uidl +
                                                 "\" is not a valid POP3 unique-id");
    }
  }
  auto map = store::UidlMap::load_file(maildir);
  if (!map) return map.error();
  auto added = extend_map(*map, *files, *old);
  if (!added) return added.error();
  plan.added = *added;

  store::UidlAssigner assigner(*map);
  for (const MaildirFile& file : *files) {
    std::string base = base_of(file.name);
    std::string old_uidl;
    if (const auto it = old->find(base); it != old->end()) old_uidl = it->second;
    std::string own = store::maildir_uidl(base);
    plan.messages.push_back(
        plan_message(std::move(base), std::move(old_uidl), std::move(own), assigner, *map));
  }
  if (!options.dry_run && plan.added > 0) {
    if (auto saved = map->save_file(maildir); !saved) return saved.error();
  }
  return plan;
}

}  // namespace mailport::migrate
