#include "auth/passwd_file.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "support/temp_dir.hpp"

namespace mailport::auth {
namespace {

using test_support::TempDir;
using test_support::write_file;

std::string error_of(const Result<std::vector<UserRecord>>& parsed) {
  return parsed.ok() ? std::string("<parsed>") : parsed.error().message;
}

TEST(ParsePasswd, FullAndMinimalLines) {
  auto users = parse_passwd_text(
      "alice:{PLAIN}a:1000:100:Alice A.:/home/alice:/bin/false:userdb_quota_rule=*:storage=1G\n"
      "bob:{SHA512-CRYPT}$6$x$y\n",
      "mem");
  ASSERT_TRUE(users.ok()) << users.error().message;
  ASSERT_EQ(users->size(), 2u);
  const auto& alice = (*users)[0];
  EXPECT_EQ(alice.name, "alice");
  EXPECT_EQ(alice.password, "{PLAIN}a");
  EXPECT_EQ(alice.uid, 1000u);
  EXPECT_EQ(alice.gid, 100u);
  EXPECT_EQ(alice.gecos, "Alice A.");
  EXPECT_EQ(alice.home, "/home/alice");
  EXPECT_EQ(alice.shell, "/bin/false");
  EXPECT_EQ(alice.extra, "userdb_quota_rule=*:storage=1G");  // the rest of the line, verbatim
  const auto& bob = (*users)[1];
  EXPECT_EQ(bob.password, "{SHA512-CRYPT}$6$x$y");
  EXPECT_EQ(bob.uid, std::nullopt);
  EXPECT_EQ(bob.gid, std::nullopt);
  EXPECT_EQ(bob.home, "");
}

TEST(ParsePasswd, SkipsCommentsBlankLinesAndCarriageReturns) {
  auto users = parse_passwd_text(
      "# users\n\n   \n\t\r\nalice:{PLAIN}a\r\n#bob:{PLAIN}b\ncarol:{PLAIN}c::::/home/carol",
      "mem");
  ASSERT_TRUE(users.ok()) << users.error().message;
  ASSERT_EQ(users->size(), 2u);
  EXPECT_EQ((*users)[0].password, "{PLAIN}a");
  EXPECT_EQ((*users)[1].name, "carol");
  EXPECT_EQ((*users)[1].home, "/home/carol");
  EXPECT_EQ((*users)[1].uid, std::nullopt);
}

TEST(ParsePasswd, EmptyFileHasNoUsers) {
  auto users = parse_passwd_text("", "mem");
  ASSERT_TRUE(users.ok());
  EXPECT_TRUE(users->empty());
}

TEST(ParsePasswd, ErrorsNameOriginAndLine) {
  struct Case {
    std::string text;
    std::string message;
  };
  const Case cases[] = {
      {"a:{PLAIN}x\n# c\nb:{PLAIN}y\na:{PLAIN}z\n", "f:4: duplicate user 'a' (first on line 1)"},
      {"\n:{PLAIN}x\n", "f:2: empty user name"},
      {"a:{PLAIN}x:12x\n", "f:1: bad uid '12x' (expected a decimal number)"},
      {"a:{PLAIN}x:-1\n", "f:1: bad uid '-1' (expected a decimal number)"},
      {"a:{PLAIN}x:99999999999\n", "f:1: bad uid '99999999999' (expected a decimal number)"},
      {"a:{PLAIN}x:1:g\n", "f:1: bad gid 'g' (expected a decimal number)"},
      {"a\n", "f:1: missing password field (expected user:{SCHEME}hash[:uid:gid:...])"},
      {"ok:{PLAIN}x\nb c:{PLAIN}x\n",
       "f:2: invalid user name 'b c' (control byte, space or over 255 octets)"},
      {std::string("a:{PLAIN}x\0y\n", 13), "f:1: NUL byte"},
      {std::string("# comment \0\n", 12), "f:1: NUL byte"},
      {"a:" + std::string(64 * 1024, 'x') + "\n", "f:1: line too long (over 65536 octets)"},
  };
  for (const auto& c : cases) EXPECT_EQ(error_of(parse_passwd_text(c.text, "f")), c.message);
}

TEST(ParsePasswd, ErrorsAreInvalidInput) {
  auto users = parse_passwd_text("a\n", "f");
  ASSERT_FALSE(users.ok());
  EXPECT_TRUE(users.error().is(errc::invalid_input));
}

TEST(ParsePasswd, LongestAllowedLineIsAccepted) {
  const std::string line = "a:" + std::string(64 * 1024 - 2, 'x');
  EXPECT_TRUE(parse_passwd_text(line + "\n", "f").ok());
}

TEST(ParsePasswd, FileErrorsCarryThePath) {
  TempDir dir;
  const auto path = dir / "passwd";
  auto missing = parse_passwd_file(path);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, std::errc::no_such_file_or_directory);
  EXPECT_NE(missing.error().describe().find(path.string()), std::string::npos);
  write_file(path, "x:{PLAIN}1\ny\n");
  auto bad = parse_passwd_file(path);
  ASSERT_FALSE(bad.ok());
  EXPECT_TRUE(bad.error().message.starts_with(path.string() + ":2: ")) << bad.error().message;
}

TEST(UserName, Validity) {
  for (const std::string& name :
       {std::string("alice"), std::string("a"), std::string("alice@example.org"),
        std::string("j\xc3\xbcrgen"), std::string("\xe2\x82\xac"), std::string("x.y-z_1+tag"),
        std::string(255, 'a')}) {
    EXPECT_TRUE(valid_user_name(name)) << name;
  }
  for (const std::string& name :
       {std::string(), std::string(256, 'a'), std::string("a b"), std::string("a:b"),
        std::string("a\tb"), std::string("a\nb"), std::string("a\x7f"), std::string("a\0b", 3),
        std::string("\xff"), std::string("\xc3"), std::string("\xc0\xaf"),
        std::string("\xed\xa0\x80"),  // UTF-16 surrogate
        std::string("a\xc2\xa0"
                    "b"),                 // no-break space
        std::string("a\xc2\x85"),         // C1 control
        std::string("a\xe3\x80\x80")}) {  // ideographic space
    EXPECT_FALSE(valid_user_name(name)) << name;
  }
}

TEST(FormatPasswd, WritesOnlyTheFieldsInUse) {
  UserRecord user;
  user.name = "alice";
  user.password = "{PLAIN}a";
  EXPECT_EQ(format_passwd_line(user), "alice:{PLAIN}a");
  user.home = "/home/alice";
  EXPECT_EQ(format_passwd_line(user), "alice:{PLAIN}a::::/home/alice");
  user.uid = 1000;
  user.gid = 0;
  user.extra = "k=v k2=v2";
  EXPECT_EQ(format_passwd_line(user), "alice:{PLAIN}a:1000:0::/home/alice::k=v k2=v2");
  auto parsed = parse_passwd_text(format_passwd_line(user), "mem");
  ASSERT_TRUE(parsed.ok());
  ASSERT_EQ(parsed->size(), 1u);
  EXPECT_EQ((*parsed)[0].uid, 1000u);
  EXPECT_EQ((*parsed)[0].gid, 0u);
  EXPECT_EQ((*parsed)[0].home, "/home/alice");
  EXPECT_EQ((*parsed)[0].extra, "k=v k2=v2");
}

// Replaces the file the way editors do: a new inode under the same name.
void replace(const std::filesystem::path& path, const std::string& text) {
  const auto temp = path.string() + ".new";
  write_file(temp, text);
  std::filesystem::rename(temp, path);
}

TEST(PasswdFileDb, LooksUpUsers) {
  TempDir dir;
  write_file(dir / "passwd", "alice:{PLAIN}a:1000\nbob:{PLAIN}b\n");
  PasswdFileDb db(dir / "passwd");
  auto alice = db.lookup("alice");
  ASSERT_TRUE(alice.ok());
  ASSERT_TRUE(alice->has_value());
  EXPECT_EQ((*alice)->password, "{PLAIN}a");
  EXPECT_EQ((*alice)->uid, 1000u);
  auto nobody = db.lookup("carol");
  ASSERT_TRUE(nobody.ok());
  EXPECT_FALSE(nobody->has_value());
  auto case_differs = db.lookup("Alice");
  ASSERT_TRUE(case_differs.ok());
  EXPECT_FALSE(case_differs->has_value());
}

TEST(PasswdFileDb, MissingFileIsATemporaryFailure) {
  TempDir dir;
  PasswdFileDb db(dir / "passwd");
  auto result = db.lookup("alice");
  ASSERT_FALSE(result.ok());
  EXPECT_TRUE(result.error().is(errc::temporary_failure));
  EXPECT_NE(result.error().message.find((dir / "passwd").string()), std::string::npos);
  write_file(dir / "passwd", "alice:{PLAIN}a\n");
  auto later = db.lookup("alice");
  ASSERT_TRUE(later.ok());
  EXPECT_TRUE(later->has_value());
}

TEST(PasswdFileDb, ReloadsWhenTheFileChanges) {
  TempDir dir;
  write_file(dir / "passwd", "alice:{PLAIN}a\n");
  PasswdFileDb db(dir / "passwd");
  ASSERT_TRUE(db.lookup("alice")->has_value());
  EXPECT_FALSE(db.lookup("bob")->has_value());
  replace(dir / "passwd", "alice:{PLAIN}a\nbob:{PLAIN}b\n");
  EXPECT_TRUE(db.lookup("bob")->has_value());
  write_file(dir / "passwd", "bob:{PLAIN}rewritten\n");  // same inode, other size
  EXPECT_FALSE(db.lookup("alice")->has_value());
  EXPECT_EQ((*db.lookup("bob"))->password, "{PLAIN}rewritten");
}

TEST(PasswdFileDb, KeepsTheLastGoodParseWhenTheFileBreaks) {
  TempDir dir;
  write_file(dir / "passwd", "alice:{PLAIN}a\n");
  PasswdFileDb db(dir / "passwd");
  ASSERT_TRUE(db.lookup("alice")->has_value());
  replace(dir / "passwd", "alice:{PLAIN}a\nbroken line without password\nbob:{PLAIN}b\n");
  for (int i = 0; i < 2; ++i) {  // the broken version is remembered, not re-read
    auto alice = db.lookup("alice");
    ASSERT_TRUE(alice.ok());
    EXPECT_TRUE(alice->has_value());
    EXPECT_FALSE(db.lookup("bob")->has_value());
  }
  replace(dir / "passwd", "bob:{PLAIN}b\n");
  EXPECT_TRUE(db.lookup("bob")->has_value());
  EXPECT_FALSE(db.lookup("alice")->has_value());
  std::filesystem::remove(dir / "passwd");
  auto gone = db.lookup("bob");
  ASSERT_FALSE(gone.ok());
  EXPECT_TRUE(gone.error().is(errc::temporary_failure));
}

TEST(PasswdFileDb, BrokenFromTheStartIsAnErrorNamingTheLine) {
  TempDir dir;
  write_file(dir / "passwd", "alice:{PLAIN}a\nalice:{PLAIN}b\n");
  PasswdFileDb db(dir / "passwd");
  for (int i = 0; i < 2; ++i) {
    auto result = db.lookup("alice");
    ASSERT_FALSE(result.ok());
    EXPECT_TRUE(result.error().is(errc::temporary_failure));
    EXPECT_NE(result.error().message.find((dir / "passwd").string() + ":2: duplicate user"),
              std::string::npos)
        << result.error().message;
  }
  replace(dir / "passwd", "alice:{PLAIN}fixed\n");
  auto fixed = db.lookup("alice");
  ASSERT_TRUE(fixed.ok());
  EXPECT_EQ((*fixed)->password, "{PLAIN}fixed");
}

TEST(PasswdFileDb, ConcurrentLookupsWhileTheFileIsReplaced) {
  TempDir dir;
  write_file(dir / "passwd", "alice:{PLAIN}a\n");
  PasswdFileDb db(dir / "passwd");
  std::atomic<int> failures{0};
  std::atomic<int> found{0};
  std::vector<std::thread> readers;
  for (int t = 0; t < 4; ++t) {
    readers.emplace_back([&] {
      for (int i = 0; i < 500; ++i) {
        auto alice = db.lookup("alice");
        if (!alice.ok() || !alice->has_value()) {
          ++failures;
        } else if ((*alice)->password.starts_with("{PLAIN}")) {
          ++found;
        }
      }
    });
  }
  for (int i = 0; i < 100; ++i) {
    replace(dir / "passwd", "alice:{PLAIN}" + std::to_string(i) + "\nbob:{PLAIN}" +
                                std::string(static_cast<std::size_t>(i), 'b') + "\n");
  }
  for (auto& reader : readers) reader.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(found.load(), 2000);
  EXPECT_EQ((*db.lookup("alice"))->password, "{PLAIN}99");
}

}  // namespace
}  // namespace mailport::auth
