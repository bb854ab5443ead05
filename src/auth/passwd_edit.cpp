// Edits of the passwd file: lock, re-read, change the lines in memory, replace atomically.
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <thread>

#include "auth/passwd_file.hpp"
#include "auth/passwd_text.hpp"
#include "core/unique_fd.hpp"

namespace mailport::auth {
namespace {

namespace fs = std::filesystem;

constexpr mode_t kNewFileMode = 0640;
constexpr auto kLockTimeout = std::chrono::seconds(10);

fs::path with_suffix(const fs::path& path, const std::string& suffix) {
  return fs::path(path.string() + suffix);
}

// An exclusive flock on "<path>.lock", held for the whole read-modify-replace. The lock lives on
// a separate file because the passwd file itself is replaced (a lock on it would stay with the
// old inode). The lock file is never removed: removing it would let two editors lock different
// inodes.
class EditLock {
 public:
  static Result<EditLock> acquire(const fs::path& path) {
    const auto lock_path = with_suffix(path, ".lock");
    UniqueFd fd(
        ::open(lock_path.c_str(), O_RDONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, kNewFileMode));
    if (!fd) return Error::from_errno(errno, "cannot open lock file " + lock_path.string());
    // Polling keeps the wait bounded; a blocking flock() could hang forever on a stuck editor.
    const auto deadline = std::chrono::steady_clock::now() + kLockTimeout;
    auto pause = std::chrono::milliseconds(1);
    while (::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) {
      if (errno != EWOULDBLOCK && errno != EINTR) {
        return Error::from_errno(errno, "cannot lock " + lock_path.string());
      }
      if (std::chrono::steady_clock::now() >= deadline) {
        return make_error(errc::temporary_failure,
                          "timed out waiting for the lock on " + lock_path.string());
      }
      std::this_thread::sleep_for(pause);
      pause = std::min(pause * 2, std::chrono::milliseconds(50));
    }
    return EditLock(std::move(fd));
  }

 private:
  explicit EditLock(UniqueFd fd) : fd_(std::move(fd)) {}
  UniqueFd fd_;  // closing it releases the lock
};

// Removes the temporary file unless it was renamed into place.
class TempFile {
 public:
  explicit TempFile(fs::path path) : path_(std::move(path)) {}
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;
  ~TempFile() {
    if (!committed_) ::unlink(path_.c_str());
  }
  const fs::path& path() const { return path_; }
  void commit() { committed_ = true; }

 private:
  fs::path path_;
  bool committed_ = false;
};

struct CurrentFile {
  bool exists = false;
  struct stat st {};
  std::string text;
};

Result<CurrentFile> read_current(const fs::path& path) {
  CurrentFile current;
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) {
    if (errno == ENOENT) return current;
    return Error::from_errno(errno, "cannot open " + path.string());
  }
  if (::fstat(fd.get(), &current.st) != 0) {
    return Error::from_errno(errno, "cannot stat " + path.string());
  }
  auto text = detail::read_all(fd.get(), path);
  if (!text) return text.error();
  // Never rewrite a file we do not understand: the edit would carry its errors along.
  if (auto parsed = parse_passwd_text(*text, path.string()); !parsed) return parsed.error();
  current.exists = true;
  current.text = std::move(text).value();
  return current;
}

Result<void> write_all(int fd, std::string_view data, const fs::path& path) {
  while (!data.empty()) {
    const ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return Error::from_errno(errno, "cannot write " + path.string());
    }
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return {};
}

Result<void> sync_directory(const fs::path& file) {
  const auto dir = file.has_parent_path() ? file.parent_path() : fs::path(".");
  UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd || ::fsync(fd.get()) != 0) return Error::from_errno(errno, "cannot sync " + dir.string());
  return {};
}

// Writes "<path>.tmp.<pid>", syncs it and renames it over `path`, keeping mode and owner.
Result<void> replace_file(const fs::path& path, const CurrentFile& current, std::string_view text) {
  TempFile temp(with_suffix(path, ".tmp." + std::to_string(::getpid())));
  const mode_t mode = current.exists ? (current.st.st_mode & 07777) : kNewFileMode;
  UniqueFd fd(
      ::open(temp.path().c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode));
  if (!fd) return Error::from_errno(errno, "cannot create " + temp.path().string());
  // The umask must not narrow the mode, and a file edited by root must stay readable by the
  // account the server runs as; an unprivileged editor cannot chown and keeps its own ids.
  if (::fchmod(fd.get(), mode) != 0) {
    return Error::from_errno(errno, "cannot chmod " + temp.path().string());
  }
  if (current.exists && ::fchown(fd.get(), current.st.st_uid, current.st.st_gid) != 0 &&
      errno != EPERM) {
    return Error::from_errno(errno, "cannot chown " + temp.path().string());
  }
  if (auto written = write_all(fd.get(), text, temp.path()); !written) return written;
  if (::fsync(fd.get()) != 0)
    return Error::from_errno(errno, "cannot sync " + temp.path().string());
  if (::close(fd.release()) != 0) {
    return Error::from_errno(errno, "cannot write " + temp.path().string());
  }
  if (::rename(temp.path().c_str(), path.c_str()) != 0) {
    return Error::from_errno(errno,
                             "cannot rename " + temp.path().string() + " to " + path.string());
  }
  temp.commit();
  return sync_directory(path);
}

// A symlinked passwd file is edited where it points, so the link survives the rename.
fs::path edit_target(const fs::path& path) {
  std::error_code ec;
  if (fs::is_symlink(fs::symlink_status(path, ec))) {
    auto target = fs::canonical(path, ec);
    if (!ec) return target;
  }
  return path;
}

using LineEdit = std::function<Result<void>(std::vector<std::string>& lines, const fs::path&)>;

Result<void> edit_file(const fs::path& requested, const LineEdit& edit) {
  const auto path = edit_target(requested);
  auto lock = EditLock::acquire(path);
  if (!lock) return lock.error();
  auto current = read_current(path);
  if (!current) return current.error();
  std::vector<std::string> lines;
  for (const auto line : detail::split_lines(current->text)) lines.emplace_back(line);
  if (auto edited = edit(lines, path); !edited) return edited;
  std::string text;
  for (const auto& line : lines) text += line + "\n";
  return replace_file(path, *current, text);
}

// Index of the user's line, or lines.size().
std::size_t find_user(const std::vector<std::string>& lines, std::string_view user) {
  for (std::size_t i = 0; i < lines.size(); ++i) {
    const auto line = detail::logical_line(lines[i]);
    if (!detail::is_ignored_line(line) && detail::line_user_name(line) == user) return i;
  }
  return lines.size();
}

Error no_such_user(std::string_view user, const fs::path& path) {
  return make_error(errc::not_found,
                    "user '" + std::string(user) + "' not found in " + path.string());
}

Result<void> check_field(std::string_view value, std::string_view what, bool colon_allowed) {
  const std::string_view forbidden =
      colon_allowed ? std::string_view("\n\r\0", 3) : std::string_view(":\n\r\0", 4);
  if (value.find_first_of(forbidden) != std::string_view::npos) {
    return make_error(errc::invalid_input, std::string(what) + " contains " +
                                               (colon_allowed ? "" : "':', ") +
                                               "a line break or a NUL byte");
  }
  return {};
}

Result<void> check_record(const UserRecord& user) {
  if (!valid_user_name(user.name)) {
    return make_error(errc::invalid_input, "invalid user name '" + user.name + "'");
  }
  if (user.password.empty()) return make_error(errc::invalid_input, "empty password hash");
  for (const auto& [value, what] :
       {std::pair{&user.password, "password hash"}, std::pair{&user.gecos, "gecos"},
        std::pair{&user.home, "home"}, std::pair{&user.shell, "shell"}}) {
    if (auto checked = check_field(*value, what, false); !checked) return checked;
  }
  return check_field(user.extra, "extra fields", true);
}

}  // namespace

Result<void> add_user(const std::filesystem::path& path, const UserRecord& user) {
  if (auto checked = check_record(user); !checked) return checked;
  return edit_file(
      path, [&](std::vector<std::string>& lines, const fs::path& target) -> Result<void> {
        if (find_user(lines, user.name) != lines.size()) {
          return make_error(errc::invalid_input,
                            "user '" + user.name + "' already exists in " + target.string());
        }
        lines.push_back(format_passwd_line(user));
        return {};
      });
}

Result<void> set_password(const std::filesystem::path& path, std::string_view user,
                          std::string_view password_hash) {
  return replace_password(path, user, std::nullopt, password_hash);
}

Result<void> replace_password(const std::filesystem::path& path, std::string_view user,
                              std::optional<std::string_view> expected_hash,
                              std::string_view password_hash) {
  UserRecord probe;
  probe.name = user;
  probe.password = password_hash;
  if (auto checked = check_record(probe); !checked) return checked;
  return edit_file(
      path, [&](std::vector<std::string>& lines, const fs::path& target) -> Result<void> {
        const auto index = find_user(lines, user);
        if (index == lines.size()) return no_such_user(user, target);
        // Only the password field changes; the rest of the line is kept byte for byte.
        auto& line = lines[index];
        const bool crlf = line.ends_with('\r');
        const auto logical = detail::logical_line(line);
        const auto password_start = logical.find(':') + 1;
        const auto password_end = logical.find(':', password_start);
        if (expected_hash && logical.substr(password_start, password_end - password_start) !=
                                 *expected_hash) {
          return make_error(errc::temporary_failure,
                            "the password of '" + std::string(user) + "' changed meanwhile in " +
                                target.string());
        }
        const auto rest = password_end == std::string_view::npos ? std::string_view()
                                                                 : logical.substr(password_end);
        line = std::string(user) + ":" + std::string(password_hash) + std::string(rest) +
               (crlf ? "\r" : "");
        return {};
      });
}

Result<void> delete_user(const std::filesystem::path& path, std::string_view user) {
  return edit_file(path,
                   [&](std::vector<std::string>& lines, const fs::path& target) -> Result<void> {
                     const auto index = find_user(lines, user);
                     if (index == lines.size()) return no_such_user(user, target);
                     lines.erase(lines.begin() + static_cast<std::ptrdiff_t>(index));
                     return {};
                   });
}

}  // namespace mailport::auth
