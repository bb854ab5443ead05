// Delivery through a command (procmail, maildrop, a script): the message goes to its standard
// input and exit status 0 means the command has taken responsibility for it.
#include <fcntl.h>
#include <pthread.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstring>

#include "client/fetch_state.hpp"
#include "client/sink.hpp"

extern char** environ;

namespace mailport::client {
namespace {

struct SpawnAttributes {
  SpawnAttributes() { ::posix_spawnattr_init(&value); }
  ~SpawnAttributes() { ::posix_spawnattr_destroy(&value); }
  SpawnAttributes(const SpawnAttributes&) = delete;
  SpawnAttributes& operator=(const SpawnAttributes&) = delete;
  posix_spawnattr_t value;
};

struct FileActions {
  FileActions() { ::posix_spawn_file_actions_init(&value); }
  ~FileActions() { ::posix_spawn_file_actions_destroy(&value); }
  FileActions(const FileActions&) = delete;
  FileActions& operator=(const FileActions&) = delete;
  posix_spawn_file_actions_t value;
};

// The environment of this process, with the MAILPORT_* variables of this delivery replacing any
// inherited ones.
std::vector<std::string> child_environment(const Message& message) {
  std::vector<std::string> env;
  for (char** entry = environ; entry && *entry; ++entry) {
    const std::string_view text(*entry);
    if (text.starts_with("MAILPORT_UIDL=") || text.starts_with("MAILPORT_ACCOUNT=") ||
        text.starts_with("MAILPORT_PASSWORD=")) {
      continue;  // the fetch password is none of the MDA's business
    }
    env.emplace_back(text);
  }
  env.push_back("MAILPORT_UIDL=" + std::string(message.uidl));
  env.push_back("MAILPORT_ACCOUNT=" + std::string(message.account));
  return env;
}

// Blocks SIGPIPE in this thread while writing to the MDA, then discards the one the write may
// have raised: EPIPE is enough, and the process must survive even where SIGPIPE is not ignored.
class SigpipeBlocked {
 public:
  SigpipeBlocked() {
    sigemptyset(&pipe_);
    sigaddset(&pipe_, SIGPIPE);
    sigset_t pending;
    sigpending(&pending);
    was_pending_ = sigismember(&pending, SIGPIPE) == 1;
    ::pthread_sigmask(SIG_BLOCK, &pipe_, &saved_);
  }
  SigpipeBlocked(const SigpipeBlocked&) = delete;
  SigpipeBlocked& operator=(const SigpipeBlocked&) = delete;
  ~SigpipeBlocked() {
    if (!was_pending_) {
      const timespec no_wait{};
      (void)::sigtimedwait(&pipe_, nullptr, &no_wait);  // standard signals do not queue
    }
    ::pthread_sigmask(SIG_SETMASK, &saved_, nullptr);
  }

 private:
  sigset_t pipe_{};
  sigset_t saved_{};
  bool was_pending_ = false;
};

std::string describe_status(int status) {
  if (WIFEXITED(status)) return "exited with status " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return std::string("was killed by ") + ::strsignal(WTERMSIG(status));
  return "ended abnormally";
}

class MdaSink final : public Sink {
 public:
  explicit MdaSink(std::string command) : command_(std::move(command)) {}

  std::string describe() const override { return "MDA '" + command_ + "'"; }
  bool detects_previous() const override { return false; }

  Result<DeliveryOutcome> deliver(const Message& message, const std::string*,
                                  const ReserveFn& reserve) override {
    if (auto reserved = reserve("mda"); !reserved) return reserved.error();
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) return Error::from_errno(errno, "pipe");
    UniqueFd read_end(fds[0]);
    UniqueFd write_end(fds[1]);
    auto pid = spawn(read_end.get(), message);
    if (!pid) return pid.error();
    read_end.reset();
    {
      // A command that exits without reading everything makes this fail with EPIPE; its exit
      // status decides all the same.
      const SigpipeBlocked quiet;
      (void)write_all_fd(write_end.get(), message.content, "the MDA's input");
      write_end.reset();
    }
    int status = 0;
    while (::waitpid(*pid, &status, 0) < 0) {
      if (errno != EINTR) return Error::from_errno(errno, "waiting for the MDA");
    }
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return DeliveryOutcome::delivered;
    return make_error(errc::temporary_failure,
                      "the MDA '" + command_ + "' " + describe_status(status));
  }

 private:
  Result<pid_t> spawn(int stdin_fd, const Message& message) const {
    FileActions actions;
    ::posix_spawn_file_actions_adddup2(&actions.value, stdin_fd, STDIN_FILENO);
    // The MDA's chatter goes to our standard error, away from the summary on standard output.
    ::posix_spawn_file_actions_adddup2(&actions.value, STDERR_FILENO, STDOUT_FILENO);
    SpawnAttributes attributes;
    sigset_t defaults;
    sigemptyset(&defaults);
    sigaddset(&defaults, SIGPIPE);  // ignored here, but the MDA expects the default
    ::posix_spawnattr_setsigdefault(&attributes.value, &defaults);
    ::posix_spawnattr_setflags(&attributes.value, POSIX_SPAWN_SETSIGDEF);

    auto env = child_environment(message);
    std::vector<char*> envp;
    for (auto& entry : env) envp.push_back(entry.data());
    envp.push_back(nullptr);
    std::string shell = "/bin/sh", dash_c = "-c", command = command_;
    char* argv[] = {shell.data(), dash_c.data(), command.data(), nullptr};
    pid_t pid = 0;
    const int rc =
        ::posix_spawn(&pid, shell.c_str(), &actions.value, &attributes.value, argv, envp.data());
    if (rc != 0) return Error::from_errno(rc, "starting the MDA '" + command_ + "'");
    return pid;
  }

  std::string command_;
};

}  // namespace

std::unique_ptr<Sink> make_mda_sink(std::string command) {
  return std::make_unique<MdaSink>(std::move(command));
}

}  // namespace mailport::client
