// deliver_to_maildir: the Maildir delivery protocol (write in tmp/, then link into new/).
#include <fcntl.h>
#include <limits.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdint>
#include <string>

#include "core/unique_fd.hpp"
#include "store/crlf_size.hpp"
#include "store/dir_util.hpp"
#include "store/maildir_name.hpp"
#include "store/maildir_store.hpp"

namespace mailport::store {
namespace {

// Distinguishes deliveries of one process within the same microsecond.
std::atomic<std::uint64_t> delivery_counter{0};

std::string local_hostname() {
  char buffer[HOST_NAME_MAX + 1] = {};
  if (::gethostname(buffer, sizeof buffer - 1) != 0 || buffer[0] == '\0') return "localhost";
  return buffer;
}

std::string unique_name(std::string_view message) {
  timespec now{};
  ::clock_gettime(CLOCK_REALTIME, &now);
  return std::to_string(now.tv_sec) + ".M" + std::to_string(now.tv_nsec / 1000) + "P" +
         std::to_string(::getpid()) + "Q" + std::to_string(++delivery_counter) + "." +
         encode_maildir_hostname(local_hostname()) + ",S=" + std::to_string(message.size()) +
         ",W=" + std::to_string(crlf_size(message));
}

Result<void> write_synced(int tmp_fd, const std::string& name, std::string_view message) {
  const UniqueFd fd(
      ::openat(tmp_fd, name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600));
  if (!fd) return Error::from_errno(errno, "create tmp/" + name);
  while (!message.empty()) {
    const ssize_t n = ::write(fd.get(), message.data(), message.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Error::from_errno(errno, "write tmp/" + name);
    message.remove_prefix(static_cast<std::size_t>(n));
  }
  if (::fsync(fd.get()) != 0) return Error::from_errno(errno, "fsync tmp/" + name);
  return {};
}

// link() rather than rename(): it never replaces a message that already has this name.
Result<void> publish(int tmp_fd, int new_fd, const std::string& name) {
  if (::linkat(tmp_fd, name.c_str(), new_fd, name.c_str(), 0) == 0) {
    ::unlinkat(tmp_fd, name.c_str(), 0);
    return {};
  }
  if (errno != EPERM && errno != EOPNOTSUPP) return Error::from_errno(errno, "link new/" + name);
  // Filesystems without hard links: the name is unique, so a plain rename is safe enough.
  if (::renameat(tmp_fd, name.c_str(), new_fd, name.c_str()) != 0) {
    return Error::from_errno(errno, "rename new/" + name);
  }
  return {};
}

Result<void> deliver_into(int tmp_fd, int new_fd, const std::string& name,
                          std::string_view message) {
  auto written = write_synced(tmp_fd, name, message);
  if (written) written = publish(tmp_fd, new_fd, name);
  if (!written) {
    ::unlinkat(tmp_fd, name.c_str(), 0);
    return written;
  }
  return sync_directory(new_fd, "new");
}

struct MaildirDirs {
  UniqueFd tmp;
  UniqueFd fresh;
};

Result<MaildirDirs> open_maildir_dirs(const std::filesystem::path& path) {
  if (auto made = make_directories(path); !made) return made.error();
  auto root = open_directory(path);
  if (!root) return root.error();
  auto tmp = make_and_open_directory_at(root->get(), "tmp");
  if (!tmp) return tmp.error();
  auto fresh = make_and_open_directory_at(root->get(), "new");
  if (!fresh) return fresh.error();
  auto cur = make_and_open_directory_at(root->get(), "cur");
  if (!cur) return cur.error();
  return MaildirDirs{std::move(*tmp), std::move(*fresh)};
}

// One more recipient of a message already on disk: a hard link to the synced file.
Result<void> link_copy(int source_tmp_fd, int new_fd, const std::string& name) {
  if (::linkat(source_tmp_fd, name.c_str(), new_fd, name.c_str(), 0) != 0) {
    return Error::from_errno(errno, "link new/" + name);
  }
  return sync_directory(new_fd, "new");
}

}  // namespace

std::vector<Result<std::string>> deliver_to_maildirs(std::span<const std::filesystem::path> paths,
                                                     std::string_view message) {
  std::vector<Result<std::string>> results;
  const std::string name = unique_name(message);
  UniqueFd source_tmp;  // tmp/ of the Maildir that holds the written file, under `name`
  for (const std::filesystem::path& path : paths) {
    auto dirs = open_maildir_dirs(path);
    if (!dirs) {
      results.emplace_back(dirs.error());
      continue;
    }
    if (source_tmp) {
      auto linked = link_copy(source_tmp.get(), dirs->fresh.get(), name);
      if (!linked && (linked.error().code == std::errc::cross_device_link ||
                      linked.error().code == std::errc::operation_not_permitted ||
                      linked.error().code == std::errc::too_many_links)) {
        linked = deliver_into(dirs->tmp.get(), dirs->fresh.get(), name, message);
      }
      results.emplace_back(linked ? Result<std::string>(name)
                                  : Result<std::string>(linked.error()));
      continue;
    }
    // The first Maildir that takes the file keeps it in tmp/ until every link is made.
    auto written = write_synced(dirs->tmp.get(), name, message);
    if (written) written = link_copy(dirs->tmp.get(), dirs->fresh.get(), name);
    if (!written) {
      ::unlinkat(dirs->tmp.get(), name.c_str(), 0);
      results.emplace_back(written.error());
      continue;
    }
    source_tmp = std::move(dirs->tmp);
    results.emplace_back(name);
  }
  if (source_tmp) ::unlinkat(source_tmp.get(), name.c_str(), 0);
  return results;
}

Result<std::string> deliver_to_maildir(const std::filesystem::path& path,
                                       std::string_view message) {
  if (auto made = make_directories(path); !made) return made.error();
  auto root = open_directory(path);
  if (!root) return root.error();
  auto tmp = make_and_open_directory_at(root->get(), "tmp");
  if (!tmp) return tmp.error();
  auto fresh = make_and_open_directory_at(root->get(), "new");
  if (!fresh) return fresh.error();
  auto cur = make_and_open_directory_at(root->get(), "cur");
  if (!cur) return cur.error();

  std::string name = unique_name(message);
  if (auto delivered = deliver_into(tmp->get(), fresh->get(), name, message); !delivered) {
    return delivered.error();
  }
  return name;
}

}  // namespace mailport::store
