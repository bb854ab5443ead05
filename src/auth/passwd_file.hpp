// Users in Dovecot's passwd-file format:
//   user:{SCHEME}hash:uid:gid:gecos:home:shell:extra_fields
// Fields after the password are optional; blank lines and lines starting with '#' are ignored.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.hpp"

namespace mailport::auth {

struct UserRecord {
  std::string name;
  std::string password;  // "{SCHEME}hash"
  std::optional<uid_t> uid;
  std::optional<gid_t> gid;
  std::string gecos;
  std::string home;
  std::string shell;
  std::string extra;  // space-separated key=value fields, kept verbatim
};

// Parses the whole file; an error names the file and line (path:line: message).
Result<std::vector<UserRecord>> parse_passwd_file(const std::filesystem::path& path);
Result<std::vector<UserRecord>> parse_passwd_text(std::string_view text, std::string_view origin);
std::string format_passwd_line(const UserRecord& user);

// A user name is 1-255 octets of printable non-space ASCII or UTF-8, without ':'.
bool valid_user_name(std::string_view name);

// Read side for the server: thread-safe, re-reads the file when it changes on disk (so
// `mailport user add` needs no restart).
class PassDb {
 public:
  virtual ~PassDb() = default;
  // nullopt: no such user. An error: the database could not be read ([SYS/TEMP]).
  virtual Result<std::optional<UserRecord>> lookup(std::string_view user) = 0;
  // Changes whenever a new version of the user database was loaded, so caches derived from it
  // know to start over. A database that never changes may keep returning 0.
  virtual std::uint64_t generation() { return 0; }
};

class PasswdFileDb final : public PassDb {
 public:
  explicit PasswdFileDb(std::filesystem::path path);
  Result<std::optional<UserRecord>> lookup(std::string_view user) override;
  std::uint64_t generation() override;

 private:
  // What a stat() tells about a version of the file; a change means it must be re-read.
  struct FileIdentity {
    dev_t dev = 0;
    ino_t ino = 0;
    off_t size = 0;
    std::int64_t mtime_ns = 0;
    std::int64_t ctime_ns = 0;
    bool operator==(const FileIdentity&) const = default;
  };

  Result<void> refresh_locked();

  std::filesystem::path path_;
  std::mutex mutex_;
  std::map<std::string, UserRecord, std::less<>> users_;  // the last good parse
  std::optional<FileIdentity> loaded_;                    // the version users_ came from
  std::optional<FileIdentity> rejected_;  // a version that failed to parse, not retried
  std::optional<Error> rejected_error_;
  std::uint64_t generation_ = 0;  // successful loads so far
};

// Edits for `mailport user ...`: each takes an exclusive lock (flock on "<path>.lock"), re-reads
// the file, and replaces it atomically (temp file, fsync, rename), so concurrent edits are not
// lost. The file is created with mode 0640 if missing.
Result<void> add_user(const std::filesystem::path& path, const UserRecord& user);
Result<void> set_password(const std::filesystem::path& path, std::string_view user,
                          std::string_view password_hash);
// Like set_password, but only if the stored hash is still `expected_hash` (compare-and-swap), so
// an automatic upgrade never overwrites a password an admin changed in the meantime.
Result<void> replace_password(const std::filesystem::path& path, std::string_view user,
                              std::optional<std::string_view> expected_hash,
                              std::string_view password_hash);
Result<void> delete_user(const std::filesystem::path& path, std::string_view user);

}  // namespace mailport::auth
