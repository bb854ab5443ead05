#include "migrate/pull.hpp"

#include <fcntl.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <map>
#include <set>

#include "client/connection.hpp"
#include "client/progress.hpp"
#include "core/unique_fd.hpp"
#include "store/crlf_size.hpp"
#include "store/dir_util.hpp"
#include "store/maildir_name.hpp"
#include "store/uidl_map.hpp"

namespace mailport::migrate {
namespace {

// Map rewrites grow with the map: a batch of at least this many, or a quarter of what is mapped,
// keeps the total written O(n) for a mailbox of n messages.
constexpr std::size_t kMinBatch = 64;

struct ServerMessage {
  std::uint64_t number = 0;
  std::string uidl;
  std::uint64_t size = 0;
  std::string base;  // local file name (reserved in the map)
};

std::string local_host() {
  char name[256] = {};
  if (::gethostname(name, sizeof name - 1) != 0 || name[0] == '\0') return "localhost";
  return store::encode_maildir_hostname(name);
}

// "<sec>.M<usec>P<pid>Q<n>.<host>": unique per message (Maildir conventions); ",S=" and ",W="
// follow once the size is known, so the base name is fixed before the message is fetched.
std::string unique_base(const std::string& host, std::uint64_t wire_size) {
  static std::atomic<std::uint64_t> counter{0};
  timeval now{};
  ::gettimeofday(&now, nullptr);
  return std::to_string(now.tv_sec) + ".M" + std::to_string(now.tv_usec) + "P" +
         std::to_string(::getpid()) + "Q" + std::to_string(++counter) + "." + host +
         ",W=" + std::to_string(wire_size);
}

Result<void> write_all(int fd, std::string_view data, const std::string& what) {
  while (!data.empty()) {
    const ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Error::from_errno(errno, what);
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return {};
}

class LocalMaildir {
 public:
  static Result<LocalMaildir> open(const std::filesystem::path& path) {
    if (auto made = store::make_directories(path); !made) return made.error();
    auto root = store::open_directory(path);
    if (!root) return root.error();
    LocalMaildir dir;
    dir.root_ = std::move(*root);
    for (auto [name, fd] :
         {std::pair{"tmp", &dir.tmp_}, std::pair{"new", &dir.new_}, std::pair{"cur", &dir.cur_}}) {
      auto opened = store::make_and_open_directory_at(dir.root_.get(), name);
      if (!opened) return opened.error();
      *fd = std::move(*opened);
    }
    return dir;
  }

  // Base names present in new/ and cur/.
  Result<std::set<std::string>> bases() const {
    std::set<std::string> out;
    for (const int fd : {new_.get(), cur_.get()}) {
      auto names = store::list_regular_files(fd);
      if (!names) return names.error();
      for (const auto& name : *names) out.emplace(store::parse_maildir_name(name).base);
    }
    return out;
  }

  // tmp/ + fsync, then link into new/ and fsync new/: a name in new/ always holds all of it.
  Result<void> store(const std::string& name, std::string_view content) {
    const std::string what = "tmp/" + name;
    {
      const UniqueFd fd(::openat(tmp_.get(), name.c_str(),
                                 O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600));
      if (!fd) return Error::from_errno(errno, what);
      auto written = write_all(fd.get(), content, what);
      if (written && ::fsync(fd.get()) != 0) written = Error::from_errno(errno, what);
      if (!written) {
        ::unlinkat(tmp_.get(), name.c_str(), 0);
        return written;
      }
    }
    if (::linkat(tmp_.get(), name.c_str(), new_.get(), name.c_str(), 0) != 0 && errno != EEXIST) {
      const int err = errno;
      ::unlinkat(tmp_.get(), name.c_str(), 0);
      return Error::from_errno(err, "new/" + name);
    }
    ::unlinkat(tmp_.get(), name.c_str(), 0);
    return store::sync_directory(new_.get(), "new");
  }

  Result<void> save_map(const store::UidlMap& map) const { return map.save(root_.get()); }
  int root() const { return root_.get(); }

 private:
  UniqueFd root_, tmp_, new_, cur_;
};

class PullRun {
 public:
  PullRun(const PullOptions& options, std::string_view password, const PullLog& log)
      : options_(options), password_(password), log_(log), host_(local_host()) {}

  Result<PullReport> run();

 private:
  void note(const std::string& line) const {
    if (log_) log_(line);
  }
  void warn(std::string text) {
    note("warning: " + text);
    report_.warnings.push_back(std::move(text));
  }
  Result<std::vector<ServerMessage>> listing();
  Result<void> copy(std::vector<ServerMessage>& pending);
  Result<void> copy_one(const ServerMessage& message);

  const PullOptions& options_;
  std::string_view password_;
  const PullLog& log_;
  std::string host_;
  std::optional<OldServer> server_;
  std::optional<LocalMaildir> local_;
  store::UidlMap map_;
  PullReport report_;
};

Result<std::vector<ServerMessage>> PullRun::listing() {
  auto listed = server_->listing();
  if (!listed) return listed.error();
  std::vector<ServerMessage> messages;
  std::set<std::string> seen;
  for (auto& entry : *listed) {
    if (!seen.insert(entry.uidl).second) {
      warn("message " + std::to_string(entry.number) + " repeats the UIDL " + entry.uidl +
           "; it is not copied (a UIDL must name one message)");
      continue;
    }
    if (!store::is_valid_uidl(entry.uidl)) {
      warn("message " + std::to_string(entry.number) + " has the invalid UIDL \"" + entry.uidl +
           "\"; it is not copied");
      continue;
    }
    messages.push_back({entry.number, std::move(entry.uidl), entry.size, {}});
  }
  report_.on_server = listed->size();
  return messages;
}

Result<void> PullRun::copy_one(const ServerMessage& message) {
  std::string content;
  auto reply = server_->client().retrieve(message.number, content);
  if (!reply) return reply.error();
  const std::string label =
      "message " + std::to_string(message.number) + " (UIDL " + message.uidl + ")";
  if (!reply->ok) {
    report_.failed.push_back(label + ": the server answered " + reply->text);
    return {};
  }
  const std::uint64_t wire = store::crlf_size(content);
  if (wire != message.size) {
    report_.failed.push_back(label + ": " + std::to_string(wire) + " octets received, LIST said " +
                             std::to_string(message.size));
    return {};
  }
  if (auto stored = local_->store(message.base, content); !stored) return stored;
  ++report_.copied;
  report_.bytes += wire;
  return {};
}

Result<void> PullRun::copy(std::vector<ServerMessage>& pending) {
  std::size_t done = 0;
  while (done < pending.size()) {
    const std::size_t batch = std::max(kMinBatch, map_.size() / 4);
    const std::size_t end = std::min(pending.size(), done + batch);
    bool reserved = false;
    for (std::size_t i = done; i < end; ++i) {
      if (!pending[i].base.empty()) continue;  // reserved by an earlier run
      pending[i].base = unique_base(host_, pending[i].size);
      auto added = map_.add(pending[i].base, pending[i].uidl);
      if (!added) return added.error();
      reserved = true;
    }
    if (reserved) {
      if (auto saved = local_->save_map(map_); !saved) return saved;
    }
    for (std::size_t i = done; i < end; ++i) {
      if (auto copied = copy_one(pending[i]); !copied) return copied;
    }
    note(std::to_string(report_.copied) + " of " + std::to_string(pending.size()) + " copied");
    done = end;
  }
  return {};
}

Result<PullReport> PullRun::run() {
  auto local = LocalMaildir::open(options_.maildir);
  if (!local) return local.error();
  local_ = std::move(*local);
  auto map = store::UidlMap::load(local_->root());
  if (!map) return map.error();  // never add to a map that cannot be read: it may hold seen UIDLs
  map_ = std::move(*map);
  auto server = OldServer::open(
      options_.server, password_, [this](const std::string& line) { note(line); },
      [this](const std::string& line) { warn(line); });
  if (!server) return server.error();
  server_ = std::move(*server);
  auto messages = listing();
  if (!messages) return messages.error();
  auto present = local_->bases();
  if (!present) return present.error();
  std::map<std::string, std::string> base_of_uidl;
  for (const auto& [base, uidl] : map_.entries()) base_of_uidl.emplace(uidl, base);
  std::vector<ServerMessage> pending;
  for (auto& message : *messages) {
    if (const auto it = base_of_uidl.find(message.uidl); it != base_of_uidl.end()) {
      if (present->contains(it->second)) {
        ++report_.already_local;
        continue;
      }
      message.base = it->second;  // reserved, never stored: fetch it under the same name
    }
    pending.push_back(std::move(message));
  }
  if (auto copied = copy(pending); !copied) return copied.error();
  if (auto quit = server_->client().quit(); !quit)
    warn("QUIT failed: " + client::error_text(quit.error()));
  if (report_.copied + report_.already_local + report_.failed.size() != messages->size()) {
    return make_error(errc::temporary_failure, "count mismatch after the copy");
  }
  return report_;
}

}  // namespace

Result<PullReport> pull_mailbox(const PullOptions& options, std::string_view password,
                                const PullLog& log) {
  PullRun run(options, password, log);
  return run.run();
}

}  // namespace mailport::migrate
