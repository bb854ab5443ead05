#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <filesystem>
#include <regex>
#include <string>

#include "store/maildir_name.hpp"
#include "store/maildir_store.hpp"
#include "support/temp_dir.hpp"

namespace mailport::store::testing {
namespace {

using test_support::read_file;
using test_support::TempDir;
using test_support::write_file;

namespace fs = std::filesystem;

TEST(DeliverToMaildir, NameCarriesTimeProcessHostAndBothSizes) {
  TempDir dir;
  const std::string message = "Subject: hi\n\nbody\r\nend\n";
  const auto before = ::time(nullptr);
  auto name = deliver_to_maildir(dir.path() / "Maildir", message);
  const auto after = ::time(nullptr);
  ASSERT_TRUE(name.ok()) << name.error().describe();

  const std::regex format(R"(^(\d+)\.M(\d+)P(\d+)Q(\d+)\.([^/:,]+),S=(\d+),W=(\d+)$)");
  std::smatch m;
  ASSERT_TRUE(std::regex_match(*name, m, format)) << *name;
  const long long seconds = std::stoll(m[1]);
  EXPECT_GE(seconds, before);
  EXPECT_LE(seconds, after);
  EXPECT_LT(std::stol(m[2]), 1000000);
  EXPECT_EQ(std::stol(m[3]), ::getpid());
  EXPECT_EQ(m[6], std::to_string(message.size()));
  EXPECT_EQ(m[7], "26");  // 23 bytes, three of the four line ends bare LF
  EXPECT_EQ(parse_maildir_name(*name).wire_size, 26u);
}

TEST(DeliverToMaildir, WritesTheMessageIntoNewAndLeavesTmpEmpty) {
  TempDir dir;
  const fs::path maildir = dir.path() / "deep" / "Maildir";
  auto name = deliver_to_maildir(maildir, "hello\n");
  ASSERT_TRUE(name.ok());
  EXPECT_EQ(read_file(maildir / "new" / *name), "hello\n");
  EXPECT_TRUE(fs::is_empty(maildir / "tmp"));
  EXPECT_TRUE(fs::is_directory(maildir / "cur"));
  struct stat st {};
  ASSERT_EQ(::stat((maildir / "new" / *name).c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(st.st_nlink, 1u);
}

TEST(DeliverToMaildir, EveryDeliveryGetsItsOwnName) {
  TempDir dir;
  std::set<std::string> names;
  for (int i = 0; i < 50; ++i) {
    auto name = deliver_to_maildir(dir.path(), "m" + std::to_string(i));
    ASSERT_TRUE(name.ok());
    names.insert(*name);
  }
  EXPECT_EQ(names.size(), 50u);
  EXPECT_EQ(std::distance(fs::directory_iterator(dir.path() / "new"), fs::directory_iterator()),
            50);
}

TEST(DeliverToMaildir, DeliveredMessagesOpenInOrderWithoutReadingBodies) {
  TempDir dir;
  std::vector<std::string> names;
  for (int i = 0; i < 20; ++i) {
    auto name = deliver_to_maildir(dir.path(), std::string(static_cast<std::size_t>(i), '\n'));
    ASSERT_TRUE(name.ok());
    names.push_back(*name);
  }
  MaildirOpenStats stats;
  auto box = open_maildir(dir.path(), stats);
  ASSERT_TRUE(box.ok());
  EXPECT_EQ(stats.sizes_computed, 0u);
  EXPECT_EQ(stats.moved_from_new, 20u);
  ASSERT_EQ((*box)->messages().size(), 20u);
  for (std::size_t i = 0; i < names.size(); ++i) {
    EXPECT_EQ((*box)->messages()[i].uidl, maildir_uidl(names[i]));
    EXPECT_EQ((*box)->messages()[i].octets, 2 * i);
  }
}

TEST(DeliverToMaildir, UnwritableLocationIsAnError) {
  TempDir dir;
  write_file(dir.path() / "file", "not a directory");
  auto name = deliver_to_maildir(dir.path() / "file" / "Maildir", "x");
  EXPECT_FALSE(name.ok());
}

}  // namespace
}  // namespace mailport::store::testing
