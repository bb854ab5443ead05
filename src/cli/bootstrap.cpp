#include "cli/bootstrap.hpp"

#include <fcntl.h>
#include <openssl/rand.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include "auth/passwd_file.hpp"
#include "auth/password.hpp"
#include "net/self_signed.hpp"
#include "store/mail_store.hpp"
#include "store/maildir_store.hpp"

namespace mailport::cli {
namespace {

namespace fs = std::filesystem;
constexpr const char* kDemoUser = "demo";

std::string random_password() {
  static constexpr char kAlphabet[] =
      "abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";  // no look-alikes
  unsigned char bytes[20];
  RAND_bytes(bytes, sizeof bytes);
  std::string password;
  for (unsigned char byte : bytes) password += kAlphabet[byte % (sizeof kAlphabet - 1)];
  return password;
}

Result<void> write_private_file(const fs::path& path, const std::string& content) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return Error::from_errno(errno, "cannot create " + path.string());
  bool ok = ::write(fd, content.data(), content.size()) == static_cast<ssize_t>(content.size());
  ok = ::fsync(fd) == 0 && ok;
  ::close(fd);
  if (!ok) return Error::from_errno(errno, "cannot write " + path.string());
  return {};
}

std::string welcome_message() {
  return std::string(
      "From: mailport <postmaster@localhost>\n"
      "To: demo@localhost\n"
      "Subject: Welcome to mailport\n"
      "Content-Type: text/plain; charset=utf-8\n"
      "\n"
      "Hello!\n"
      "\n"
      "If you can read this, your POP3 client talks to mailport over a working\n"
      "connection. This message was placed in the demo account's Maildir when\n"
      "the embedded default data directory was created.\n"
      "\n"
      "Next steps: add real users with `mailport user add NAME`, point --mail at\n"
      "your Maildirs, and install a certificate from your CA (see docs/).\n");
}

Result<void> ensure_certificate(const config::Config& config) {
  if (fs::exists(config.tls.cert) && fs::exists(config.tls.key)) return {};
  std::error_code ec;
  fs::create_directories(config.tls.cert.parent_path(), ec);
  fs::create_directories(config.tls.key.parent_path(), ec);
  return net::write_self_signed_certificate({}, config.tls.cert, config.tls.key);
}

Result<DemoAccount> ensure_demo_account(const config::Config& config) {
  // Users and mail in a database are the admin's: no demo account is made there.
  if (!config.auth.passdb.empty() || config.mail.location.starts_with("postgres:")) {
    return DemoAccount{};
  }
  const fs::path note = config.data_dir / "demo-password";
  if (fs::exists(config.auth.passwd)) {
    std::ifstream in(note);
    std::string password;
    std::getline(in, password);
    return DemoAccount{kDemoUser, password, false};
  }
  DemoAccount demo{kDemoUser, random_password(), true};
  auto hash = auth::hash_password(demo.password, auth::kDefaultScheme);
  if (!hash) return hash.error();
  auth::UserRecord record;
  record.name = demo.user;
  record.password = *hash;
  if (auto added = auth::add_user(config.auth.passwd, record); !added) return added.error();
  if (auto saved = write_private_file(note, demo.password + "\n"); !saved) return saved.error();
  auto location = store::expand_template(config.mail.location, {demo.user, ""});
  if (!location) return location.error();
  auto delivered = store::deliver_to_maildir(*location, welcome_message());
  if (!delivered) return delivered.error();
  return demo;
}

}  // namespace

Result<DemoAccount> bootstrap_data_dir(const config::Config& config) {
  std::error_code ec;
  fs::create_directories(config.data_dir, ec);
  if (ec) return Error{ec, "cannot create data directory " + config.data_dir.string()};
  ::chmod(config.data_dir.c_str(), 0700);
  if (auto cert = ensure_certificate(config); !cert) return cert.error();
  return ensure_demo_account(config);
}

std::string describe_ready(const config::Config& config, const DemoAccount& demo,
                           std::uint16_t pop3_port, std::uint16_t pop3s_port) {
  const std::string cert = config.tls.cert.string();
  const std::string password = demo.password.empty() ? "<your password>" : demo.password;
  std::ostringstream out;
  out << "\nmailport is ready (embedded default; data in " << config.data_dir.string() << ")\n"
      << "  host:      127.0.0.1\n";
  if (pop3s_port) out << "  POP3S:     " << pop3s_port << "  (TLS from the first byte)\n";
  if (pop3_port) out << "  POP3:      " << pop3_port << "  (STLS required before login)\n";
  out << "  user:      " << demo.user << "\n"
      << "  password:  " << password << "\n"
      << "  CA cert:   " << cert << "\n\n";
  if (pop3s_port) {
    out << "Fetch the welcome message:\n"
        << "  curl --cacert " << cert << " --user '" << demo.user << ":" << password
        << "' pop3s://127.0.0.1:" << pop3s_port << "/1\n"
        << "  openssl s_client -quiet -connect 127.0.0.1:" << pop3s_port << " -CAfile " << cert
        << "\n    then type: USER " << demo.user << " / PASS " << password << " / RETR 1 / QUIT\n";
  }
  if (pop3_port) {
    out << "  curl --ssl-reqd --cacert " << cert << " --user '" << demo.user << ":" << password
        << "' pop3://127.0.0.1:" << pop3_port << "/1\n";
  }
  return out.str();
}

}  // namespace mailport::cli
