// The per-maildrop session lock: flock(LOCK_EX) on a file inside the Maildir. The kernel drops it
// when the descriptor closes or the process dies, so a crash never leaves a stale lock behind.
// flock locks belong to the open file description: two sessions of one process conflict too.
#pragma once

#include <utility>

#include "core/result.hpp"
#include "core/unique_fd.hpp"

namespace mailport::store {

inline constexpr const char* kLockFileName = "mailport-pop3.lock";

class MaildirLock {
 public:
  // errc::in_use at once when another session holds it; the caller owns the retry policy.
  static Result<MaildirLock> acquire(int maildir_fd);

 private:
  explicit MaildirLock(UniqueFd fd) : fd_(std::move(fd)) {}
  // The lock file is never unlinked: removing it would let a later session lock a fresh inode
  // while an older one still holds the old one.
  UniqueFd fd_;
};

}  // namespace mailport::store
