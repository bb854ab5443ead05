#include "bench/delivery.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <asio/experimental/as_tuple.hpp>
#include <asio/steady_timer.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>
#include <cerrno>
#include <cstring>
#include <string>

#include <fmt/format.h>

namespace mailport::bench {
namespace {

constexpr auto kAsTuple = asio::experimental::as_tuple(asio::use_awaitable);

std::string expand(const std::string& pattern, const std::string& user) {
  std::string out;
  for (std::size_t i = 0; i < pattern.size(); ++i) {
    if (pattern[i] == '%' && i + 1 < pattern.size() && pattern[i + 1] == 'u') {
      out += user;
      ++i;
    } else {
      out += pattern[i];
    }
  }
  return out;
}

// A few KB of text with LF line ends and a line that needs dot-stuffing.
std::string make_message(std::uint64_t serial, const std::string& user) {
  std::string text = fmt::format(
      "From: sender{}@example.org\nTo: {}@example.org\nSubject: bench delivery {}\n"
      "Message-ID: <bench-{}-{}@example.org>\n\n",
      serial % 97, user, serial, serial, getpid());
  const unsigned lines = 20 + static_cast<unsigned>(serial % 60);
  for (unsigned i = 0; i < lines; ++i) {
    text += i == lines / 2 ? ".a line that starts with a dot\n"
                           : fmt::format("line {} of delivery {} for {}: lorem ipsum dolor\n",
                                         i, serial, user);
  }
  return text;
}

std::uint64_t wire_size(const std::string& text) {
  std::uint64_t size = text.size();
  for (char c : text) size += c == '\n';
  return size;
}

bool deliver(const Options& options, const std::string& maildir, std::uint64_t serial,
             const std::string& user, std::string& error) {
  const std::string text = make_message(serial, user);
  const auto now = std::chrono::system_clock::now().time_since_epoch();
  const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(now).count();
  const std::string name = fmt::format("{}.M{}P{}Q{}.mailport-bench,S={},W={}", seconds, serial,
                                       getpid(), serial, text.size(), wire_size(text));
  const std::string tmp = maildir + "/tmp/" + name;
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    error = tmp + ": " + std::strerror(errno);
    return false;
  }
  const bool written = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  const bool owned = options.deliver_uid < 0 || ::fchown(fd, options.deliver_uid,
                                                         options.deliver_gid) == 0;
  const int saved = errno;
  ::close(fd);
  if (!written || !owned) {
    error = tmp + ": " + std::strerror(saved);
    ::unlink(tmp.c_str());
    return false;
  }
  if (::rename(tmp.c_str(), (maildir + "/new/" + name).c_str()) != 0) {
    error = name + ": rename: " + std::strerror(errno);
    ::unlink(tmp.c_str());
    return false;
  }
  return true;
}

}  // namespace

asio::awaitable<void> run_deliveries(const Options& options, Window window, Stats& stats) {
  if (options.deliver_rate <= 0 || options.deliver_template.empty()) co_return;
  const auto interval = std::chrono::nanoseconds(
      static_cast<std::int64_t>(1e9 / options.deliver_rate));
  asio::steady_timer timer(co_await asio::this_coro::executor);
  auto next = Clock::now();
  for (std::uint64_t serial = 0; next < window.end; ++serial) {
    next += interval;
    timer.expires_at(next);
    co_await timer.async_wait(kAsTuple);
    const Account& account = options.accounts[serial % options.accounts.size()];
    std::string error;
    if (!deliver(options, expand(options.deliver_template, account.user), serial, account.user,
                 error)) {
      stats.error("deliver", error);
    } else if (window.contains(Clock::now())) {
      ++stats.delivered;
    }
  }
}

}  // namespace mailport::bench
