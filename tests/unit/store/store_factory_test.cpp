// The store factory and multi-recipient delivery: one file hard-linked into several Maildirs.
#include "store/store_factory.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <string>
#include <vector>

#include "store/maildir_store.hpp"
#include "store/mbox_store.hpp"
#include "support/temp_dir.hpp"

namespace mailport::store::testing {
namespace {

using test_support::read_file;
using test_support::TempDir;
using test_support::write_file;

namespace fs = std::filesystem;

std::vector<fs::path> files_in(const fs::path& dir) {
  std::vector<fs::path> files;
  for (const auto& entry : fs::directory_iterator(dir)) files.push_back(entry.path());
  return files;
}

TEST(ParseMailLocation, PrefixPicksTheBackend) {
  EXPECT_EQ(parse_mail_location("/m/%u").kind, StoreKind::maildir);
  EXPECT_EQ(parse_mail_location("/m/%u").path_template, "/m/%u");
  EXPECT_EQ(parse_mail_location("maildir:/m/%u").path_template, "/m/%u");
  EXPECT_EQ(parse_mail_location("maildir:/m/%u").kind, StoreKind::maildir);
  EXPECT_EQ(parse_mail_location("mbox:/var/mail/%u").kind, StoreKind::mbox);
  EXPECT_EQ(parse_mail_location("mbox:/var/mail/%u").path_template, "/var/mail/%u");
}

TEST(MakeStore, BuildsTheNamedBackend) {
  EXPECT_NE(dynamic_cast<MboxStore*>(make_store(parse_mail_location("mbox:/x/%u")).get()), nullptr);
  EXPECT_NE(dynamic_cast<MaildirStore*>(make_store(parse_mail_location("/x/%u")).get()), nullptr);
}

TEST(DeliverToMaildirs, WritesOnceAndLinksIntoTheOthers) {
  TempDir dir;
  const std::vector<fs::path> paths = {dir.path() / "a", dir.path() / "b", dir.path() / "c"};
  const auto results = deliver_to_maildirs(paths, "Subject: x\n\nshared\n");
  ASSERT_EQ(results.size(), 3u);
  for (std::size_t i = 0; i < paths.size(); ++i) {
    ASSERT_TRUE(results[i].ok()) << results[i].error().describe();
    EXPECT_EQ(*results[i], *results[0]);
    const fs::path file = paths[i] / "new" / *results[i];
    EXPECT_EQ(read_file(file), "Subject: x\n\nshared\n");
    struct stat info {};
    ASSERT_EQ(::stat(file.c_str(), &info), 0);
    EXPECT_EQ(info.st_nlink, 3u) << "one inode for all three recipients";
    EXPECT_TRUE(files_in(paths[i] / "tmp").empty());
  }
}

TEST(DeliverToMaildirs, AFailingMaildirDoesNotStopTheOthers) {
  TempDir dir;
  write_file(dir.path() / "blocked", "a file where a Maildir should be");
  const std::vector<fs::path> paths = {dir.path() / "blocked", dir.path() / "ok"};
  const auto results = deliver_to_maildirs(paths, "m\n");
  EXPECT_FALSE(results[0].ok());
  ASSERT_TRUE(results[1].ok());
  EXPECT_EQ(read_file(dir.path() / "ok" / "new" / *results[1]), "m\n");
  EXPECT_TRUE(files_in(dir.path() / "ok" / "tmp").empty());
}

TEST(DeliverMessage, MaildirUsersAndUnsafeLogins) {
  TempDir dir;
  const MailLocation location = parse_mail_location("maildir:" + dir.path().string() + "/%u");
  const std::vector<UserContext> users = {{"alice", ""}, {"..", ""}, {"bob", ""}};
  const auto results = deliver_message(location, users, "s@x", "hello\n");
  ASSERT_EQ(results.size(), 3u);
  EXPECT_TRUE(results[0].ok());
  EXPECT_TRUE(results[1].error().is(errc::invalid_input));
  EXPECT_TRUE(results[2].ok());
  EXPECT_EQ(files_in(dir.path() / "bob" / "new").size(), 1u);
}

TEST(DeliverMessage, MboxUsersGetAFromLineWithTheSender) {
  TempDir dir;
  const MailLocation location = parse_mail_location("mbox:" + dir.path().string() + "/%u");
  const std::vector<UserContext> users = {{"alice", ""}, {"bob", ""}};
  const auto results = deliver_message(location, users, "s@example.org", "hello\n");
  ASSERT_TRUE(results[0].ok() && results[1].ok());
  EXPECT_TRUE(read_file(dir.path() / "bob").starts_with("From s@example.org "));
  auto box = make_store(location)->open(users[0]);
  ASSERT_TRUE(box.ok());
  EXPECT_EQ((*box)->messages().size(), 1u);
}

}  // namespace
}  // namespace mailport::store::testing
