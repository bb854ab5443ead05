#include "store/maildir_store.hpp"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <iterator>

#include "core/unique_fd.hpp"
#include "store/dir_util.hpp"
#include "store/maildir_lock.hpp"
#include "store/maildir_name.hpp"
#include "store/maildir_snapshot.hpp"

namespace mailport::store {
namespace {

// Another MUA may rename a message again between our lookup and our open/unlink; give up after
// a few rounds instead of chasing it forever.
constexpr int kMaxLookups = 3;

class FileReader final : public MessageReader {
 public:
  explicit FileReader(UniqueFd fd) : fd_(std::move(fd)) {}

  Result<std::size_t> read(std::span<char> buffer) override {
    while (true) {
      const ssize_t n = ::read(fd_.get(), buffer.data(), buffer.size());
      if (n >= 0) return static_cast<std::size_t>(n);
      if (errno != EINTR) return Error::from_errno(errno, "read message");
    }
  }

 private:
  UniqueFd fd_;
};

struct MaildirDirs {
  UniqueFd root;
  UniqueFd cur;
  UniqueFd fresh;
};

// Which directory the session locked: a Maildir replaced under the same path while the session
// idled (restored from a backup, say) is another maildrop, whose lock this session does not hold.
struct MaildirIdentity {
  dev_t device = 0;
  ino_t inode = 0;
};

Result<MaildirIdentity> identify(int root_fd, const std::filesystem::path& path) {
  struct stat info {};
  if (::fstat(root_fd, &info) != 0) return Error::from_errno(errno, "stat " + path.string());
  MaildirIdentity identity;
  identity.device = info.st_dev;
  identity.inode = info.st_ino;
  return identity;
}

class MaildirMailbox final : public Mailbox {
 public:
  MaildirMailbox(std::filesystem::path path, MaildirIdentity identity, MaildirLock lock,
                 MaildirDirs dirs, MaildirSnapshot snapshot)
      : path_(std::move(path)),
        identity_(identity),
        lock_(std::move(lock)),
        dirs_(std::move(dirs)),
        snapshot_(std::move(snapshot)) {}

  // Compares this listing with the last session's and remembers it for the next one.
  std::optional<ChurnFinding> track_churn(const ChurnSettings& settings);

  const std::vector<MessageInfo>& messages() const override { return snapshot_.messages; }
  Result<std::unique_ptr<MessageReader>> open_message(std::size_t index) override;
  Result<void> expunge(std::span<const std::size_t> indices) override;
  // The Maildir "S" (seen) flag records a retrieval; the rename that sets it is the file's last
  // status change, so its ctime tells when (other MUAs rarely touch a seen message's flags).
  Result<void> mark_retrieved(std::span<const std::size_t> indices) override;
  Result<std::vector<std::size_t>> retrieved_before(
      std::chrono::system_clock::time_point cutoff) override;
  // An idle session then holds one descriptor here (the lock) instead of four.
  void release_idle() override { dirs_ = MaildirDirs{}; }

 private:
  Result<void> open_directories();
  int fd_of(MaildirFolder folder) const {
    return folder == MaildirFolder::cur ? dirs_.cur.get() : dirs_.fresh.get();
  }
  Result<void> find_again(StoredFile& file) const;
  Result<void> remove(StoredFile& file, bool& touched_cur, bool& touched_new);
  Result<void> sync_touched(bool touched_cur, bool touched_new) const;

  void forget_expunged();

  std::filesystem::path path_;
  MaildirIdentity identity_;
  MaildirLock lock_;
  MaildirDirs dirs_;  // closed while the session idles
  MaildirSnapshot snapshot_;
  std::optional<std::vector<std::uint64_t>> seen_;  // hashes of the listed UIDLs, when tracked
};

std::optional<ChurnFinding> MaildirMailbox::track_churn(const ChurnSettings& settings) {
  std::vector<std::uint64_t> current = seen_uidl_hashes(snapshot_.messages);
  const std::vector<std::uint64_t> previous = load_seen_uidls(dirs_.root.get());
  auto finding = check_churn(previous, current, settings);
  // Failing to write only weakens the next alarm: never an error for the session.
  if (current != previous) (void)save_seen_uidls(dirs_.root.get(), current);
  seen_ = std::move(current);
  return finding;
}

Result<void> MaildirMailbox::open_directories() {
  if (dirs_.root) return {};
  auto root = open_directory(path_);
  if (!root) return root.error();
  auto identity = identify(root->get(), path_);
  if (!identity) return identity.error();
  if (identity->device != identity_.device || identity->inode != identity_.inode) {
    return make_error(errc::temporary_failure,
                      "maildir replaced during the session: " + path_.string());
  }
  auto cur = open_directory_at(root->get(), "cur");
  if (!cur) return cur.error();
  auto fresh = open_directory_at(root->get(), "new");
  if (!fresh) return fresh.error();
  dirs_ = MaildirDirs{std::move(*root), std::move(*cur), std::move(*fresh)};
  return {};
}

// Messages this session deleted are gone on purpose: the next session must not miss them.
void MaildirMailbox::forget_expunged() {
  if (!seen_) return;
  std::vector<std::uint64_t> gone;
  for (std::size_t i = 0; i < snapshot_.files.size(); ++i) {
    if (snapshot_.files[i].removed) gone.push_back(uidl_hash(snapshot_.messages[i].uidl));
  }
  if (gone.empty()) return;
  std::sort(gone.begin(), gone.end());
  std::vector<std::uint64_t> kept;
  std::set_difference(seen_->begin(), seen_->end(), gone.begin(), gone.end(),
                      std::back_inserter(kept));
  *seen_ = std::move(kept);
  (void)save_seen_uidls(dirs_.root.get(), *seen_);
}

// Another MUA changed the flags: same base name, new info part. It may also have been put back
// into new/.
Result<void> MaildirMailbox::find_again(StoredFile& file) const {
  const std::string base(parse_maildir_name(file.name).base);
  for (const MaildirFolder folder : {MaildirFolder::cur, MaildirFolder::fresh}) {
    auto names = list_regular_files(fd_of(folder));
    if (!names) return names.error();
    std::sort(names->begin(), names->end());
    for (auto& name : *names) {
      if (parse_maildir_name(name).base != base) continue;
      file.name = std::move(name);
      file.folder = folder;
      return {};
    }
  }
  return make_error(errc::not_found, "message vanished: " + base);
}

Result<std::unique_ptr<MessageReader>> MaildirMailbox::open_message(std::size_t index) {
  if (index >= snapshot_.files.size()) return make_error(errc::invalid_input, "no such message");
  StoredFile& file = snapshot_.files[index];
  if (file.removed) return make_error(errc::not_found, "message was expunged");
  if (auto opened = open_directories(); !opened) return opened.error();
  for (int lookup = 0; lookup < kMaxLookups; ++lookup) {
    UniqueFd fd(::openat(fd_of(file.folder), file.name.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
    if (fd) return std::unique_ptr<MessageReader>(std::make_unique<FileReader>(std::move(fd)));
    if (errno != ENOENT) return Error::from_errno(errno, "open " + file.name);
    if (auto found = find_again(file); !found) return found.error();
  }
  return make_error(errc::temporary_failure, "message keeps being renamed: " + file.name);
}

Result<void> MaildirMailbox::remove(StoredFile& file, bool& touched_cur, bool& touched_new) {
  for (int lookup = 0; lookup < kMaxLookups; ++lookup) {
    if (file.removed) return {};
    if (::unlinkat(fd_of(file.folder), file.name.c_str(), 0) == 0) {
      (file.folder == MaildirFolder::cur ? touched_cur : touched_new) = true;
      file.removed = true;
      return {};
    }
    if (errno != ENOENT) return Error::from_errno(errno, "unlink " + file.name);
    auto found = find_again(file);
    if (found) continue;
    if (!found.error().is(errc::not_found)) return found;
    file.removed = true;  // someone else deleted it: that is what the client asked for
  }
  if (file.removed) return {};
  return make_error(errc::temporary_failure, "message keeps being renamed: " + file.name);
}

Result<void> MaildirMailbox::sync_touched(bool touched_cur, bool touched_new) const {
  if (touched_cur) {
    if (auto synced = sync_directory(dirs_.cur.get(), "cur"); !synced) return synced;
  }
  if (touched_new) return sync_directory(dirs_.fresh.get(), "new");
  return {};
}

// Stops at the first real error so that as little as possible is removed before the client is
// told the update failed; what was already unlinked is still made durable.
Result<void> MaildirMailbox::expunge(std::span<const std::size_t> indices) {
  for (const std::size_t index : indices) {
    if (index >= snapshot_.files.size()) return make_error(errc::invalid_input, "no such message");
  }
  if (auto opened = open_directories(); !opened) return opened;
  bool touched_cur = false;
  bool touched_new = false;
  Result<void> outcome;
  for (const std::size_t index : indices) {
    outcome = remove(snapshot_.files[index], touched_cur, touched_new);
    if (!outcome) break;
  }
  auto synced = sync_touched(touched_cur, touched_new);
  forget_expunged();
  if (!outcome) return outcome;
  return synced;
}

bool has_seen_flag(std::string_view name) {
  const auto info = name.find(":2,");
  return info != std::string_view::npos &&
         name.substr(info + 3).find('S') != std::string_view::npos;
}

std::string with_seen_flag(std::string_view name) {
  const auto info = name.find(":2,");
  std::string flags(info == std::string_view::npos ? "" : name.substr(info + 3));
  flags += 'S';
  std::sort(flags.begin(), flags.end());  // the Maildir spec keeps flags in ASCII order
  return std::string(name.substr(0, name.find(':'))) + ":2," + flags;
}

Result<void> MaildirMailbox::mark_retrieved(std::span<const std::size_t> indices) {
  if (auto opened = open_directories(); !opened) return opened;
  bool touched = false;
  for (const std::size_t index : indices) {
    if (index >= snapshot_.files.size()) return make_error(errc::invalid_input, "no such message");
    StoredFile& file = snapshot_.files[index];
    for (int lookup = 0; lookup < kMaxLookups && !file.removed; ++lookup) {
      if (has_seen_flag(file.name)) break;
      const std::string seen = with_seen_flag(file.name);
      if (::renameat(fd_of(file.folder), file.name.c_str(), dirs_.cur.get(), seen.c_str()) == 0) {
        file.name = seen;
        file.folder = MaildirFolder::cur;
        touched = true;
        break;
      }
      if (errno != ENOENT) return Error::from_errno(errno, "rename " + file.name);
      if (!find_again(file)) break;  // gone: nothing left to mark
    }
  }
  return touched ? sync_directory(dirs_.cur.get(), "cur") : Result<void>();
}

Result<std::vector<std::size_t>> MaildirMailbox::retrieved_before(
    std::chrono::system_clock::time_point cutoff) {
  if (auto opened = open_directories(); !opened) return opened.error();
  const auto cutoff_seconds = std::chrono::system_clock::to_time_t(cutoff);
  std::vector<std::size_t> old;
  for (std::size_t index = 0; index < snapshot_.files.size(); ++index) {
    const StoredFile& file = snapshot_.files[index];
    if (file.removed || !has_seen_flag(file.name)) continue;
    struct stat info {};
    if (::fstatat(fd_of(file.folder), file.name.c_str(), &info, AT_SYMLINK_NOFOLLOW) != 0) continue;
    if (info.st_ctim.tv_sec < cutoff_seconds) old.push_back(index);
  }
  return old;
}

Result<MaildirDirs> prepare_maildir(const std::filesystem::path& path) {
  if (auto made = make_directories(path); !made) return made.error();
  auto root = open_directory(path);
  if (!root) return root.error();
  auto cur = make_and_open_directory_at(root->get(), "cur");
  if (!cur) return cur.error();
  auto fresh = make_and_open_directory_at(root->get(), "new");
  if (!fresh) return fresh.error();
  // tmp/ is only written by deliveries, but a Maildir without it is not a Maildir.
  auto tmp = make_and_open_directory_at(root->get(), "tmp");
  if (!tmp) return tmp.error();
  return MaildirDirs{std::move(*root), std::move(*cur), std::move(*fresh)};
}

void log_uidl_problems(const std::filesystem::path& path, const MaildirOpenStats& stats) {
  if (stats.uidl_map_error) {
    spdlog::error("event=uidl-map-unusable maildir=\"{}\" error=\"{}\" action=own-uidls",
                  path.string(), *stats.uidl_map_error);
  }
  for (const auto& base : stats.collided) {
    spdlog::warn("event=uidl-collision maildir=\"{}\" message=\"{}\" action=own-uidl",
                 path.string(), base);
  }
}

}  // namespace

Result<std::unique_ptr<Mailbox>> open_maildir(const std::filesystem::path& path,
                                              MaildirOpenStats& stats, const ChurnSettings* churn) {
  auto dirs = prepare_maildir(path);
  if (!dirs) return dirs.error();
  auto lock = MaildirLock::acquire(dirs->root.get());
  if (!lock) return lock.error();
  auto moved = move_new_to_cur(dirs->fresh.get(), dirs->cur.get());
  if (!moved) return moved.error();
  stats.moved_from_new = *moved;
  auto snapshot = scan_cur(dirs->root.get(), dirs->cur.get(), stats);
  if (!snapshot) return snapshot.error();
  log_uidl_problems(path, stats);
  auto identity = identify(dirs->root.get(), path);
  if (!identity) return identity.error();
  auto mailbox = std::make_unique<MaildirMailbox>(path, *identity, std::move(*lock),
                                                  std::move(*dirs), std::move(*snapshot));
  if (churn) stats.churn = mailbox->track_churn(*churn);
  return std::unique_ptr<Mailbox>(std::move(mailbox));
}

Result<std::unique_ptr<Mailbox>> open_maildir(const std::filesystem::path& path) {
  MaildirOpenStats stats;
  return open_maildir(path, stats);
}

MaildirStore::MaildirStore(std::string path_template, std::optional<ChurnSettings> churn)
    : path_template_(std::move(path_template)), churn_(churn) {}

Result<std::unique_ptr<Mailbox>> MaildirStore::open(const UserContext& user) {
  auto path = expand_template(path_template_, user);
  if (!path) return path.error();
  MaildirOpenStats stats;
  auto mailbox = open_maildir(*path, stats, churn_ ? &*churn_ : nullptr);
  if (stats.churn) report_churn(user.login, *stats.churn, "maildir", *path, *churn_);
  return mailbox;
}

}  // namespace mailport::store
