// Privilege separation: paths seen from inside a chroot, the configuration rewritten for it, the
// mailbox-owner check on passwd entries, identity lookup, and (as root, in a child process) the
// drop itself with the proof that root cannot be regained.
#include "net/privileges.hpp"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>

namespace mailport::net {
namespace {

TEST(InsideChroot, StripsTheRoot) {
  EXPECT_EQ(inside_chroot("/srv/mail", "/srv/mail/passwd"), "/passwd");
  EXPECT_EQ(inside_chroot("/srv/mail/", "/srv/mail/a/b"), "/a/b");
  EXPECT_EQ(inside_chroot("/srv/mail", "/srv/mail"), "/");
  EXPECT_EQ(inside_chroot("/srv/mail", "/srv/mailx/passwd"), "/srv/mailx/passwd");
  EXPECT_EQ(inside_chroot("/srv/mail", "/srv/mail/../etc/shadow"), "/srv/mail/../etc/shadow");
  EXPECT_EQ(inside_chroot("/srv/mail", "/etc/passwd"), "/etc/passwd");
}

TEST(ForChroot, RewritesThePathsUsedAfterTheDrop) {
  config::Config config;
  config.auth.passwd = "/srv/mail/etc/passwd";
  config.mail.location = "maildir:/srv/mail/%d/%n";
  config.tls.cert = "/srv/mail/tls/cert.pem";
  config.tls.key = "/etc/ssl/key.pem";  // outside: stays, and a reload cannot reach it
  config.tls.certificates = {{"/srv/mail/tls/rsa.pem", "/srv/mail/tls/rsa.key"}};
  const config::Config moved = for_chroot(config, "/srv/mail");
  EXPECT_EQ(moved.auth.passwd, "/etc/passwd");
  EXPECT_EQ(moved.mail.location, "maildir:/%d/%n");
  EXPECT_EQ(moved.tls.cert, "/tls/cert.pem");
  EXPECT_EQ(moved.tls.key, "/etc/ssl/key.pem");
  EXPECT_EQ(moved.tls.certificates[0].key, "/tls/rsa.key");
  EXPECT_EQ(for_chroot(config, "").auth.passwd, config.auth.passwd);
}

class FixedPassDb final : public auth::PassDb {
 public:
  Result<std::optional<auth::UserRecord>> lookup(std::string_view user) override {
    if (user == "broken") return make_error(errc::temporary_failure, "database down");
    for (const auto& record : records) {
      if (record.name == user) return std::optional(record);
    }
    return std::optional<auth::UserRecord>();
  }
  std::vector<auth::UserRecord> records;
};

auth::UserRecord user(std::string name, std::optional<uid_t> uid, std::optional<gid_t> gid) {
  auth::UserRecord record;
  record.name = std::move(name);
  record.password = "{PLAIN}pw";
  record.uid = uid;
  record.gid = gid;
  return record;
}

TEST(MailOwnerCheck, AcceptsOnlyTheServersOwnIdsAndNeverRoot) {
  auto inner = std::make_unique<FixedPassDb>();
  const uid_t me = ::geteuid();
  const gid_t my_group = ::getegid();
  inner->records = {user("plain", {}, {}), user("rooted", 0, 0), user("mine", me, my_group),
                    user("other", me + 1, my_group), user("other-group", me, my_group + 1)};
  MailOwnerCheck check(std::move(inner));
  auto plain = check.lookup("plain");
  ASSERT_TRUE(plain && *plain);
  EXPECT_EQ((*plain)->name, "plain");
  auto rooted = check.lookup("rooted");
  ASSERT_FALSE(rooted);
  EXPECT_NE(rooted.error().describe().find("never served as root"), std::string::npos);
  EXPECT_EQ(static_cast<bool>(check.lookup("mine")), me != 0);
  EXPECT_FALSE(check.lookup("other"));
  EXPECT_FALSE(check.lookup("other-group"));
  auto missing = check.lookup("nobody-here");
  ASSERT_TRUE(missing);
  EXPECT_FALSE(*missing);
  EXPECT_FALSE(check.lookup("broken"));
}

TEST(ResolveIdentity, NamesNumbersAndGroups) {
  auto root = resolve_identity("root", "");
  ASSERT_TRUE(root);
  EXPECT_EQ(root->uid, 0u);
  EXPECT_EQ(root->gid, 0u);
  auto numeric = resolve_identity("0", "");
  ASSERT_TRUE(numeric);
  EXPECT_EQ(numeric->name, "root");
  auto with_group = resolve_identity("root", "12345");
  ASSERT_TRUE(with_group);
  EXPECT_EQ(with_group->gid, 12345u);
  EXPECT_TRUE(resolve_identity("no-such-user-mailport", "").error().is(errc::not_found));
  EXPECT_TRUE(resolve_identity("root", "no-such-group-mailport").error().is(errc::not_found));
  // A uid without a passwd entry (containers) needs an explicit group.
  EXPECT_FALSE(resolve_identity("4000000000", ""));
  auto bare = resolve_identity("4000000000", "4000000000");
  ASSERT_TRUE(bare);
  EXPECT_EQ(bare->uid, 4000000000u);
}

TEST(DropPrivileges, RefusesRoot) {
  auto dropped = drop_privileges(Identity{0, 0, "root"}, "");
  ASSERT_FALSE(dropped);
  EXPECT_NE(dropped.error().describe().find("refusing to run as root"), std::string::npos);
}

// Runs `body` in a child process (a drop cannot be undone) and returns its exit status.
int in_child(const std::function<int()>& body) {
  const pid_t pid = ::fork();
  if (pid == 0) std::_Exit(body());
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

TEST(DropPrivileges, DropsForGoodAsRoot) {
  if (!running_as_root()) GTEST_SKIP() << "needs root";
  const int status = in_child([] {
    if (!drop_privileges(Identity{65534, 65534, "nobody"}, "")) return 1;
    if (running_as_root() || ::getuid() != 65534 || ::getgid() != 65534) return 2;
    if (::setuid(0) == 0 || ::setgid(0) == 0) return 3;
    if (!verify_dropped(Identity{65534, 65534, "nobody"})) return 4;
    return 0;
  });
  EXPECT_EQ(status, 0);
}

TEST(DropPrivileges, ChrootsFirst) {
  if (!running_as_root()) GTEST_SKIP() << "needs root";
  const std::filesystem::path jail =
      std::filesystem::temp_directory_path() / ("mailport-jail-" + std::to_string(::getpid()));
  std::filesystem::create_directories(jail / "inside");
  const int status = in_child([&] {
    if (!drop_privileges(Identity{65534, 65534, "nobody"}, jail)) return 1;
    if (!std::filesystem::exists("/inside")) return 2;
    return std::filesystem::current_path() == "/" ? 0 : 3;
  });
  std::filesystem::remove_all(jail);
  EXPECT_EQ(status, 0);
}

TEST(VerifyDropped, RootIsNotDropped) {
  if (!running_as_root()) GTEST_SKIP() << "needs root";
  EXPECT_FALSE(verify_dropped(Identity{0, 0, "root"}));
}

}  // namespace
}  // namespace mailport::net
