#include "net/privileges.hpp"

#include <grp.h>
#include <linux/capability.h>
#include <pwd.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <optional>
#include <vector>

namespace mailport::net {
namespace {

std::optional<unsigned long> numeric_id(std::string_view text) {
  unsigned long value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc{} || end != text.data() + text.size()) return std::nullopt;
  return value;
}

Error system_error(const std::string& what) {
  return Error{std::error_code(errno, std::system_category()), what};
}

// getpwnam_r and friends want a caller-sized buffer.
std::vector<char> id_buffer() {
  const long hint = ::sysconf(_SC_GETPW_R_SIZE_MAX);
  return std::vector<char>(hint > 0 ? static_cast<std::size_t>(hint) : 16384);
}

Result<passwd> find_user(std::string_view user, std::vector<char>& buffer) {
  passwd entry{};
  passwd* found = nullptr;
  const std::string name(user);
  const auto number = numeric_id(user);
  const int error =
      number
          ? ::getpwuid_r(static_cast<uid_t>(*number), &entry, buffer.data(), buffer.size(), &found)
          : ::getpwnam_r(name.c_str(), &entry, buffer.data(), buffer.size(), &found);
  if (error != 0) errno = error;
  if (found == nullptr && number) {
    // A numeric uid need not exist in /etc/passwd (container and virtual-mail setups).
    entry.pw_uid = static_cast<uid_t>(*number);
    entry.pw_gid = static_cast<gid_t>(-1);
    entry.pw_name = nullptr;
    return entry;
  }
  if (found == nullptr) return make_error(errc::not_found, "no such user \"" + name + "\"");
  return entry;
}

Result<gid_t> find_group(std::string_view wanted) {
  if (const auto number = numeric_id(wanted)) return static_cast<gid_t>(*number);
  std::vector<char> buffer = id_buffer();
  group entry{};
  group* found = nullptr;
  const std::string name(wanted);
  ::getgrnam_r(name.c_str(), &entry, buffer.data(), buffer.size(), &found);
  if (found == nullptr) return make_error(errc::not_found, "no such group \"" + name + "\"");
  return entry.gr_gid;
}

bool has_capabilities() {
  __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3] = {};
  if (::syscall(SYS_capget, &header, data) != 0) return true;  // cannot tell: assume the worst
  for (const auto& word : data) {
    if (word.effective != 0 || word.permitted != 0) return true;
  }
  return false;
}

}  // namespace

Result<Identity> resolve_identity(std::string_view user, std::string_view group) {
  std::vector<char> buffer = id_buffer();
  auto entry = find_user(user, buffer);
  if (!entry) return entry.error();
  Identity who{entry->pw_uid, entry->pw_gid, entry->pw_name ? entry->pw_name : std::string(user)};
  if (!group.empty()) {
    auto gid = find_group(group);
    if (!gid) return gid.error();
    who.gid = *gid;
  } else if (who.gid == static_cast<gid_t>(-1)) {
    return make_error(errc::invalid_input,
                      "uid " + std::string(user) + " has no passwd entry; set privileges.group");
  }
  return who;
}

bool running_as_root() {
  return ::geteuid() == 0;
}

Result<void> verify_dropped(const Identity& who) {
  uid_t ruid = 0, euid = 0, suid = 0;
  gid_t rgid = 0, egid = 0, sgid = 0;
  ::getresuid(&ruid, &euid, &suid);
  ::getresgid(&rgid, &egid, &sgid);
  if (ruid != who.uid || euid != who.uid || suid != who.uid || rgid != who.gid || egid != who.gid ||
      sgid != who.gid) {
    return make_error(errc::permanent_failure, "user and group ids did not all change");
  }
  gid_t groups[2];
  const int count = ::getgroups(2, groups);
  if (count < 0 || count > 1 || (count == 1 && groups[0] != who.gid)) {
    return make_error(errc::permanent_failure, "supplementary groups remain");
  }
  if (has_capabilities()) return make_error(errc::permanent_failure, "capabilities remain");
  // The decisive test: the way back to root must be closed.
  if (who.uid != 0 && (::setuid(0) == 0 || ::seteuid(0) == 0)) {
    return make_error(errc::permanent_failure, "root could be regained after dropping privileges");
  }
  return {};
}

Result<void> drop_privileges(const Identity& who, const std::filesystem::path& chroot) {
  if (who.uid == 0) {
    return make_error(errc::invalid_input,
                      "refusing to run as root (privileges.user " + who.name + " has uid 0)");
  }
  if (!chroot.empty()) {
    if (::chroot(chroot.c_str()) != 0) return system_error("chroot " + chroot.string());
    if (::chdir("/") != 0) return system_error("chdir / in the chroot");
  }
  // Groups first: once the uid is no longer 0, they can no longer be changed.
  if (::setgroups(1, &who.gid) != 0) return system_error("setgroups");
  if (::setresgid(who.gid, who.gid, who.gid) != 0) return system_error("setresgid");
  if (::setresuid(who.uid, who.uid, who.uid) != 0) return system_error("setresuid");
  // Nothing this process could exec may raise its privileges again.
  if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) return system_error("PR_SET_NO_NEW_PRIVS");
  return verify_dropped(who);
}

std::filesystem::path inside_chroot(const std::filesystem::path& root,
                                    const std::filesystem::path& path) {
  const std::filesystem::path base = root.lexically_normal();
  const std::filesystem::path relative = path.lexically_normal().lexically_relative(base);
  if (relative.empty() || *relative.begin() == "..") return path;
  return relative == "." ? std::filesystem::path("/") : "/" / relative;
}

config::Config for_chroot(config::Config config, const std::filesystem::path& root) {
  if (root.empty()) return config;
  auto move_in = [&](std::filesystem::path& path) {
    if (!path.empty()) path = inside_chroot(root, path);
  };
  move_in(config.auth.passwd);
  move_in(config.tls.cert);
  move_in(config.tls.key);
  for (config::CertificatePair& pair : config.tls.certificates) {
    move_in(pair.cert);
    move_in(pair.key);
  }
  // The backend prefix ("maildir:") stays in front; templates are plain paths after it.
  std::string& location = config.mail.location;
  const std::size_t slash = location.find('/');
  if (slash != std::string::npos) {
    location = location.substr(0, slash) + inside_chroot(root, location.substr(slash)).string();
  }
  return config;
}

MailOwnerCheck::MailOwnerCheck(std::unique_ptr<auth::PassDb> inner) : inner_(std::move(inner)) {}

Result<std::optional<auth::UserRecord>> MailOwnerCheck::lookup(std::string_view user) {
  auto found = inner_->lookup(user);
  if (!found || !*found) return found;
  const auth::UserRecord& record = **found;
  if (record.uid && *record.uid == 0) {
    return make_error(errc::permanent_failure,
                      "passwd entry has uid 0; mail is never served as root");
  }
  if ((record.uid && *record.uid != ::geteuid()) || (record.gid && *record.gid != ::getegid())) {
    return make_error(errc::permanent_failure,
                      "passwd entry names uid/gid " +
                          (record.uid ? std::to_string(*record.uid) : std::string("-")) + "/" +
                          (record.gid ? std::to_string(*record.gid) : std::string("-")) +
                          " but the server runs as " + std::to_string(::geteuid()) + "/" +
                          std::to_string(::getegid()) + " (privileges.user owns all mail)");
  }
  return found;
}

}  // namespace mailport::net
