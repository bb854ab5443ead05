#include "store/mbox_lock.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <thread>

namespace mailport::store {
namespace {

using Clock = std::chrono::steady_clock;
constexpr std::chrono::milliseconds kRetryInterval{50};

enum class Attempt { locked, busy, failed };

bool is_stale(const std::filesystem::path& dotlock) {
  struct stat info {};
  if (::lstat(dotlock.c_str(), &info) != 0) return false;
  return ::time(nullptr) - info.st_mtime > kStaleDotlockAge.count();
}

// The dot-lock, or no dot-lock at all where the spool directory is not writable for us (the
// MTA's delivery agent skips it there too).
Attempt try_dotlock(const std::filesystem::path& dotlock, bool& unsupported, Error& error) {
  const UniqueFd fd(::open(dotlock.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
  if (fd) return Attempt::locked;
  if (errno == EEXIST) {
    if (is_stale(dotlock)) ::unlink(dotlock.c_str());
    return Attempt::busy;
  }
  if (errno == EACCES || errno == EROFS || errno == EPERM) {
    unsupported = true;
    return Attempt::locked;
  }
  error = Error::from_errno(errno, "create " + dotlock.string());
  return Attempt::failed;
}

Attempt try_fcntl(int fd, Error& error) {
  struct flock lock {};
  lock.l_type = F_WRLCK;
  lock.l_whence = SEEK_SET;
  if (::fcntl(fd, F_OFD_SETLK, &lock) == 0) return Attempt::locked;
  if (errno == EAGAIN || errno == EACCES) return Attempt::busy;
  error = Error::from_errno(errno, "fcntl lock");
  return Attempt::failed;
}

}  // namespace

Result<MboxLock> MboxLock::acquire(const std::filesystem::path& spool_path,
                                   std::chrono::milliseconds timeout, bool create) {
  const std::filesystem::path dotlock = spool_path.string() + ".lock";
  const auto deadline = Clock::now() + timeout;
  bool unsupported = false;
  Error error;
  for (;;) {
    const Attempt dot = try_dotlock(dotlock, unsupported, error);
    if (dot == Attempt::failed) return error;
    if (dot == Attempt::locked) {
      MboxLock held(UniqueFd(), unsupported ? std::filesystem::path() : dotlock);
      const int flags = O_RDWR | O_CLOEXEC | O_NOFOLLOW | (create ? O_CREAT : 0);
      held.spool_.reset(::open(spool_path.c_str(), flags, 0600));
      if (!held.spool_ && errno == ENOENT) {
        return make_error(errc::not_found, spool_path.string());
      }
      if (!held.spool_) return Error::from_errno(errno, "open " + spool_path.string());
      const Attempt record = try_fcntl(held.spool_.get(), error);
      if (record == Attempt::failed) return error;
      if (record == Attempt::locked) return held;
    }
    if (Clock::now() >= deadline) {
      return make_error(errc::in_use, spool_path.string() + " is locked by another program");
    }
    std::this_thread::sleep_for(kRetryInterval);
  }
}

MboxLock::MboxLock(MboxLock&& other) noexcept
    : spool_(std::move(other.spool_)), dotlock_(std::move(other.dotlock_)) {
  other.dotlock_.clear();
}

MboxLock::~MboxLock() {
  // The fcntl lock goes with the descriptor; the dot-lock after it, so nobody sees the spool
  // unlocked by one lock while still locked by the other in the wrong order.
  spool_.reset();
  if (!dotlock_.empty()) ::unlink(dotlock_.c_str());
}

}  // namespace mailport::store
