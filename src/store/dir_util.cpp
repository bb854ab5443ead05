#include "store/dir_util.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <memory>

namespace mailport::store {
namespace {

constexpr mode_t kDirectoryMode = 0700;

struct DirCloser {
  void operator()(DIR* dir) const noexcept { ::closedir(dir); }
};
using DirStream = std::unique_ptr<DIR, DirCloser>;

Result<bool> is_regular_file(int dir_fd, const dirent& entry) {
  if (entry.d_type == DT_REG) return true;
  if (entry.d_type != DT_UNKNOWN) return false;
  struct stat st {};
  if (::fstatat(dir_fd, entry.d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
    if (errno == ENOENT) return false;
    return Error::from_errno(errno, std::string("stat ") + entry.d_name);
  }
  return S_ISREG(st.st_mode);
}

Result<void> make_directory(const std::filesystem::path& path) {
  if (::mkdir(path.c_str(), kDirectoryMode) == 0 || errno == EEXIST) return {};
  return Error::from_errno(errno, "mkdir " + path.string());
}

}  // namespace

Result<void> make_directories(const std::filesystem::path& path) {
  std::filesystem::path prefix;
  for (const auto& part : path) {
    prefix /= part;
    if (part.empty() || part == prefix.root_path()) continue;
    if (auto made = make_directory(prefix); !made) return made;
  }
  return {};
}

Result<UniqueFd> open_directory(const std::filesystem::path& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd) return Error::from_errno(errno, "open " + path.string());
  return fd;
}

Result<UniqueFd> open_directory_at(int dir_fd, const char* name) {
  UniqueFd fd(::openat(dir_fd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd) return Error::from_errno(errno, std::string("open ") + name);
  return fd;
}

Result<UniqueFd> make_and_open_directory_at(int dir_fd, const char* name) {
  if (::mkdirat(dir_fd, name, kDirectoryMode) != 0 && errno != EEXIST) {
    return Error::from_errno(errno, std::string("mkdir ") + name);
  }
  return open_directory_at(dir_fd, name);
}

Result<std::vector<std::string>> list_regular_files(int dir_fd) {
  // fdopendir takes ownership of its descriptor; give it a fresh one so dir_fd stays usable.
  auto own = open_directory_at(dir_fd, ".");
  if (!own) return own.error();
  DirStream dir(::fdopendir(own->get()));
  if (!dir) return Error::from_errno(errno, "fdopendir");
  own->release();

  std::vector<std::string> names;
  while (true) {
    errno = 0;
    const dirent* entry = ::readdir(dir.get());
    if (entry == nullptr) break;
    if (entry->d_name[0] == '.') continue;
    auto regular = is_regular_file(dir_fd, *entry);
    if (!regular) return regular.error();
    if (*regular) names.emplace_back(entry->d_name);
  }
  if (errno != 0) return Error::from_errno(errno, "readdir");
  return names;
}

Result<void> sync_directory(int dir_fd, const char* what) {
  if (::fsync(dir_fd) != 0) return Error::from_errno(errno, std::string("fsync ") + what);
  return {};
}

}  // namespace mailport::store
