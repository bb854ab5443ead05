#include "store/maildir_lock.hpp"

#include <fcntl.h>
#include <sys/file.h>

#include <cerrno>

namespace mailport::store {
namespace {

constexpr int kMaxInterruptedAttempts = 8;

}  // namespace

Result<MaildirLock> MaildirLock::acquire(int maildir_fd) {
  UniqueFd fd(::openat(maildir_fd, kLockFileName, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600));
  if (!fd) return Error::from_errno(errno, std::string("open ") + kLockFileName);
  for (int attempt = 0; attempt < kMaxInterruptedAttempts; ++attempt) {
    if (::flock(fd.get(), LOCK_EX | LOCK_NB) == 0) return MaildirLock(std::move(fd));
    if (errno == EWOULDBLOCK) return make_error(errc::in_use, "maildrop locked by another session");
    if (errno != EINTR) break;
  }
  return Error::from_errno(errno, std::string("flock ") + kLockFileName);
}

}  // namespace mailport::store
