#include "client/fetch_state.hpp"

#include <fcntl.h>
#include <pwd.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstdlib>

namespace mailport::client {
namespace {

constexpr std::string_view kHeader = "mailport-fetch-state 1";

std::filesystem::path journal_path(const std::filesystem::path& path) {
  return std::filesystem::path(path.string() + ".journal");
}

template <class T>
std::optional<T> number(std::string_view text) {
  T value{};
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || text.empty()) return std::nullopt;
  return value;
}

std::vector<std::string_view> words(std::string_view line) {
  std::vector<std::string_view> out;
  while (!line.empty()) {
    const auto space = line.find(' ');
    out.push_back(line.substr(0, space));
    if (space == std::string_view::npos) break;
    line.remove_prefix(space + 1);
  }
  return out;
}

bool valid_word(std::string_view word) {
  if (word.empty()) return false;
  for (char c : word) {
    if (c <= 0x20 || c >= 0x7f) return false;
  }
  return true;
}

Result<std::string> read_whole(int fd, const std::filesystem::path& path) {
  std::string text;
  char buffer[65536];
  for (;;) {
    const ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Error::from_errno(errno, "reading " + path.string());
    if (n == 0) return text;
    text.append(buffer, static_cast<std::size_t>(n));
  }
}

Error corrupt(const std::filesystem::path& path, std::size_t line_number) {
  return make_error(errc::invalid_input,
                    path.string() + ":" + std::to_string(line_number) +
                        ": unreadable fetch state record (move the file away to start over; "
                        "messages still on the server would then be fetched again)");
}

std::string login_record(std::int64_t when, std::optional<std::uint64_t> delay) {
  return "login " + std::to_string(when) + " " + (delay ? std::to_string(*delay) : "-") + "\n";
}

}  // namespace

Result<void> write_all_fd(int fd, std::string_view bytes, std::string_view what) {
  while (!bytes.empty()) {
    const ssize_t n = ::write(fd, bytes.data(), bytes.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Error::from_errno(errno, "writing " + std::string(what));
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
  return {};
}

Result<void> fsync_directory(const std::filesystem::path& dir) {
  UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd) return Error::from_errno(errno, "opening " + dir.string());
  if (::fsync(fd.get()) != 0) return Error::from_errno(errno, "syncing " + dir.string());
  return {};
}

Result<void> make_private_dirs(const std::filesystem::path& dir) {
  std::filesystem::path partial;
  for (const auto& part : dir) {
    partial /= part;
    if (::mkdir(partial.c_str(), 0700) != 0 && errno != EEXIST) {
      return Error::from_errno(errno, "creating " + partial.string());
    }
  }
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0) return Error::from_errno(errno, "checking " + dir.string());
  if (!S_ISDIR(st.st_mode)) return Error::from_errno(ENOTDIR, dir.string());
  return {};
}

std::filesystem::path state_file_for(const std::filesystem::path& dir, std::string_view account) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string name;
  for (char c : account) {
    const auto u = static_cast<unsigned char>(c);
    const bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                       c == '@' || c == '.' || c == '_' || c == '-';
    if (plain) {
      name.push_back(c);
    } else {
      name.push_back('%');
      name.push_back(kHex[u >> 4]);
      name.push_back(kHex[u & 0xf]);
    }
  }
  if (name.starts_with('.')) name.replace(0, 1, "%2E");  // never a hidden or "." / ".." name
  return dir / (name + ".state");
}

Result<std::filesystem::path> default_state_dir() {
  if (const char* xdg = std::getenv("XDG_STATE_HOME"); xdg && *xdg == '/') {
    return std::filesystem::path(xdg) / "mailport" / "fetch";
  }
  const char* home = std::getenv("HOME");
  if (!home || *home != '/') {
    const passwd* pw = ::getpwuid(::getuid());
    home = pw ? pw->pw_dir : nullptr;
  }
  if (!home || *home != '/') {
    return make_error(errc::not_found, "no home directory for the fetch state; use --state-dir");
  }
  return std::filesystem::path(home) / ".local" / "state" / "mailport" / "fetch";
}

Result<FetchState> FetchState::open(const std::filesystem::path& path) {
  FetchState state;
  state.path_ = path;
  const auto dir = path.has_parent_path() ? path.parent_path() : std::filesystem::path(".");
  if (auto made = make_private_dirs(dir); !made) return made.error();
  const auto journal = journal_path(path);
  state.journal_ =
      UniqueFd(::open(journal.c_str(), O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0600));
  if (!state.journal_) return Error::from_errno(errno, "opening " + journal.string());
  if (::flock(state.journal_.get(), LOCK_EX | LOCK_NB) != 0) {
    if (errno == EWOULDBLOCK) {
      return make_error(errc::in_use, "another mailport fetch is working on this account (" +
                                          path.string() + ")");
    }
    return Error::from_errno(errno, "locking " + journal.string());
  }
  if (auto loaded = state.load_snapshot(); !loaded) return loaded.error();
  if (auto loaded = state.load_journal(); !loaded) return loaded.error();
  return state;
}

Result<void> FetchState::load_snapshot() {
  UniqueFd fd(::open(path_.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  if (!fd) {
    if (errno == ENOENT) return {};
    return Error::from_errno(errno, "opening " + path_.string());
  }
  auto text = read_whole(fd.get(), path_);
  if (!text) return text.error();
  std::string_view rest = *text;
  std::size_t line_number = 0;
  // Replaced by rename only, so any flaw means damage from outside: refuse rather than guess.
  while (!rest.empty()) {
    const auto newline = rest.find('\n');
    ++line_number;
    if (newline == std::string_view::npos) return corrupt(path_, line_number);
    const auto line = rest.substr(0, newline);
    rest.remove_prefix(newline + 1);
    const bool ok = line_number == 1 ? line == kHeader : apply(line);
    if (!ok) return corrupt(path_, line_number);
  }
  return {};
}

Result<void> FetchState::load_journal() {
  const auto journal = journal_path(path_);
  if (::lseek(journal_.get(), 0, SEEK_SET) < 0) return Error::from_errno(errno, journal.string());
  auto text = read_whole(journal_.get(), journal);
  if (!text) return text.error();
  const auto end = text->rfind('\n');
  const std::size_t complete = end == std::string::npos ? 0 : end + 1;
  if (complete != text->size()) {
    // A record torn by a crash was never acknowledged; cut it off so appends start clean.
    if (::ftruncate(journal_.get(), static_cast<off_t>(complete)) != 0 ||
        ::fdatasync(journal_.get()) != 0) {
      return Error::from_errno(errno, "repairing " + journal.string());
    }
  }
  std::string_view rest = std::string_view(*text).substr(0, complete);
  std::size_t line_number = 0;
  while (!rest.empty()) {
    const auto newline = rest.find('\n');
    ++line_number;
    if (!apply(rest.substr(0, newline))) return corrupt(journal, line_number);
    rest.remove_prefix(newline + 1);
  }
  return {};
}

bool FetchState::apply(std::string_view line) {
  const auto w = words(line);
  for (auto word : w) {
    if (!valid_word(word)) return false;
  }
  if (w.size() == 3 && w[0] == "fetched") {
    const auto when = number<std::int64_t>(w[2]);
    if (!when) return false;
    fetched_.try_emplace(std::string(w[1]), *when);  // the first fetch time stays
    pending_.erase(std::string(w[1]));
    return true;
  }
  if (w.size() == 3 && w[0] == "pending") {
    if (!fetched_.contains(std::string(w[1]))) pending_[std::string(w[1])] = std::string(w[2]);
    return true;
  }
  if (w.size() == 2 && w[0] == "forget") {
    fetched_.erase(std::string(w[1]));
    pending_.erase(std::string(w[1]));
    return true;
  }
  if (w.size() == 3 && w[0] == "login") {
    const auto when = number<std::int64_t>(w[1]);
    const auto delay = w[2] == "-" ? std::optional<std::uint64_t>(0) : number<std::uint64_t>(w[2]);
    if (!when || !delay) return false;
    last_login_ = *when;
    login_delay_ = w[2] == "-" ? std::nullopt : delay;
    return true;
  }
  return false;
}

Result<void> FetchState::append(const std::string& records, bool durable) {
  const auto journal = journal_path(path_);
  if (auto written = write_all_fd(journal_.get(), records, journal.string()); !written) {
    return written.error();
  }
  if (durable) {
    if (auto synced = sync(); !synced) return synced.error();
  }
  std::string_view rest = records;
  while (!rest.empty()) {
    const auto newline = rest.find('\n');
    apply(rest.substr(0, newline));
    rest.remove_prefix(newline + 1);
  }
  return {};
}

Result<void> FetchState::sync() {
  if (::fdatasync(journal_.get()) != 0) {
    return Error::from_errno(errno, "syncing " + journal_path(path_).string());
  }
  return {};
}

std::optional<std::int64_t> FetchState::first_seen(const std::string& uidl) const {
  const auto it = fetched_.find(uidl);
  if (it == fetched_.end()) return std::nullopt;
  return it->second;
}

const std::string* FetchState::pending(const std::string& uidl) const {
  const auto it = pending_.find(uidl);
  return it == pending_.end() ? nullptr : &it->second;
}

std::vector<std::string> FetchState::known_uidls() const {
  std::vector<std::string> out;
  out.reserve(fetched_.size() + pending_.size());
  for (const auto& [uidl, when] : fetched_) out.push_back(uidl);
  for (const auto& [uidl, token] : pending_) out.push_back(uidl);
  return out;
}

Result<void> FetchState::record_pending(const std::string& uidl, std::string_view token) {
  if (!valid_word(uidl) || !valid_word(token)) {
    return make_error(errc::invalid_input, "unusable UIDL or delivery token");
  }
  return append("pending " + uidl + " " + std::string(token) + "\n", true);
}

Result<void> FetchState::record_fetched(const std::string& uidl, std::int64_t now) {
  if (!valid_word(uidl)) return make_error(errc::invalid_input, "unusable UIDL");
  return append("fetched " + uidl + " " + std::to_string(now) + "\n", false);
}

Result<void> FetchState::record_login(std::int64_t now, std::optional<std::uint64_t> delay) {
  return append(login_record(now, delay), true);
}

Result<void> FetchState::forget(const std::vector<std::string>& uidls) {
  if (uidls.empty()) return {};
  std::string records;
  for (const auto& uidl : uidls) records += "forget " + uidl + "\n";
  return append(records, true);
}

Result<void> FetchState::compact() {
  std::string text(kHeader);
  text.push_back('\n');
  if (last_login_) text += login_record(*last_login_, login_delay_);
  for (const auto& [uidl, when] : fetched_)
    text += "fetched " + uidl + " " + std::to_string(when) + "\n";
  for (const auto& [uidl, token] : pending_) text += "pending " + uidl + " " + token + "\n";

  const std::filesystem::path temp(path_.string() + ".tmp");
  UniqueFd fd(::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600));
  if (!fd) return Error::from_errno(errno, "creating " + temp.string());
  if (auto written = write_all_fd(fd.get(), text, temp.string()); !written) return written.error();
  if (::fsync(fd.get()) != 0) return Error::from_errno(errno, "syncing " + temp.string());
  fd.reset();
  if (::rename(temp.c_str(), path_.c_str()) != 0) {
    return Error::from_errno(errno, "replacing " + path_.string());
  }
  const auto dir = path_.has_parent_path() ? path_.parent_path() : std::filesystem::path(".");
  if (auto synced = fsync_directory(dir); !synced) return synced.error();
  // Only now is the journal redundant.
  if (::ftruncate(journal_.get(), 0) != 0 || ::fdatasync(journal_.get()) != 0) {
    return Error::from_errno(errno, "emptying " + journal_path(path_).string());
  }
  return {};
}

}  // namespace mailport::client
