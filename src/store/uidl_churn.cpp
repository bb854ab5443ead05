#include "store/uidl_churn.hpp"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string>

#include "core/unique_fd.hpp"

namespace mailport::store {
namespace {

constexpr char kMagic[8] = {'M', 'P', 'S', 'E', 'E', 'N', '0', '1'};
constexpr std::size_t kMaxEntries = 16 * 1024 * 1024;  // a foreign huge file is ignored

}  // namespace

std::uint64_t uidl_hash(std::string_view uidl) {
  std::uint64_t hash = 0xcbf29ce484222325ull;
  for (const unsigned char c : uidl) {
    hash ^= c;
    hash *= 0x100000001b3ull;
  }
  return hash;
}

std::vector<std::uint64_t> load_seen_uidls(int dir_fd, const std::string& file_name) {
  std::vector<std::uint64_t> hashes;
  const UniqueFd fd(::openat(dir_fd, file_name.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  struct stat info {};
  if (!fd || ::fstat(fd.get(), &info) != 0) return hashes;
  const auto size = static_cast<std::size_t>(info.st_size);
  if (size < sizeof kMagic || (size - sizeof kMagic) % 8 != 0 ||
      (size - sizeof kMagic) / 8 > kMaxEntries) {
    return hashes;
  }
  std::string data(size, '\0');
  std::size_t got = 0;
  while (got < size) {
    const ssize_t n = ::read(fd.get(), data.data() + got, size - got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return {};
    got += static_cast<std::size_t>(n);
  }
  if (std::memcmp(data.data(), kMagic, sizeof kMagic) != 0) return hashes;
  hashes.resize((size - sizeof kMagic) / 8);
  // An empty set has no buffer: memcpy to a null pointer is undefined even for zero bytes.
  if (!hashes.empty()) std::memcpy(hashes.data(), data.data() + sizeof kMagic, hashes.size() * 8);
  if (!std::is_sorted(hashes.begin(), hashes.end())) return {};
  return hashes;
}

Result<void> save_seen_uidls(int dir_fd, const std::vector<std::uint64_t>& sorted,
                             const std::string& file_name) {
  std::string data(kMagic, sizeof kMagic);
  data.append(reinterpret_cast<const char*>(sorted.data()), sorted.size() * 8);
  const std::string temp = file_name + ".tmp";
  const int flags = O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW;
  const UniqueFd fd(::openat(dir_fd, temp.c_str(), flags, 0600));
  if (!fd) return Error::from_errno(errno, temp);
  std::string_view rest = data;
  while (!rest.empty()) {
    const ssize_t n = ::write(fd.get(), rest.data(), rest.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int err = errno;
      ::unlinkat(dir_fd, temp.c_str(), 0);
      return Error::from_errno(err, temp);
    }
    rest.remove_prefix(static_cast<std::size_t>(n));
  }
  // No fsync: losing the latest version after a crash only weakens one alarm.
  if (::renameat(dir_fd, temp.c_str(), dir_fd, file_name.c_str()) != 0) {
    const int err = errno;
    ::unlinkat(dir_fd, temp.c_str(), 0);
    return Error::from_errno(err, file_name);
  }
  return {};
}

std::vector<std::uint64_t> seen_uidl_hashes(std::span<const MessageInfo> listing) {
  std::vector<std::uint64_t> hashes;
  hashes.reserve(listing.size());
  for (const MessageInfo& message : listing) hashes.push_back(uidl_hash(message.uidl));
  std::sort(hashes.begin(), hashes.end());
  hashes.erase(std::unique(hashes.begin(), hashes.end()), hashes.end());
  return hashes;
}

std::optional<ChurnFinding> check_churn(const std::vector<std::uint64_t>& previous,
                                        const std::vector<std::uint64_t>& current,
                                        const ChurnSettings& settings) {
  if (settings.percent == 0 || previous.empty() || previous.size() < settings.min_seen) {
    return std::nullopt;
  }
  std::size_t missing = 0;
  auto it = current.begin();
  for (const std::uint64_t hash : previous) {
    it = std::lower_bound(it, current.end(), hash);
    if (it == current.end() || *it != hash) ++missing;
  }
  if (missing * 100 <= previous.size() * settings.percent) return std::nullopt;
  return ChurnFinding{previous.size(), missing};
}

void report_churn(std::string_view login, const ChurnFinding& finding, std::string_view store_field,
                  const std::string& path, const ChurnSettings& settings) {
  // Quoted like the login lines, so that a login name cannot forge fields.
  std::string user_field;
  for (const char c : login) {
    if (c == '"' || c == '\\') user_field += '\\';
    user_field += c;
  }
  spdlog::warn("event=uidl_churn user=\"{}\" seen={} missing={} {}=\"{}\"", user_field,
               finding.seen, finding.missing, store_field, path);
  if (settings.on_alarm) settings.on_alarm();
}

}  // namespace mailport::store
