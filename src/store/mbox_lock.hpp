// The locks every program that writes a Unix mail spool takes, so mailport never appends to or
// rewrites a spool while the MTA's local delivery (or procmail, or a mail reader) is writing it:
// a "<spool>.lock" dot-lock file created with O_EXCL, then an fcntl write lock on the spool.
// The fcntl lock is an open-file-description lock, which conflicts with other processes' POSIX
// record locks and also between threads of this process.
#pragma once

#include <chrono>
#include <filesystem>

#include "core/result.hpp"
#include "core/unique_fd.hpp"

namespace mailport::store {

// A dot-lock older than this is left over from a crash and is removed.
inline constexpr std::chrono::seconds kStaleDotlockAge{300};

class MboxLock {
 public:
  // Locks `spool_path`, retrying every 50 ms; `create` makes a missing spool (mode 0600),
  // otherwise a missing spool is errc::not_found. errc::in_use when either lock is still held
  // by someone else after `timeout`.
  static Result<MboxLock> acquire(const std::filesystem::path& spool_path,
                                  std::chrono::milliseconds timeout, bool create);

  MboxLock(MboxLock&& other) noexcept;
  MboxLock& operator=(MboxLock&&) = delete;
  MboxLock(const MboxLock&) = delete;
  ~MboxLock();

  // The spool, opened read-write; the fcntl lock lives as long as this descriptor.
  int fd() const { return spool_.get(); }

 private:
  MboxLock(UniqueFd spool, std::filesystem::path dotlock)
      : spool_(std::move(spool)), dotlock_(std::move(dotlock)) {}

  UniqueFd spool_;
  std::filesystem::path dotlock_;  // empty when the directory does not allow one
};

}  // namespace mailport::store
