#include "store/uidl_map.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <string>

#include "core/unique_fd.hpp"
#include "store/dir_util.hpp"
#include "store/maildir_name.hpp"

namespace mailport::store {
namespace {

constexpr std::string_view kHeader = "mailport-uidlmap 1";
constexpr std::size_t kReadChunk = 64 * 1024;

bool valid_base(std::string_view base) {
  if (base.empty()) return false;
  for (const char c : base) {
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) return false;
  }
  return true;
}

Result<std::string> read_all(int fd, const std::string& what) {
  std::string data;
  char buffer[kReadChunk];
  while (true) {
    const ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n == 0) return data;
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Error::from_errno(errno, what);
    data.append(buffer, static_cast<std::size_t>(n));
  }
}

Result<void> write_all(int fd, std::string_view data, const std::string& what) {
  while (!data.empty()) {
    const ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Error::from_errno(errno, what);
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return {};
}

Error line_error(std::string_view origin, std::size_t line, std::string_view what) {
  return make_error(errc::invalid_input,
                    std::string(origin) + ":" + std::to_string(line) + ": " + std::string(what));
}

}  // namespace

Result<UidlMap> parse_uidl_map(std::string_view text, std::string_view origin) {
  UidlMap map;
  std::size_t line_number = 0;
  while (!text.empty()) {
    ++line_number;
    const std::size_t nl = text.find('\n');
    // A torn last line means the file was not written by save(): refuse it rather than guess.
    if (nl == std::string_view::npos) return line_error(origin, line_number, "line not terminated");
    const std::string_view line = text.substr(0, nl);
    text.remove_prefix(nl + 1);
    if (line_number == 1) {
      if (line != kHeader) {
        return line_error(origin, 1, "not a UIDL map (expected \"" + std::string(kHeader) + "\")");
      }
      continue;
    }
    const std::size_t space = line.find(' ');
    if (space == std::string_view::npos) {
      return line_error(origin, line_number, "expected \"<base name> <uidl>\"");
    }
    const std::string_view base = line.substr(0, space);
    const std::string_view uidl = line.substr(space + 1);
    if (!valid_base(base)) return line_error(origin, line_number, "invalid message name");
    if (!is_valid_uidl(uidl)) return line_error(origin, line_number, "invalid UIDL");
    if (map.index_.contains(base)) {
      return line_error(origin, line_number, "message " + std::string(base) + " mapped twice");
    }
    map.index_.emplace(std::string(base), map.entries_.size());
    map.entries_.emplace_back(std::string(base), std::string(uidl));
  }
  if (line_number == 0) return line_error(origin, 1, "empty file");
  return map;
}

Result<UidlMap> UidlMap::load(int dir_fd, const std::string& file_name) {
  const UniqueFd fd(::openat(dir_fd, file_name.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  if (!fd) {
    if (errno == ENOENT) return UidlMap{};
    return Error::from_errno(errno, file_name);
  }
  auto text = read_all(fd.get(), file_name);
  if (!text) return text.error();
  return parse_uidl_map(*text, file_name);
}

Result<UidlMap> UidlMap::load_file(const std::filesystem::path& maildir) {
  auto dir = open_directory(maildir);
  if (!dir) {
    if (dir.error().code == std::errc::no_such_file_or_directory) return UidlMap{};
    return dir.error();
  }
  auto loaded = load(dir->get());
  if (!loaded) {
    Error error = loaded.error();
    error.message = (maildir / error.message).string();
    return error;
  }
  return loaded;
}

std::optional<std::string_view> UidlMap::find(std::string_view base) const {
  const auto it = index_.find(base);
  if (it == index_.end()) return std::nullopt;
  return std::string_view(entries_[it->second].second);
}

Result<UidlMap::AddResult> UidlMap::add(std::string_view base, std::string_view uidl) {
  if (!valid_base(base)) {
    return make_error(errc::invalid_input, "message name cannot be mapped: " + std::string(base));
  }
  if (!is_valid_uidl(uidl)) {
    return make_error(errc::invalid_input, "invalid UIDL \"" + std::string(uidl) + "\"");
  }
  if (const auto existing = find(base)) {
    return *existing == uidl ? AddResult::already_there : AddResult::conflict;
  }
  index_.emplace(std::string(base), entries_.size());
  entries_.emplace_back(std::string(base), std::string(uidl));
  return AddResult::added;
}

Result<void> UidlMap::save(int dir_fd, const std::string& file_name) const {
  std::string data(kHeader);
  data += '\n';
  for (const auto& [base, uidl] : entries_) {
    data += base;
    data += ' ';
    data += uidl;
    data += '\n';
  }
  const std::string temp = file_name + ".tmp";
  const int flags = O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW;
  const UniqueFd fd(::openat(dir_fd, temp.c_str(), flags, 0600));
  if (!fd) return Error::from_errno(errno, temp);
  Result<void> outcome = write_all(fd.get(), data, temp);
  if (outcome && ::fsync(fd.get()) != 0) outcome = Error::from_errno(errno, temp);
  if (outcome && ::renameat(dir_fd, temp.c_str(), dir_fd, file_name.c_str()) != 0) {
    outcome = Error::from_errno(errno, file_name);
  }
  if (!outcome) {
    ::unlinkat(dir_fd, temp.c_str(), 0);
    return outcome;
  }
  return sync_directory(dir_fd, "map directory");
}

UidlAssigner::Assigned UidlAssigner::assign(std::string_view base, std::string own) {
  Assigned result;
  if (map_.empty()) {
    result.uidl = std::move(own);  // own UIDLs are unique among themselves already
    return result;
  }
  if (const auto mapped = map_.find(base)) {
    if (used_.insert(std::string(*mapped)).second) {
      result.uidl = std::string(*mapped);
      result.from_map = true;
      return result;
    }
    result.collided = true;
  }
  if (used_.insert(own).second) {
    result.uidl = own;
    return result;
  }
  result.collided = true;
  // Only an imported UIDL can take a message's own one; a numbered variant is free soon enough.
  constexpr std::size_t kRoomForSuffix = 60;
  for (unsigned n = 2;; ++n) {
    result.uidl = maildir_uidl(own.substr(0, kRoomForSuffix) + "-" + std::to_string(n));
    if (used_.insert(result.uidl).second) return result;
  }
}

Result<void> UidlMap::save_file(const std::filesystem::path& maildir) const {
  if (auto made = make_directories(maildir); !made) return made;
  auto dir = open_directory(maildir);
  if (!dir) return dir.error();
  return save(dir->get());
}

}  // namespace mailport::store
