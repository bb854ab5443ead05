#include "store/maildir_snapshot.hpp"

#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <functional>
#include <limits>
#include <optional>

#include "core/unique_fd.hpp"
#include "store/crlf_size.hpp"
#include "store/dir_util.hpp"
#include "store/maildir_name.hpp"
#include "store/size_cache.hpp"
#include "store/uidl_map.hpp"

namespace mailport::store {
namespace {

constexpr std::size_t kReadChunk = 64 * 1024;
constexpr std::uint64_t kNoTimestamp = std::numeric_limits<std::uint64_t>::max();

struct ScanEntry {
  std::string name;
  std::size_t base_length = 0;
  std::uint64_t timestamp = kNoTimestamp;
  std::optional<std::uint64_t> wire_size;
  std::string uidl;

  std::string_view base() const { return std::string_view(name).substr(0, base_length); }
};

ScanEntry make_entry(std::string name) {
  ScanEntry entry;
  const MaildirName parsed = parse_maildir_name(name);
  entry.base_length = parsed.base.size();
  entry.timestamp = parsed.timestamp.value_or(kNoTimestamp);
  entry.wire_size = parsed.wire_size;
  entry.uidl = maildir_uidl(parsed.base);
  entry.name = std::move(name);
  return entry;
}

// Delivery time first, so message numbers follow arrival; names without a timestamp go last.
// Then the base name (numbers by value), since flag changes must not reorder messages; the full
// name only settles exact ties.
bool delivered_before(const ScanEntry& a, const ScanEntry& b) {
  if (a.timestamp != b.timestamp) return a.timestamp < b.timestamp;
  if (const auto order = natural_compare(a.base(), b.base()); order != 0) return order < 0;
  return a.name < b.name;
}

// Result of one rename attempt: moved, or left where it is (gone, or the target name is taken).
Result<bool> move_without_replacing(int from_fd, const std::string& name, int to_fd,
                                    const std::string& target) {
  if (::renameat2(from_fd, name.c_str(), to_fd, target.c_str(), RENAME_NOREPLACE) == 0) {
    return true;
  }
  if (errno == ENOENT || errno == EEXIST) return false;
  if (errno != EINVAL && errno != ENOSYS) return Error::from_errno(errno, "rename new/" + name);
  // The filesystem lacks RENAME_NOREPLACE; link() refuses to replace just the same.
  if (::linkat(from_fd, name.c_str(), to_fd, target.c_str(), 0) != 0) {
    if (errno == ENOENT || errno == EEXIST) return false;
    return Error::from_errno(errno, "link new/" + name);
  }
  if (::unlinkat(from_fd, name.c_str(), 0) != 0 && errno != ENOENT) {
    return Error::from_errno(errno, "unlink new/" + name);
  }
  return true;
}

bool is_resource_exhaustion(int err) {
  return err == EMFILE || err == ENFILE || err == ENOMEM;
}

// nullopt: the file vanished or cannot be read; it is left out of the snapshot (and on disk).
Result<std::optional<std::uint64_t>> compute_wire_size(int cur_fd, const std::string& name) {
  const UniqueFd fd(::openat(cur_fd, name.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  if (!fd) {
    if (is_resource_exhaustion(errno)) return Error::from_errno(errno, "open cur/" + name);
    return std::optional<std::uint64_t>();
  }
  CrlfSizeCounter counter;
  char buffer[kReadChunk];
  while (true) {
    const ssize_t n = ::read(fd.get(), buffer, sizeof buffer);
    if (n == 0) return std::optional<std::uint64_t>(counter.total());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return std::optional<std::uint64_t>();
    counter.feed(std::string_view(buffer, static_cast<std::size_t>(n)));
  }
}

// Fills in `size`; false when the message has to be left out.
Result<bool> resolve_size(int cur_fd, const ScanEntry& entry, SizeCache& cache,
                          MaildirOpenStats& stats, std::uint64_t& size) {
  if (entry.wire_size) {
    ++stats.sizes_from_names;
    size = *entry.wire_size;
    return true;
  }
  if (const auto cached = cache.find(entry.base())) {
    ++stats.sizes_from_cache;
    size = *cached;
  } else {
    auto computed = compute_wire_size(cur_fd, entry.name);
    if (!computed) return computed.error();
    if (!*computed) {
      ++stats.skipped_unreadable;
      return false;
    }
    ++stats.sizes_computed;
    size = **computed;
  }
  cache.record(entry.base(), size);
  return true;
}

// Marks every entry whose UIDL an earlier entry has. Sorting (hash, position) pairs costs no
// allocation per entry, unlike a hash set of 100,000 names; equal hashes are compared in full.
std::vector<bool> later_duplicates(const std::vector<ScanEntry>& entries) {
  std::vector<std::pair<std::size_t, std::size_t>> keyed;
  keyed.reserve(entries.size());
  const std::hash<std::string_view> hash;
  for (std::size_t i = 0; i < entries.size(); ++i) keyed.emplace_back(hash(entries[i].uidl), i);
  std::sort(keyed.begin(), keyed.end());
  std::vector<bool> duplicate(entries.size(), false);
  for (std::size_t run = 0; run < keyed.size();) {
    std::size_t end = run + 1;
    while (end < keyed.size() && keyed[end].first == keyed[run].first) ++end;
    // Within one hash value, positions ascend: the first holder of each UIDL is kept.
    for (std::size_t a = run; a < end; ++a) {
      if (duplicate[keyed[a].second]) continue;
      for (std::size_t b = a + 1; b < end; ++b) {
        if (entries[keyed[b].second].uidl == entries[keyed[a].second].uidl) {
          duplicate[keyed[b].second] = true;
        }
      }
    }
    run = end;
  }
  return duplicate;
}

std::vector<ScanEntry> ordered_unique(std::vector<std::string> names, MaildirOpenStats& stats) {
  std::vector<ScanEntry> entries;
  entries.reserve(names.size());
  for (auto& name : names) entries.push_back(make_entry(std::move(name)));
  std::sort(entries.begin(), entries.end(), delivered_before);
  // Copies of one message (same base name, different flags) would share a UIDL: the first in
  // order is served, the others stay on disk untouched. The views point into `entries`, which
  // does not change until every duplicate is known.
  const std::vector<bool> duplicate = later_duplicates(entries);
  std::size_t kept = 0;
  for (std::size_t i = 0; i < entries.size(); ++i) {
    if (duplicate[i]) {
      ++stats.skipped_duplicates;
      continue;
    }
    if (kept != i) entries[kept] = std::move(entries[i]);
    ++kept;
  }
  entries.resize(kept);
  return entries;
}

UidlMap load_uidl_map(int maildir_fd, MaildirOpenStats& stats) {
  auto map = UidlMap::load(maildir_fd);
  if (map) return std::move(*map);
  // Mail is never held back for a broken map: the messages keep their own UIDLs and the log
  // says why.
  stats.uidl_map_error = map.error().describe();
  return UidlMap{};
}

}  // namespace

std::vector<std::string> listing_order(std::vector<std::string> names) {
  MaildirOpenStats stats;
  std::vector<std::string> ordered;
  for (auto& entry : ordered_unique(std::move(names), stats))
    ordered.push_back(std::move(entry.name));
  return ordered;
}

Result<std::size_t> move_new_to_cur(int new_fd, int cur_fd) {
  auto names = list_regular_files(new_fd);
  if (!names) return names.error();
  std::size_t moved = 0;
  for (const auto& name : *names) {
    auto result = move_without_replacing(new_fd, name, cur_fd, cur_name_for(name));
    if (!result) return result.error();
    moved += *result ? 1 : 0;
  }
  if (moved == 0) return moved;
  if (auto synced = sync_directory(cur_fd, "cur"); !synced) return synced.error();
  if (auto synced = sync_directory(new_fd, "new"); !synced) return synced.error();
  return moved;
}

Result<MaildirSnapshot> scan_cur(int maildir_fd, int cur_fd, MaildirOpenStats& stats) {
  auto names = list_regular_files(cur_fd);
  if (!names) return names.error();
  std::vector<ScanEntry> entries = ordered_unique(std::move(*names), stats);

  SizeCache cache = SizeCache::load(maildir_fd);
  const UidlMap map = load_uidl_map(maildir_fd, stats);
  UidlAssigner uidls(map);
  MaildirSnapshot snapshot;
  snapshot.messages.reserve(entries.size());
  snapshot.files.reserve(entries.size());
  for (auto& entry : entries) {
    std::uint64_t size = 0;
    auto usable = resolve_size(cur_fd, entry, cache, stats, size);
    if (!usable) return usable.error();
    if (!*usable) continue;
    auto assigned = uidls.assign(entry.base(), std::move(entry.uidl));
    stats.uidls_from_map += assigned.from_map ? 1 : 0;
    if (assigned.collided) {
      ++stats.uidl_collisions;
      stats.collided.emplace_back(entry.base());
    }
    snapshot.messages.push_back(MessageInfo{size, std::move(assigned.uidl)});
    snapshot.files.push_back(StoredFile{std::move(entry.name)});
  }
  // The cache only ever saves work, so failing to write it (read-only maildir, full disk) is
  // not an error for the session.
  if (stats.sizes_computed > 0) stats.cache_written = cache.save(maildir_fd).ok();
  return snapshot;
}

}  // namespace mailport::store
