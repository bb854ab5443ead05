#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <set>
#include <thread>

#include "auth/passwd_file.hpp"
#include "core/unique_fd.hpp"
#include "support/temp_dir.hpp"

namespace mailport::auth {
namespace {

using test_support::read_file;
using test_support::TempDir;
using test_support::write_file;

UserRecord user(const std::string& name, const std::string& password = "{PLAIN}pw") {
  UserRecord record;
  record.name = name;
  record.password = password;
  return record;
}

mode_t mode_of(const std::filesystem::path& path) {
  struct stat st {};
  EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
  return st.st_mode & 07777;
}

std::set<std::string> files_in(const std::filesystem::path& dir) {
  std::set<std::string> names;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    names.insert(entry.path().filename().string());
  }
  return names;
}

std::set<std::string> user_names(const std::filesystem::path& path) {
  std::set<std::string> names;
  auto users = parse_passwd_file(path);
  EXPECT_TRUE(users.ok()) << users.error().describe();
  if (users.ok()) {
    for (const auto& u : *users) names.insert(u.name);
  }
  return names;
}

// Makes the umask stricter than the mode the editor must produce.
class ScopedUmask {
 public:
  explicit ScopedUmask(mode_t mask) : saved_(::umask(mask)) {}
  ~ScopedUmask() { ::umask(saved_); }

 private:
  mode_t saved_;
};

TEST(AddUser, CreatesTheFileWithMode0640) {
  TempDir dir;
  const ScopedUmask umask(077);
  const auto path = dir / "passwd";
  UserRecord alice = user("alice", "{PLAIN}a");
  alice.uid = 1000;
  alice.home = "/home/alice";
  ASSERT_TRUE(add_user(path, alice).ok());
  EXPECT_EQ(read_file(path), "alice:{PLAIN}a:1000:::/home/alice\n");
  EXPECT_EQ(mode_of(path), 0640u);
  EXPECT_EQ(files_in(dir.path()), (std::set<std::string>{"passwd", "passwd.lock"}));
}

TEST(AddUser, AppendsAndKeepsEverythingElseVerbatim) {
  TempDir dir;
  const auto path = dir / "passwd";
  const std::string original =
      "# managed by hand\r\n\nalice:{PLAIN}a:1:2::/h::k=v\r\n  \n#  old:{PLAIN}x\nbob:{PLAIN}b";
  write_file(path, original);
  ASSERT_TRUE(add_user(path, user("carol")).ok());
  EXPECT_EQ(read_file(path), original + "\ncarol:{PLAIN}pw\n");
}

TEST(AddUser, ExistingUserIsInvalidInputAndLeavesTheFileAlone) {
  TempDir dir;
  const auto path = dir / "passwd";
  write_file(path, "alice:{PLAIN}a\n");
  auto result = add_user(path, user("alice"));
  ASSERT_FALSE(result.ok());
  EXPECT_TRUE(result.error().is(errc::invalid_input));
  EXPECT_EQ(result.error().message, "user 'alice' already exists in " + path.string());
  EXPECT_EQ(read_file(path), "alice:{PLAIN}a\n");
}

TEST(AddUser, RejectsRecordsThatWouldCorruptTheFile) {
  TempDir dir;
  const auto path = dir / "passwd";
  std::vector<UserRecord> bad = {user("a b"),
                                 user(""),
                                 user("a:b"),
                                 user("ok", ""),
                                 user("ok", "{PLAIN}pa:ss"),
                                 user("ok", "{PLAIN}x\nmallory:x")};
  UserRecord home = user("ok");
  home.home = "/a:b";
  bad.push_back(home);
  UserRecord extra = user("ok");
  extra.extra = "k=v\nmallory:{PLAIN}x";
  bad.push_back(extra);
  for (const auto& record : bad) {
    auto result = add_user(path, record);
    ASSERT_FALSE(result.ok()) << record.name << " " << record.password;
    EXPECT_TRUE(result.error().is(errc::invalid_input));
  }
  EXPECT_FALSE(std::filesystem::exists(path));
  UserRecord colon_in_extra = user("ok");
  colon_in_extra.extra = "userdb_quota_rule=*:storage=1G";
  ASSERT_TRUE(add_user(path, colon_in_extra).ok());
  EXPECT_EQ((*parse_passwd_file(path))[0].extra, "userdb_quota_rule=*:storage=1G");
}

TEST(AddUser, RefusesToRewriteAMalformedFile) {
  TempDir dir;
  const auto path = dir / "passwd";
  const std::string broken = "alice:{PLAIN}a\nalice:{PLAIN}b\n";
  write_file(path, broken);
  auto result = add_user(path, user("bob"));
  ASSERT_FALSE(result.ok());
  EXPECT_TRUE(result.error().is(errc::invalid_input));
  EXPECT_NE(result.error().message.find(path.string() + ":2: duplicate user"), std::string::npos);
  EXPECT_EQ(read_file(path), broken);
}

TEST(AddUser, KeepsTheModeOfAnExistingFile) {
  TempDir dir;
  const auto path = dir / "passwd";
  write_file(path, "alice:{PLAIN}a\n");
  ASSERT_EQ(::chmod(path.c_str(), 0604), 0);
  ASSERT_TRUE(add_user(path, user("bob")).ok());
  EXPECT_EQ(mode_of(path), 0604u);
}

TEST(AddUser, EditsTheTargetOfASymlink) {
  TempDir dir;
  write_file(dir / "real", "alice:{PLAIN}a\n");
  std::filesystem::create_symlink("real", dir / "passwd");
  ASSERT_TRUE(add_user(dir / "passwd", user("bob")).ok());
  EXPECT_TRUE(std::filesystem::is_symlink(dir / "passwd"));
  EXPECT_EQ(read_file(dir / "real"), "alice:{PLAIN}a\nbob:{PLAIN}pw\n");
}

TEST(AddUser, WaitsForTheLock) {
  TempDir dir;
  const auto path = dir / "passwd";
  const auto lock_path = dir / "passwd.lock";
  UniqueFd lock(::open(lock_path.c_str(), O_RDONLY | O_CREAT | O_CLOEXEC, 0640));
  ASSERT_TRUE(lock.valid());
  ASSERT_EQ(::flock(lock.get(), LOCK_EX), 0);
  std::atomic<bool> done{false};
  std::thread editor([&] {
    EXPECT_TRUE(add_user(path, user("alice")).ok());
    done = true;
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  EXPECT_FALSE(done.load());
  EXPECT_FALSE(std::filesystem::exists(path));
  lock.reset();
  editor.join();
  EXPECT_TRUE(done.load());
  EXPECT_EQ(user_names(path), std::set<std::string>{"alice"});
}

TEST(AddUser, ConcurrentThreadsLoseNothing) {
  TempDir dir;
  const auto path = dir / "passwd";
  std::vector<std::thread> editors;
  std::atomic<int> failures{0};
  for (int t = 0; t < 2; ++t) {
    editors.emplace_back([&, t] {
      for (int i = 0; i < 50; ++i) {
        const auto name = "t" + std::to_string(t) + "u" + std::to_string(i);
        if (!add_user(path, user(name)).ok()) ++failures;
      }
    });
  }
  for (auto& editor : editors) editor.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(user_names(path).size(), 100u);
}

TEST(AddUser, ConcurrentProcessesLoseNothing) {
  TempDir dir;
  const auto path = dir / "passwd";
  std::vector<pid_t> children;
  for (int p = 0; p < 2; ++p) {
    const pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      int failures = 0;
      for (int i = 0; i < 50; ++i) {
        const auto name = "p" + std::to_string(p) + "u" + std::to_string(i);
        failures += add_user(path, user(name)).ok() ? 0 : 1;
      }
      ::_exit(failures == 0 ? 0 : 1);
    }
    children.push_back(pid);
  }
  for (const pid_t pid : children) {
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  }
  EXPECT_EQ(user_names(path).size(), 100u);
  EXPECT_EQ(files_in(dir.path()), (std::set<std::string>{"passwd", "passwd.lock"}));
}

TEST(SetPassword, ChangesOnlyThePasswordField) {
  TempDir dir;
  const auto path = dir / "passwd";
  write_file(path, "# c\nalice:{PLAIN}old:1000:100:A:/home/a:/bin/sh:k=v:x\r\nbob:{PLAIN}b\n");
  ASSERT_TRUE(set_password(path, "alice", "{PLAIN}new").ok());
  ASSERT_TRUE(set_password(path, "bob", "{SHA512-CRYPT}$6$s$h").ok());
  EXPECT_EQ(read_file(path),
            "# c\nalice:{PLAIN}new:1000:100:A:/home/a:/bin/sh:k=v:x\r\n"
            "bob:{SHA512-CRYPT}$6$s$h\n");
}

TEST(SetPassword, MissingUserOrFileIsNotFound) {
  TempDir dir;
  const auto path = dir / "passwd";
  auto no_file = set_password(path, "alice", "{PLAIN}x");
  ASSERT_FALSE(no_file.ok());
  EXPECT_TRUE(no_file.error().is(errc::not_found));
  EXPECT_FALSE(std::filesystem::exists(path));
  write_file(path, "# alice:{PLAIN}commented\nbob:{PLAIN}b\n");
  auto no_user = set_password(path, "alice", "{PLAIN}x");
  ASSERT_FALSE(no_user.ok());
  EXPECT_TRUE(no_user.error().is(errc::not_found));
  EXPECT_EQ(no_user.error().message, "user 'alice' not found in " + path.string());
  EXPECT_EQ(read_file(path), "# alice:{PLAIN}commented\nbob:{PLAIN}b\n");
}

TEST(SetPassword, RejectsAHashThatWouldCorruptTheFile) {
  TempDir dir;
  const auto path = dir / "passwd";
  write_file(path, "alice:{PLAIN}a\n");
  for (const char* hash : {"", "{PLAIN}a:b", "{PLAIN}a\nmallory:{PLAIN}m"}) {
    auto result = set_password(path, "alice", hash);
    ASSERT_FALSE(result.ok()) << hash;
    EXPECT_TRUE(result.error().is(errc::invalid_input));
  }
  EXPECT_EQ(read_file(path), "alice:{PLAIN}a\n");
}

TEST(DeleteUser, RemovesOnlyThatLine) {
  TempDir dir;
  const auto path = dir / "passwd";
  write_file(path, "# c\nalice:{PLAIN}a\n\nbob:{PLAIN}b:1\ncarol:{PLAIN}c\n");
  ASSERT_TRUE(delete_user(path, "bob").ok());
  EXPECT_EQ(read_file(path), "# c\nalice:{PLAIN}a\n\ncarol:{PLAIN}c\n");
  auto again = delete_user(path, "bob");
  ASSERT_FALSE(again.ok());
  EXPECT_TRUE(again.error().is(errc::not_found));
}

TEST(Edits, AreSeenByARunningPasswdFileDb) {
  TempDir dir;
  const auto path = dir / "passwd";
  ASSERT_TRUE(add_user(path, user("alice", "{PLAIN}a")).ok());
  PasswdFileDb db(path);
  ASSERT_TRUE(db.lookup("alice")->has_value());
  ASSERT_TRUE(add_user(path, user("bob")).ok());
  EXPECT_TRUE(db.lookup("bob")->has_value());
  ASSERT_TRUE(set_password(path, "alice", "{PLAIN}changed").ok());
  EXPECT_EQ((*db.lookup("alice"))->password, "{PLAIN}changed");
  ASSERT_TRUE(delete_user(path, "alice").ok());
  EXPECT_FALSE(db.lookup("alice")->has_value());
}

}  // namespace
}  // namespace mailport::auth
