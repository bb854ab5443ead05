#include "store/mbox_store.hpp"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <ctime>
#include <iterator>
#include <optional>
#include <set>
#include <sstream>
#include <unordered_map>

#include "core/unique_fd.hpp"
#include "store/dir_util.hpp"
#include "store/mbox_format.hpp"
#include "store/mbox_lock.hpp"
#include "store/uidl_map.hpp"

namespace mailport::store {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kIndexHeader = "mailport-mbox-index 1";
constexpr std::size_t kChunk = 64 * 1024;
constexpr std::size_t kMaxIndexSize = 64 << 20;

struct SpoolIdentity {
  dev_t dev = 0;
  ino_t ino = 0;
};

// What the index file holds: the spool it describes and its messages up to `end`.
struct Index {
  SpoolIdentity spool;
  std::uint64_t end = 0;
  std::vector<MboxEntry> entries;
};

Result<std::size_t> pread_all(int fd, char* buffer, std::size_t size, std::uint64_t offset) {
  std::size_t done = 0;
  while (done < size) {
    const ssize_t n = ::pread(fd, buffer + done, size - done, static_cast<off_t>(offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Error::from_errno(errno, "read spool");
    if (n == 0) break;
    done += static_cast<std::size_t>(n);
  }
  return done;
}

Result<void> write_all(int fd, std::string_view data) {
  while (!data.empty()) {
    const ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Error::from_errno(errno, "write");
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return {};
}

Result<std::vector<MboxEntry>> scan(int fd, std::uint64_t start, std::uint64_t end,
                                    MboxOpenStats& stats) {
  MboxScanner scanner(start);
  std::string buffer(kChunk, '\0');
  for (std::uint64_t offset = start; offset < end;) {
    const std::size_t want =
        static_cast<std::size_t>(std::min<std::uint64_t>(kChunk, end - offset));
    auto got = pread_all(fd, buffer.data(), want, offset);
    if (!got) return got.error();
    if (*got == 0) break;
    scanner.feed(std::string_view(buffer.data(), *got));
    offset += *got;
    stats.bytes_scanned += *got;
  }
  return scanner.finish();
}

// The From_ line of an indexed message is still where the index says: the spool was not
// rewritten behind our back.
bool entry_still_there(int fd, const MboxEntry& entry) {
  char head[6] = {};
  const std::uint64_t at = entry.from_offset == 0 ? 0 : entry.from_offset - 1;
  const std::size_t want = entry.from_offset == 0 ? 5 : 6;
  auto got = pread_all(fd, head, want, at);
  if (!got || *got != want) return false;
  const std::string_view text(head, want);
  if (entry.from_offset != 0 && text.front() != '\n') return false;
  if (!text.ends_with("From ")) return false;
  char last = 0;
  auto lf = pread_all(fd, &last, 1, entry.content_offset - 1);
  return lf && *lf == 1 && last == '\n';
}

std::string format_index(const Index& index) {
  std::ostringstream out;
  out << kIndexHeader << ' ' << index.spool.dev << ' ' << index.spool.ino << ' ' << index.end
      << '\n';
  for (const MboxEntry& e : index.entries) {
    out << e.from_offset << ' ' << e.content_offset << ' ' << e.content_length << ' ' << e.wire_size
        << ' ' << e.uidl << '\n';
  }
  out << "end\n";
  return out.str();
}

bool parse_numbers(std::istringstream& in, std::initializer_list<std::uint64_t*> out) {
  for (std::uint64_t* value : out) {
    if (!(in >> *value)) return false;
  }
  return true;
}

// A damaged or foreign index is no index: the spool is scanned again.
std::optional<Index> parse_index(const std::string& text) {
  std::istringstream in(text);
  std::string line;
  if (!std::getline(in, line) || !line.starts_with(kIndexHeader)) return std::nullopt;
  std::istringstream header(line.substr(kIndexHeader.size()));
  Index index;
  std::uint64_t dev = 0, ino = 0;
  if (!parse_numbers(header, {&dev, &ino, &index.end})) return std::nullopt;
  index.spool = {static_cast<dev_t>(dev), static_cast<ino_t>(ino)};
  while (std::getline(in, line)) {
    if (line == "end") return index;
    std::istringstream fields(line);
    MboxEntry e;
    if (!parse_numbers(fields,
                       {&e.from_offset, &e.content_offset, &e.content_length, &e.wire_size}) ||
        !(fields >> e.uidl) || e.content_offset <= e.from_offset ||
        e.content_offset + e.content_length > index.end) {
      return std::nullopt;
    }
    index.entries.push_back(std::move(e));
  }
  return std::nullopt;
}

std::optional<Index> read_index(int index_fd) {
  struct stat info {};
  if (::fstat(index_fd, &info) != 0 || info.st_size > static_cast<off_t>(kMaxIndexSize)) {
    return std::nullopt;
  }
  std::string text(static_cast<std::size_t>(info.st_size), '\0');
  auto got = pread_all(index_fd, text.data(), text.size(), 0);
  if (!got || *got != text.size()) return std::nullopt;
  return parse_index(text);
}

// Rewritten in place under the session lock: the lock lives on this file, so it is never
// replaced. A crash half-way leaves a file without "end", which reads as no index.
Result<void> write_index(int index_fd, const Index& index) {
  const std::string text = format_index(index);
  if (::ftruncate(index_fd, 0) != 0) return Error::from_errno(errno, "truncate index");
  if (::lseek(index_fd, 0, SEEK_SET) != 0) return Error::from_errno(errno, "seek index");
  return write_all(index_fd, text);
}

// Two messages with the same digest (an exact copy) still need distinct UIDLs.
void make_uidls_unique(std::vector<MboxEntry>& entries) {
  std::unordered_map<std::string, unsigned> seen;
  for (MboxEntry& e : entries) {
    const unsigned copies = seen[e.uidl]++;
    if (copies > 0) e.uidl += "-" + std::to_string(copies + 1);
  }
}

// What each message is listed as: its mapped UIDL where the spool's map has one and no earlier
// message took it. A map that cannot be used never holds mail back: every message keeps its own.
std::vector<std::string> listed_uidls(const fs::path& spool, const std::vector<MboxEntry>& entries,
                                      MboxUidls which, MboxOpenStats& stats) {
  std::vector<std::string> listed;
  listed.reserve(entries.size());
  UidlMap map;
  if (which == MboxUidls::mapped) {
    auto dir = open_directory(spool.parent_path());
    if (!dir) {
      stats.uidl_map_error = dir.error().describe();
    } else if (auto loaded = UidlMap::load(dir->get(), mbox_uidl_map_name(spool)); !loaded) {
      stats.uidl_map_error = loaded.error().describe();
    } else {
      map = std::move(*loaded);
    }
  }
  UidlAssigner assigner(map);
  for (const MboxEntry& e : entries) {
    auto assigned = assigner.assign(e.uidl, e.uidl);
    stats.uidls_from_map += assigned.from_map ? 1 : 0;
    if (assigned.collided) {
      ++stats.uidl_collisions;
      stats.collided.push_back(e.uidl);
    }
    listed.push_back(std::move(assigned.uidl));
  }
  return listed;
}

void log_uidl_problems(const fs::path& spool, const MboxOpenStats& stats) {
  if (stats.uidl_map_error) {
    spdlog::error("event=uidl-map-unusable mbox=\"{}\" error=\"{}\" action=own-uidls",
                  spool.string(), *stats.uidl_map_error);
  }
  for (const auto& own : stats.collided) {
    spdlog::warn("event=uidl-collision mbox=\"{}\" message=\"{}\" action=own-uidl", spool.string(),
                 own);
  }
}

class SpoolReader final : public MessageReader {
 public:
  SpoolReader(int fd, const MboxEntry& entry)
      : fd_(fd), offset_(entry.content_offset), left_(entry.content_length) {}

  Result<std::size_t> read(std::span<char> buffer) override {
    const std::size_t want =
        static_cast<std::size_t>(std::min<std::uint64_t>(buffer.size(), left_));
    if (want == 0) return std::size_t{0};
    auto got = pread_all(fd_, buffer.data(), want, offset_);
    if (!got) return got.error();
    if (*got == 0) return make_error(errc::not_found, "spool shrank while reading");
    offset_ += *got;
    left_ -= *got;
    return *got;
  }

 private:
  int fd_;
  std::uint64_t offset_;
  std::uint64_t left_;
};

class MboxMailbox final : public Mailbox {
 public:
  MboxMailbox(fs::path spool, MboxOptions options, UniqueFd session_lock, UniqueFd spool_fd,
              SpoolIdentity identity, std::uint64_t end, std::vector<MboxEntry> entries,
              std::vector<std::string> listed)
      : spool_(std::move(spool)),
        options_(options),
        session_lock_(std::move(session_lock)),
        spool_fd_(std::move(spool_fd)),
        identity_(identity),
        end_(end),
        entries_(std::move(entries)) {
    for (std::size_t i = 0; i < entries_.size(); ++i) {
      infos_.push_back({entries_[i].wire_size, std::move(listed[i])});
    }
  }

  const std::vector<MessageInfo>& messages() const override { return infos_; }

  Result<std::unique_ptr<MessageReader>> open_message(std::size_t index) override {
    if (index >= entries_.size()) return make_error(errc::not_found, "no such message");
    return std::unique_ptr<MessageReader>(
        std::make_unique<SpoolReader>(spool_fd_.get(), entries_[index]));
  }

  Result<void> expunge(std::span<const std::size_t> indices) override;

  // Compares this listing with the last session's and remembers it for the next one.
  std::optional<ChurnFinding> track_churn(const ChurnSettings& settings);

 private:
  Result<void> check_unchanged(int fd) const;
  Result<Index> rewrite(int locked_fd, const std::set<std::size_t>& deleted);
  Result<void> copy_range(int from, int to, std::uint64_t offset, std::uint64_t length) const;
  void forget_expunged(const std::set<std::size_t>& deleted);

  fs::path spool_;
  MboxOptions options_;
  UniqueFd session_lock_;  // the index file, flock'ed for the session
  UniqueFd spool_fd_;      // the spool as it was at login
  SpoolIdentity identity_;
  std::uint64_t end_;  // spool length at login; later bytes are mail that arrived since
  std::vector<MboxEntry> entries_;
  std::vector<MessageInfo> infos_;
  std::optional<std::vector<std::uint64_t>> seen_;  // hashes of the listed UIDLs, when tracked
};

// Failing to read or write the record only weakens the next alarm: never an error for the
// session.
std::optional<ChurnFinding> MboxMailbox::track_churn(const ChurnSettings& settings) {
  auto dir = open_directory(spool_.parent_path());
  if (!dir) return std::nullopt;
  const std::string name = mbox_seen_uidls_name(spool_);
  std::vector<std::uint64_t> current = seen_uidl_hashes(infos_);
  const std::vector<std::uint64_t> previous = load_seen_uidls(dir->get(), name);
  auto finding = check_churn(previous, current, settings);
  if (current != previous) (void)save_seen_uidls(dir->get(), current, name);
  seen_ = std::move(current);
  return finding;
}

// Messages this session deleted are gone on purpose: the next session must not miss them.
void MboxMailbox::forget_expunged(const std::set<std::size_t>& deleted) {
  if (!seen_) return;
  std::vector<std::uint64_t> gone;
  for (const std::size_t index : deleted) {
    if (index < infos_.size()) gone.push_back(uidl_hash(infos_[index].uidl));
  }
  std::sort(gone.begin(), gone.end());
  std::vector<std::uint64_t> kept;
  std::set_difference(seen_->begin(), seen_->end(), gone.begin(), gone.end(),
                      std::back_inserter(kept));
  *seen_ = std::move(kept);
  auto dir = open_directory(spool_.parent_path());
  if (dir) (void)save_seen_uidls(dir->get(), *seen_, mbox_seen_uidls_name(spool_));
}

Result<void> MboxMailbox::check_unchanged(int fd) const {
  struct stat info {};
  if (::fstat(fd, &info) != 0) return Error::from_errno(errno, "stat " + spool_.string());
  if (info.st_dev != identity_.dev || info.st_ino != identity_.ino ||
      static_cast<std::uint64_t>(info.st_size) < end_ ||
      !std::ranges::all_of(entries_,
                           [&](const MboxEntry& e) { return entry_still_there(fd, e); })) {
    return make_error(errc::temporary_failure,
                      spool_.string() + " was rewritten by another program during the session");
  }
  return {};
}

Result<void> MboxMailbox::copy_range(int from, int to, std::uint64_t offset,
                                     std::uint64_t length) const {
  std::string buffer(kChunk, '\0');
  while (length > 0) {
    const std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(kChunk, length));
    auto got = pread_all(from, buffer.data(), want, offset);
    if (!got) return got.error();
    if (*got == 0) return make_error(errc::temporary_failure, "spool shrank while copying");
    if (auto written = write_all(to, std::string_view(buffer.data(), *got)); !written) {
      return written;
    }
    offset += *got;
    length -= *got;
  }
  return {};
}

// Kept messages, then whatever arrived after the snapshot, into a new file that replaces the
// spool in one rename. Returns the index of the new spool.
Result<Index> MboxMailbox::rewrite(int locked_fd, const std::set<std::size_t>& deleted) {
  struct stat info {};
  if (::fstat(locked_fd, &info) != 0) return Error::from_errno(errno, "stat " + spool_.string());
  const fs::path temp = spool_.parent_path() / ("." + spool_.filename().string() + ".mailport-new");
  ::unlink(temp.c_str());
  UniqueFd out(::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW,
                      info.st_mode & 07777));
  if (!out) return Error::from_errno(errno, "create " + temp.string());
  // Keep the owner, so the user's mail reader and the MTA still accept the spool. Only root can
  // give a file away; anyone else owns both files already.
  if (::geteuid() == 0) (void)!::fchown(out.get(), info.st_uid, info.st_gid);
  auto fail = [&](Error error) -> Result<Index> {
    ::unlink(temp.c_str());
    return error;
  };
  Index index;
  std::uint64_t written = 0;
  for (std::size_t i = 0; i < entries_.size(); ++i) {
    const std::uint64_t next = i + 1 < entries_.size() ? entries_[i + 1].from_offset : end_;
    if (deleted.contains(i)) continue;
    const MboxEntry& e = entries_[i];
    if (auto copied = copy_range(locked_fd, out.get(), e.from_offset, next - e.from_offset);
        !copied) {
      return fail(copied.error());
    }
    MboxEntry moved = e;
    moved.from_offset = written;
    moved.content_offset = written + (e.content_offset - e.from_offset);
    index.entries.push_back(std::move(moved));
    written += next - e.from_offset;
  }
  const std::uint64_t arrived = static_cast<std::uint64_t>(info.st_size) - end_;
  if (auto copied = copy_range(locked_fd, out.get(), end_, arrived); !copied) {
    return fail(copied.error());
  }
  if (::fsync(out.get()) != 0) return fail(Error::from_errno(errno, "fsync " + temp.string()));
  if (::rename(temp.c_str(), spool_.c_str()) != 0) {
    return fail(Error::from_errno(errno, "rename over " + spool_.string()));
  }
  auto dir = open_directory(spool_.parent_path());
  if (dir) (void)sync_directory(dir->get(), spool_.parent_path().c_str());
  struct stat fresh {};
  ::fstat(out.get(), &fresh);
  index.spool = {fresh.st_dev, fresh.st_ino};
  index.end = written;
  return index;
}

Result<void> MboxMailbox::expunge(std::span<const std::size_t> indices) {
  const std::set<std::size_t> deleted(indices.begin(), indices.end());
  if (deleted.empty() || entries_.empty()) return {};
  auto lock = MboxLock::acquire(spool_, options_.lock_timeout, false);
  if (!lock && lock.error().is(errc::not_found)) return {};  // the whole spool is gone
  if (!lock) return lock.error();
  if (auto same = check_unchanged(lock->fd()); !same) return same;
  auto index = rewrite(lock->fd(), deleted);
  if (!index) return index.error();
  forget_expunged(deleted);
  // The old index no longer matches the new spool; a failure here only costs a rescan.
  (void)write_index(session_lock_.get(), *index);
  return {};
}

Result<UniqueFd> lock_session(const fs::path& index_path) {
  UniqueFd fd(::open(index_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600));
  if (!fd) return Error::from_errno(errno, "open " + index_path.string());
  if (::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) {
    if (errno == EWOULDBLOCK) return make_error(errc::in_use, "maildrop in use");
    return Error::from_errno(errno, "lock " + index_path.string());
  }
  return fd;
}

// The index's messages if they are still in place, then the ones that arrived after it.
Result<Index> load_entries(int spool_fd, int index_fd, const struct stat& info,
                           MboxOpenStats& stats) {
  Index index;
  index.spool = {info.st_dev, info.st_ino};
  const auto size = static_cast<std::uint64_t>(info.st_size);
  std::optional<Index> saved = read_index(index_fd);
  std::uint64_t start = 0;
  if (saved && saved->spool.dev == info.st_dev && saved->spool.ino == info.st_ino &&
      saved->end <= size && std::ranges::all_of(saved->entries, [&](const MboxEntry& e) {
        return entry_still_there(spool_fd, e);
      })) {
    char head[5] = {};
    auto got = pread_all(spool_fd, head, 5, saved->end);
    if (saved->end == size || (got && *got == 5 && std::string_view(head, 5) == "From ")) {
      index.entries = std::move(saved->entries);
      start = saved->end;
    }
  }
  stats.messages_from_index = index.entries.size();
  stats.index_rebuilt = start == 0 && size > 0;
  auto fresh = scan(spool_fd, start, size, stats);
  if (!fresh) return fresh.error();
  index.entries.insert(index.entries.end(), std::make_move_iterator(fresh->begin()),
                       std::make_move_iterator(fresh->end()));
  index.end = size;
  return index;
}

}  // namespace

fs::path mbox_index_path(const fs::path& spool) {
  return spool.parent_path() / ("." + spool.filename().string() + ".mailport-index");
}

std::string mbox_uidl_map_name(const fs::path& spool) {
  return "." + spool.filename().string() + ".mailport-uidlmap";
}

std::string mbox_seen_uidls_name(const fs::path& spool) {
  return "." + spool.filename().string() + ".mailport-seen-uidls";
}

namespace {

Result<std::unique_ptr<Mailbox>> tracked(std::unique_ptr<MboxMailbox> box, MboxOpenStats& stats,
                                         const ChurnSettings* churn) {
  if (churn) stats.churn = box->track_churn(*churn);
  return std::unique_ptr<Mailbox>(std::move(box));
}

}  // namespace

Result<std::unique_ptr<Mailbox>> open_mbox(const fs::path& path, const MboxOptions& options,
                                           MboxOpenStats* stats, MboxUidls uidls,
                                           const ChurnSettings* churn) {
  MboxOpenStats ignored;
  MboxOpenStats& counts = stats ? *stats : ignored;
  if (path.filename().empty())
    return make_error(errc::invalid_input, "mbox path names a directory");
  if (auto made = make_directories(path.parent_path()); !made) return made.error();
  auto session = lock_session(mbox_index_path(path));
  if (!session) return session.error();
  auto lock = MboxLock::acquire(path, options.lock_timeout, false);
  if (!lock && lock.error().is(errc::not_found)) {
    return tracked(std::make_unique<MboxMailbox>(path, options, std::move(*session), UniqueFd(),
                                                 SpoolIdentity{}, 0, std::vector<MboxEntry>{},
                                                 std::vector<std::string>{}),
                   counts, churn);
  }
  if (!lock) return lock.error();
  struct stat info {};
  if (::fstat(lock->fd(), &info) != 0) return Error::from_errno(errno, "stat " + path.string());
  if (!S_ISREG(info.st_mode))
    return make_error(errc::invalid_input, path.string() + " is not a file");
  auto index = load_entries(lock->fd(), session->get(), info, counts);
  if (!index) return index.error();
  (void)write_index(session->get(), *index);
  UniqueFd reader(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  if (!reader) return Error::from_errno(errno, "open " + path.string());
  make_uidls_unique(index->entries);
  std::vector<std::string> listed = listed_uidls(path, index->entries, uidls, counts);
  log_uidl_problems(path, counts);
  return tracked(std::make_unique<MboxMailbox>(path, options, std::move(*session),
                                               std::move(reader), index->spool, index->end,
                                               std::move(index->entries), std::move(listed)),
                 counts, churn);
}

Result<void> deliver_to_mbox(const fs::path& path, std::string_view sender,
                             std::string_view message, const MboxOptions& options) {
  if (auto made = make_directories(path.parent_path()); !made) return made.error();
  auto lock = MboxLock::acquire(path, options.lock_timeout, true);
  if (!lock) return lock.error();
  const int fd = lock->fd();
  struct stat info {};
  if (::fstat(fd, &info) != 0) return Error::from_errno(errno, "stat " + path.string());
  if (!S_ISREG(info.st_mode))
    return make_error(errc::invalid_input, path.string() + " is not a file");
  // A spool must end in an empty line before the next From_ line.
  std::size_t separator = 0;
  if (info.st_size > 0) {
    char tail[2] = {'\n', '\n'};
    const std::size_t want = info.st_size >= 2 ? 2 : 1;
    auto got =
        pread_all(fd, tail + 2 - want, want, static_cast<std::uint64_t>(info.st_size) - want);
    if (!got) return got.error();
    separator = tail[1] != '\n' ? 2 : (tail[0] != '\n' ? 1 : 0);
  }
  const std::string entry =
      mbox_entry(message, mbox_from_line(sender, std::time(nullptr)), separator);
  if (::lseek(fd, 0, SEEK_END) < 0) return Error::from_errno(errno, "seek " + path.string());
  auto written = write_all(fd, entry);
  if (written && ::fsync(fd) != 0) written = Error::from_errno(errno, "fsync " + path.string());
  if (!written) {
    // Never leave half a message for the next reader to misparse.
    (void)!::ftruncate(fd, info.st_size);
    return written;
  }
  return {};
}

MboxStore::MboxStore(std::string path_template, MboxOptions options,
                     std::optional<ChurnSettings> churn)
    : path_template_(std::move(path_template)), options_(options), churn_(std::move(churn)) {}

Result<std::unique_ptr<Mailbox>> MboxStore::open(const UserContext& user) {
  auto path = expand_template(path_template_, user);
  if (!path) return path.error();
  MboxOpenStats stats;
  auto mailbox = open_mbox(*path, options_, &stats, MboxUidls::mapped, churn_ ? &*churn_ : nullptr);
  if (stats.churn) report_churn(user.login, *stats.churn, "mbox", *path, *churn_);
  return mailbox;
}

}  // namespace mailport::store
