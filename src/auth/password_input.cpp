#include "auth/password_input.hpp"

#include <sodium.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <string_view>

namespace mailport::auth {
namespace {

// Turns terminal echo off for its lifetime; the previous settings come back even when reading
// fails.
class EchoOff {
 public:
  explicit EchoOff(int fd) : fd_(fd) {
    if (::tcgetattr(fd_, &saved_) != 0) return;
    termios quiet = saved_;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    quiet.c_lflag |= ECHONL;  // the user still sees the line end when pressing Enter
    active_ = ::tcsetattr(fd_, TCSAFLUSH, &quiet) == 0;
  }
  EchoOff(const EchoOff&) = delete;
  EchoOff& operator=(const EchoOff&) = delete;
  ~EchoOff() {
    if (active_) ::tcsetattr(fd_, TCSAFLUSH, &saved_);
  }

 private:
  int fd_;
  termios saved_{};
  bool active_ = false;
};

// Wipes the string's bytes before it is freed.
class Secret {
 public:
  Secret() = default;
  Secret(const Secret&) = delete;
  Secret& operator=(const Secret&) = delete;
  ~Secret() { ::sodium_memzero(value.data(), value.size()); }
  std::string value;
};

Error invalid(std::string message) {
  return make_error(errc::invalid_input, std::move(message));
}

// Byte by byte, so nothing after the line is consumed from a shared stdin.
Result<void> read_line(int fd, Secret& line) {
  bool any = false;
  while (line.value.size() <= kMaxPasswordLength) {
    char c = 0;
    const ssize_t n = ::read(fd, &c, 1);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Error::from_errno(errno, "cannot read the password");
    if (n == 0) {
      if (!any) return invalid("no password given (end of input)");
      break;
    }
    any = true;
    if (c == '\n') break;
    line.value.push_back(c);
  }
  if (line.value.ends_with('\r')) line.value.pop_back();
  if (line.value.size() > kMaxPasswordLength) {
    return invalid("password longer than " + std::to_string(kMaxPasswordLength) + " octets");
  }
  if (line.value.empty()) return invalid("empty password");
  if (line.value.find('\0') != std::string::npos) return invalid("password contains a NUL byte");
  return {};
}

void prompt(int fd, std::string_view text) {
  while (!text.empty()) {
    const ssize_t n = ::write(fd, text.data(), text.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;  // a prompt that cannot be shown does not stop the input
    text.remove_prefix(static_cast<std::size_t>(n));
  }
}

}  // namespace

Result<std::string> read_new_password(int in_fd, int prompt_fd, bool confirm) {
  Secret first;
  if (!::isatty(in_fd)) {
    if (auto read = read_line(in_fd, first); !read) return read.error();
    return std::move(first.value);
  }
  const EchoOff echo_off(in_fd);
  prompt(prompt_fd, "Password: ");
  if (auto read = read_line(in_fd, first); !read) return read.error();
  if (confirm) {
    Secret second;
    prompt(prompt_fd, "Retype password: ");
    if (auto read = read_line(in_fd, second); !read) return read.error();
    if (first.value != second.value) return invalid("passwords do not match");
  }
  return std::move(first.value);
}

}  // namespace mailport::auth
