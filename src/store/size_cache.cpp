#include "store/size_cache.hpp"

#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <string>

#include "core/unique_fd.hpp"

namespace mailport::store {
namespace {

constexpr std::string_view kHeader = "mailport-sizes 1\n";
constexpr const char* kTempFileName = "mailport-sizes.tmp";
constexpr std::size_t kReadChunk = 64 * 1024;

Result<std::string> read_all(int fd) {
  std::string data;
  char buffer[kReadChunk];
  while (true) {
    const ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n == 0) return data;
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Error::from_errno(errno, kSizeCacheFileName);
    data.append(buffer, static_cast<std::size_t>(n));
  }
}

void parse_line(std::string_view line, std::unordered_map<std::string, std::uint64_t>& into) {
  const std::size_t space = line.rfind(' ');
  if (space == std::string_view::npos || space == 0) return;
  std::uint64_t size = 0;
  const char* end = line.data() + line.size();
  const auto [ptr, ec] = std::from_chars(line.data() + space + 1, end, size);
  if (ec != std::errc{} || ptr != end || space + 1 == line.size()) return;
  into.emplace(std::string(line.substr(0, space)), size);
}

Result<void> write_all(int fd, std::string_view data) {
  while (!data.empty()) {
    const ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Error::from_errno(errno, kTempFileName);
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return {};
}

Result<void> replace_file(int maildir_fd, std::string_view data) {
  const int flags = O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW;
  const UniqueFd fd(::openat(maildir_fd, kTempFileName, flags, 0600));
  if (!fd) return Error::from_errno(errno, kTempFileName);
  if (auto written = write_all(fd.get(), data); !written) return written;
  // Without the fsync a crash could leave a renamed but truncated file with a wrong last size.
  if (::fsync(fd.get()) != 0) return Error::from_errno(errno, kTempFileName);
  if (::renameat(maildir_fd, kTempFileName, maildir_fd, kSizeCacheFileName) != 0) {
    return Error::from_errno(errno, kSizeCacheFileName);
  }
  return {};
}

}  // namespace

SizeCache SizeCache::load(int maildir_fd) {
  SizeCache cache;
  const UniqueFd fd(::openat(maildir_fd, kSizeCacheFileName, O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  if (!fd) return cache;
  auto data = read_all(fd.get());
  if (!data || !std::string_view(*data).starts_with(kHeader)) return cache;
  std::string_view rest = std::string_view(*data).substr(kHeader.size());
  // Only complete lines count: a torn last line must not yield a wrong size.
  for (std::size_t nl = rest.find('\n'); nl != std::string_view::npos; nl = rest.find('\n')) {
    parse_line(rest.substr(0, nl), cache.loaded_);
    rest.remove_prefix(nl + 1);
  }
  return cache;
}

std::optional<std::uint64_t> SizeCache::find(std::string_view base) const {
  const auto it = loaded_.find(std::string(base));
  if (it == loaded_.end()) return std::nullopt;
  return it->second;
}

void SizeCache::record(std::string_view base, std::uint64_t size) {
  // A newline would break the line format; such a message is simply recomputed every time.
  if (base.find('\n') != std::string_view::npos) return;
  recorded_.insert_or_assign(std::string(base), size);
}

Result<void> SizeCache::save(int maildir_fd) const {
  std::string data(kHeader);
  for (const auto& [base, size] : recorded_) {
    data += base;
    data += ' ';
    data += std::to_string(size);
    data += '\n';
  }
  auto replaced = replace_file(maildir_fd, data);
  if (!replaced) ::unlinkat(maildir_fd, kTempFileName, 0);
  return replaced;
}

}  // namespace mailport::store
