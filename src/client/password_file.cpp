#include "client/password_file.hpp"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "core/unique_fd.hpp"

namespace mailport::client {
namespace {

constexpr std::size_t kMaxFile = 64 * 1024;

}  // namespace

Result<PasswordFile> read_password_file(const std::filesystem::path& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return Error::from_errno(errno, "cannot open the password file " + path.string());
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return Error::from_errno(errno, path.string());
  if (!S_ISREG(st.st_mode) || st.st_size > static_cast<off_t>(kMaxFile)) {
    return make_error(errc::invalid_input, path.string() + " is not a password file");
  }
  PasswordFile result;
  result.readable_by_others = (st.st_mode & (S_IRGRP | S_IROTH)) != 0;
  std::string text(static_cast<std::size_t>(st.st_size), '\0');
  std::size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::read(fd.get(), text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Error::from_errno(errno, "cannot read " + path.string());
    if (n == 0) break;
    done += static_cast<std::size_t>(n);
  }
  const auto newline = text.find('\n');
  result.password = text.substr(0, std::min(done, newline));
  OPENSSL_cleanse(text.data(), text.size());
  if (result.password.ends_with('\r')) result.password.pop_back();
  if (result.password.empty()) {
    return make_error(errc::invalid_input, "the first line of " + path.string() + " is empty");
  }
  if (result.password.find('\0') != std::string::npos) {
    return make_error(errc::invalid_input, path.string() + " contains a NUL byte");
  }
  return result;
}

}  // namespace mailport::client
