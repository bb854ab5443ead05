// mbox delivery (mboxrd). The token records where the entry starts and the time in its From_
// line, which is all it takes to rebuild the exact bytes and compare them with the file.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <chrono>
#include <ctime>
#include <thread>

#include "client/fetch_state.hpp"
#include "client/reply.hpp"
#include "client/sink.hpp"

namespace mailport::client {
namespace {

constexpr auto kLockPoll = std::chrono::milliseconds(100);
constexpr int kLockAttempts = 300;  // 30 s, then give up rather than hang a cron job

struct Token {
  std::uint64_t offset = 0;
  std::int64_t when = 0;
};

std::optional<Token> parse_token(std::string_view text) {
  const auto comma = text.find(',');
  if (comma == std::string_view::npos) return std::nullopt;
  Token token;
  const auto a = text.substr(0, comma);
  const auto b = text.substr(comma + 1);
  if (std::from_chars(a.data(), a.data() + a.size(), token.offset).ptr != a.data() + a.size() ||
      std::from_chars(b.data(), b.data() + b.size(), token.when).ptr != b.data() + b.size() ||
      a.empty() || b.empty()) {
    return std::nullopt;
  }
  return token;
}

// A write lock on the whole file, owned by the open file description: it excludes other
// processes using fcntl locks and other threads of this process (each opens its own file).
Result<void> lock_file(int fd, const std::filesystem::path& path) {
  struct flock lock {};
  lock.l_type = F_WRLCK;
  lock.l_whence = SEEK_SET;
  for (int attempt = 0; attempt < kLockAttempts; ++attempt) {
    if (::fcntl(fd, F_OFD_SETLK, &lock) == 0) return {};
    if (errno != EAGAIN && errno != EACCES && errno != EINTR) {
      return Error::from_errno(errno, "locking " + path.string());
    }
    std::this_thread::sleep_for(kLockPoll);
  }
  return make_error(errc::in_use, path.string() + " stayed locked by another program for 30 s");
}

Result<std::string> read_at(int fd, std::uint64_t offset, std::size_t length,
                            const std::filesystem::path& path) {
  std::string data(length, '\0');
  std::size_t done = 0;
  while (done < length) {
    const ssize_t n =
        ::pread(fd, data.data() + done, length - done, static_cast<off_t>(offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Error::from_errno(errno, "reading " + path.string());
    if (n == 0) break;
    done += static_cast<std::size_t>(n);
  }
  data.resize(done);
  return data;
}

Result<std::uint64_t> file_size(int fd, const std::filesystem::path& path) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) return Error::from_errno(errno, "checking " + path.string());
  return static_cast<std::uint64_t>(st.st_size);
}

bool quoted_from(std::string_view line) {
  while (line.starts_with('>')) line.remove_prefix(1);
  return line.starts_with("From ");
}

class MboxSink final : public Sink {
 public:
  explicit MboxSink(std::filesystem::path file) : file_(std::move(file)) {}

  std::string describe() const override { return "mbox " + file_.string(); }
  bool detects_previous() const override { return true; }

  Result<DeliveryOutcome> deliver(const Message& message, const std::string* previous,
                                  const ReserveFn& reserve) override {
    if (file_.has_parent_path()) {
      if (auto made = make_private_dirs(file_.parent_path()); !made) return made.error();
    }
    UniqueFd fd(::open(file_.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
    if (!fd) return Error::from_errno(errno, "opening " + file_.string());
    if (auto locked = lock_file(fd.get(), file_); !locked) return locked.error();
    auto size = file_size(fd.get(), file_);
    if (!size) return size.error();
    if (previous) {
      if (auto token = parse_token(*previous)) {
        auto done = settle_previous(fd.get(), *token, message.content, *size);
        if (!done) return done.error();
        if (*done) return DeliveryOutcome::already_delivered;
      }
    }
    const auto when = static_cast<std::int64_t>(std::time(nullptr));
    auto entry = entry_at(fd.get(), *size, message.content, when);
    if (!entry) return entry.error();
    if (auto reserved = reserve(std::to_string(*size) + "," + std::to_string(when)); !reserved) {
      return reserved.error();
    }
    if (auto written = write_at(fd.get(), *size, *entry); !written) return written.error();
    if (::fsync(fd.get()) != 0) return Error::from_errno(errno, "syncing " + file_.string());
    return DeliveryOutcome::delivered;
  }

 private:
  Result<std::string> entry_at(int fd, std::uint64_t offset, std::string_view content,
                               std::int64_t when) const {
    const std::uint64_t start = offset >= 2 ? offset - 2 : 0;
    auto tail = read_at(fd, start, static_cast<std::size_t>(offset - start), file_);
    if (!tail) return tail.error();
    return mbox_entry(content, when, mbox_separator(*tail));
  }

  // True if the earlier attempt wrote the whole entry. A partial entry at the very end of the
  // file is cut off (and `size` updated) so the new attempt replaces it; if other mail follows
  // it, it stays, and a second copy is appended: never lose, at worst keep a broken fragment.
  Result<bool> settle_previous(int fd, const Token& token, std::string_view content,
                               std::uint64_t& size) const {
    if (token.offset > size) return false;
    auto expected = entry_at(fd, token.offset, content, token.when);
    if (!expected) return expected.error();
    const auto available =
        static_cast<std::size_t>(std::min<std::uint64_t>(size - token.offset, expected->size()));
    auto found = read_at(fd, token.offset, available, file_);
    if (!found) return found.error();
    if (*found != std::string_view(*expected).substr(0, found->size())) return false;
    if (found->size() == expected->size()) return true;
    if (token.offset + found->size() == size) {
      if (::ftruncate(fd, static_cast<off_t>(token.offset)) != 0) {
        return Error::from_errno(errno, "truncating " + file_.string());
      }
      size = token.offset;
    }
    return false;
  }

  Result<void> write_at(int fd, std::uint64_t offset, std::string_view data) const {
    while (!data.empty()) {
      const ssize_t n = ::pwrite(fd, data.data(), data.size(), static_cast<off_t>(offset));
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return Error::from_errno(errno, "writing " + file_.string());
      data.remove_prefix(static_cast<std::size_t>(n));
      offset += static_cast<std::uint64_t>(n);
    }
    return {};
  }

  std::filesystem::path file_;
};

}  // namespace

std::string_view mbox_separator(std::string_view tail) {
  if (tail.empty() || tail.ends_with("\n\n") || (tail == "\n")) return "";
  if (tail.ends_with('\n')) return "\n";
  return "\n\n";
}

std::string mbox_sender(std::string_view content) {
  std::string_view rest = content;
  while (!rest.empty()) {
    const auto newline = rest.find('\n');
    const auto line = rest.substr(0, newline);
    if (line.empty()) break;  // end of the header
    if (to_upper_ascii(line.substr(0, 12)) == "RETURN-PATH:") {
      std::string_view value = line.substr(12);
      while (!value.empty() &&
             (value.front() == ' ' || value.front() == '\t' || value.front() == '<')) {
        value.remove_prefix(1);
      }
      while (!value.empty() && (value.back() == ' ' || value.back() == '\t' ||
                                value.back() == '>' || value.back() == '\r')) {
        value.remove_suffix(1);
      }
      const bool usable = !value.empty() && value.find_first_of(" \t<>") == std::string_view::npos;
      return usable ? std::string(value) : "MAILER-DAEMON";
    }
    if (newline == std::string_view::npos) break;
    rest.remove_prefix(newline + 1);
  }
  return "MAILER-DAEMON";
}

std::string mbox_entry(std::string_view content, std::int64_t when, std::string_view separator) {
  const auto seconds = static_cast<std::time_t>(when);
  std::tm utc{};
  ::gmtime_r(&seconds, &utc);
  char date[64];
  std::strftime(date, sizeof date, "%a %b %e %H:%M:%S %Y", &utc);  // asctime() layout
  std::string out(separator);
  out.reserve(separator.size() + content.size() + 128);
  out += "From " + mbox_sender(content) + " " + date + "\n";
  std::string_view rest = content;
  while (!rest.empty()) {
    const auto newline = rest.find('\n');
    const auto line = rest.substr(0, newline);
    if (quoted_from(line)) out.push_back('>');
    out.append(line);
    out.push_back('\n');
    if (newline == std::string_view::npos) break;
    rest.remove_prefix(newline + 1);
  }
  out.push_back('\n');
  return out;
}

std::unique_ptr<Sink> make_mbox_sink(std::filesystem::path file) {
  return std::make_unique<MboxSink>(std::move(file));
}

}  // namespace mailport::client
