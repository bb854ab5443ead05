// Maildir delivery with a token (the file name) that tells whether an interrupted attempt
// finished: the file is fsync'ed in tmp/ before it is linked into new/, so a name found in new/
// or cur/ always holds the complete message.
#include <dirent.h>
#include <fcntl.h>
#include <sys/time.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <memory>

#include "client/fetch_state.hpp"
#include "client/sink.hpp"
#include "store/maildir_name.hpp"

namespace mailport::client {
namespace {

struct DirClose {
  void operator()(DIR* dir) const { ::closedir(dir); }
};

std::string local_host() {
  char name[256] = {};
  if (::gethostname(name, sizeof name - 1) != 0 || name[0] == '\0') return "localhost";
  std::string host = store::encode_maildir_hostname(name);
  for (char& c : host) {
    if (c <= 0x20 || c >= 0x7f) c = '_';  // the name is also a state-file token
  }
  return host;
}

// "<sec>.M<usec>P<pid>Q<n>.<host>,S=<size>": unique per delivery (Maildir conventions).
std::string unique_name(std::size_t size) {
  static std::atomic<std::uint64_t> counter{0};
  static const std::string host = local_host();
  timeval now{};
  ::gettimeofday(&now, nullptr);
  return std::to_string(now.tv_sec) + ".M" + std::to_string(now.tv_usec) + "P" +
         std::to_string(::getpid()) + "Q" + std::to_string(++counter) + "." + host +
         ",S=" + std::to_string(size);
}

bool path_exists(const std::filesystem::path& path) {
  return ::access(path.c_str(), F_OK) == 0;
}

class MaildirSink final : public Sink {
 public:
  explicit MaildirSink(std::filesystem::path dir) : dir_(std::move(dir)) {}

  std::string describe() const override { return "Maildir " + dir_.string(); }
  bool detects_previous() const override { return true; }

  Result<DeliveryOutcome> deliver(const Message& message, const std::string* previous,
                                  const ReserveFn& reserve) override {
    if (auto ready = prepare(); !ready) return ready.error();
    if (previous) {
      auto found = delivered(*previous);
      if (!found) return found.error();
      // Either the unfinished copy, or the second link of a finished one (killed between
      // link() and unlink()); new/ or cur/ holds the message in the second case.
      ::unlink((dir_ / "tmp" / *previous).c_str());
      if (*found) return DeliveryOutcome::already_delivered;
    }
    const std::string name = unique_name(message.content.size());
    if (auto reserved = reserve(name); !reserved) return reserved.error();
    if (auto written = write_tmp(name, message.content); !written) return written.error();
    if (auto moved = move_to_new(name); !moved) return moved.error();
    return DeliveryOutcome::delivered;
  }

 private:
  Result<void> prepare() {
    if (prepared_) return {};
    for (const char* sub : {"tmp", "new", "cur"}) {
      if (auto made = make_private_dirs(dir_ / sub); !made) return made.error();
    }
    prepared_ = true;
    return {};
  }

  // In new/ under its own name, or in cur/ with whatever flags a mail reader added.
  Result<bool> delivered(const std::string& name) const {
    if (path_exists(dir_ / "new" / name)) return true;
    const auto cur = dir_ / "cur";
    std::unique_ptr<DIR, DirClose> dir(::opendir(cur.c_str()));
    if (!dir) return Error::from_errno(errno, "reading " + cur.string());
    while (const dirent* entry = ::readdir(dir.get())) {
      const std::string_view found(entry->d_name);
      if (found == name || (found.starts_with(name) && found[name.size()] == ':')) return true;
    }
    return false;
  }

  Result<void> write_tmp(const std::string& name, std::string_view content) const {
    const auto path = dir_ / "tmp" / name;
    UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
    if (!fd) return Error::from_errno(errno, "creating " + path.string());
    if (auto written = write_all_fd(fd.get(), content, path.string()); !written) {
      ::unlink(path.c_str());
      return written.error();
    }
    if (::fsync(fd.get()) != 0) {
      const int err = errno;
      ::unlink(path.c_str());
      return Error::from_errno(err, "syncing " + path.string());
    }
    return {};
  }

  Result<void> move_to_new(const std::string& name) const {
    const auto from = dir_ / "tmp" / name;
    const auto to = dir_ / "new" / name;
    // link() never replaces an existing file; rename() is the fallback for file systems
    // without hard links.
    if (::link(from.c_str(), to.c_str()) == 0) {
      ::unlink(from.c_str());
    } else if (errno == EPERM || errno == ENOTSUP || errno == EXDEV || errno == EMLINK) {
      if (::rename(from.c_str(), to.c_str()) != 0) {
        return Error::from_errno(errno, "moving into " + to.string());
      }
    } else {
      return Error::from_errno(errno, "linking into " + to.string());
    }
    return fsync_directory(dir_ / "new");
  }

  std::filesystem::path dir_;
  bool prepared_ = false;
};

}  // namespace

std::unique_ptr<Sink> make_maildir_sink(std::filesystem::path dir) {
  return std::make_unique<MaildirSink>(std::move(dir));
}

}  // namespace mailport::client
