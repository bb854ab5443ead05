// Maildir-specific behaviour: directory layout, new/ -> cur/, names, sizes and their cache.
#include "store/maildir_store.hpp"

#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <filesystem>
#include <string>
#include <vector>

#include "core/unique_fd.hpp"
#include "store/maildir_lock.hpp"
#include "store/maildir_name.hpp"
#include "store/size_cache.hpp"
#include "support/temp_dir.hpp"

namespace mailport::store::testing {
namespace {

using test_support::read_file;
using test_support::TempDir;
using test_support::write_file;

namespace fs = std::filesystem;
using ::testing::ElementsAre;

std::vector<std::string> names_in(const fs::path& dir) {
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(dir)) names.push_back(entry.path().filename());
  std::sort(names.begin(), names.end());
  return names;
}

std::vector<std::string> uidls_of(const Mailbox& box) {
  std::vector<std::string> out;
  for (const auto& message : box.messages()) out.push_back(message.uidl);
  return out;
}

std::vector<std::uint64_t> sizes_of(const Mailbox& box) {
  std::vector<std::uint64_t> out;
  for (const auto& message : box.messages()) out.push_back(message.octets);
  return out;
}

class MaildirStoreTest : public ::testing::Test {
 protected:
  MaildirStoreTest() : maildir_(dir_.path() / "user" / "Maildir") {
    fs::create_directories(maildir_ / "cur");
    fs::create_directories(maildir_ / "new");
    fs::create_directories(maildir_ / "tmp");
  }

  std::unique_ptr<Mailbox> open(MaildirOpenStats& stats) {
    auto box = open_maildir(maildir_, stats);
    EXPECT_TRUE(box.ok()) << (box.ok() ? "" : box.error().describe());
    return box.ok() ? std::move(*box) : nullptr;
  }
  std::unique_ptr<Mailbox> open() {
    MaildirOpenStats stats;
    return open(stats);
  }
  void put(const char* sub, const std::string& name, std::string_view content) {
    write_file(maildir_ / sub / name, content);
  }

  TempDir dir_;
  fs::path maildir_;
};

TEST(MaildirOpen, CreatesMissingMaildirAndParentsPrivately) {
  TempDir dir;
  const fs::path maildir = dir.path() / "example.org" / "alice" / "Maildir";
  auto box = open_maildir(maildir);
  ASSERT_TRUE(box.ok());
  EXPECT_TRUE((*box)->messages().empty());
  for (const fs::path& path : {maildir.parent_path().parent_path(), maildir.parent_path(), maildir,
                               maildir / "cur", maildir / "new", maildir / "tmp"}) {
    struct stat st {};
    ASSERT_EQ(::stat(path.c_str(), &st), 0) << path;
    EXPECT_TRUE(S_ISDIR(st.st_mode)) << path;
    EXPECT_EQ(st.st_mode & 0777, 0700u) << path;
  }
}

TEST(MaildirOpen, PathThatIsAFileIsAnError) {
  TempDir dir;
  write_file(dir.path() / "file", "x");
  auto box = open_maildir(dir.path() / "file");
  EXPECT_FALSE(box.ok());
}

TEST_F(MaildirStoreTest, LockIsAnFlockOnTheLockFile) {
  auto box = open();
  ASSERT_TRUE(box);
  const UniqueFd fd(::open((maildir_ / kLockFileName).c_str(), O_RDWR | O_CLOEXEC));
  ASSERT_TRUE(fd);
  EXPECT_NE(::flock(fd.get(), LOCK_EX | LOCK_NB), 0);
  box.reset();
  EXPECT_EQ(::flock(fd.get(), LOCK_EX | LOCK_NB), 0);
  auto again = open_maildir(maildir_);
  ASSERT_FALSE(again.ok());
  EXPECT_TRUE(again.error().is(errc::in_use));
}

std::size_t open_descriptors() {
  std::size_t count = 0;
  for ([[maybe_unused]] const auto& entry : fs::directory_iterator("/proc/self/fd")) ++count;
  return count;
}

std::string read_all(Mailbox& box, std::size_t index) {
  auto reader = box.open_message(index);
  EXPECT_TRUE(reader.ok()) << (reader.ok() ? "" : reader.error().describe());
  if (!reader.ok()) return {};
  std::string text(64, '\0');
  auto got = (*reader)->read(text);
  EXPECT_TRUE(got.ok());
  text.resize(got.ok() ? *got : 0);
  return text;
}

TEST_F(MaildirStoreTest, IdleMailboxHoldsOnlyTheLock) {
  put("cur", "1.a.host:2,", "one\n");
  put("new", "2.b.host", "two\n");
  const std::size_t before = open_descriptors();
  auto box = open();
  ASSERT_TRUE(box);
  box->release_idle();
  EXPECT_EQ(open_descriptors(), before + 1);  // the lock file
  EXPECT_EQ(read_all(*box, 1), "two\n");      // the directories come back on demand
  box->release_idle();
  EXPECT_EQ(open_descriptors(), before + 1);
  const std::array<std::size_t, 1> first{0};
  ASSERT_TRUE(box->expunge(first).ok());
  box->release_idle();
  EXPECT_EQ(open_descriptors(), before + 1);
  EXPECT_THAT(names_in(maildir_ / "cur"), ElementsAre("2.b.host:2,"));
  box.reset();
  EXPECT_EQ(open_descriptors(), before);
}

TEST_F(MaildirStoreTest, MaildirReplacedWhileIdleIsNotServed) {
  put("cur", "1.a.host:2,", "one\n");
  auto box = open();
  ASSERT_TRUE(box);
  box->release_idle();
  // Another maildrop now sits at the path; this session holds the old one's lock, not its.
  fs::rename(maildir_, dir_.path() / "user" / "Maildir.old");
  fs::create_directories(maildir_ / "cur");
  fs::create_directories(maildir_ / "new");
  write_file(maildir_ / "cur" / "1.a.host:2,", "other\n");
  auto reader = box->open_message(0);
  ASSERT_FALSE(reader.ok());
  EXPECT_TRUE(reader.error().is(errc::temporary_failure));
  const std::array<std::size_t, 1> first{0};
  EXPECT_FALSE(box->expunge(first).ok());
  EXPECT_TRUE(fs::exists(maildir_ / "cur" / "1.a.host:2,"));
}

TEST_F(MaildirStoreTest, LockDiesWithItsProcess) {
  int ready[2];
  ASSERT_EQ(::pipe(ready), 0);
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    auto box = open_maildir(maildir_);
    const char byte = box.ok() ? 'y' : 'n';
    (void)!::write(ready[1], &byte, 1);
    ::pause();  // killed by the parent while holding the lock
    ::_exit(0);
  }
  ::close(ready[1]);
  char byte = 0;
  ASSERT_EQ(::read(ready[0], &byte, 1), 1);
  ::close(ready[0]);
  ASSERT_EQ(byte, 'y');
  auto busy = open_maildir(maildir_);
  ASSERT_FALSE(busy.ok());
  EXPECT_TRUE(busy.error().is(errc::in_use));
  ::kill(child, SIGKILL);
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  EXPECT_TRUE(open());
}

TEST_F(MaildirStoreTest, MovesNewToCurWithInfoSuffix) {
  put("new", "100.a.host", "a\n");
  put("new", "101.b.host:2,S", "b\n");
  MaildirOpenStats stats;
  auto box = open(stats);
  ASSERT_TRUE(box);
  EXPECT_EQ(stats.moved_from_new, 2u);
  EXPECT_TRUE(names_in(maildir_ / "new").empty());
  EXPECT_THAT(names_in(maildir_ / "cur"), ElementsAre("100.a.host:2,", "101.b.host:2,S"));
  EXPECT_THAT(uidls_of(*box), ElementsAre("100.a.host", "101.b.host"));
}

TEST_F(MaildirStoreTest, NameClashLeavesMessageInNew) {
  put("cur", "100.a.host:2,", "in cur\n");
  put("new", "100.a.host", "in new\n");
  MaildirOpenStats stats;
  auto box = open(stats);
  ASSERT_TRUE(box);
  EXPECT_EQ(stats.moved_from_new, 0u);
  EXPECT_EQ(read_file(maildir_ / "cur" / "100.a.host:2,"), "in cur\n");
  EXPECT_EQ(read_file(maildir_ / "new" / "100.a.host"), "in new\n");
  EXPECT_THAT(uidls_of(*box), ElementsAre("100.a.host"));
}

TEST_F(MaildirStoreTest, UidlSurvivesMoveAndFlagChanges) {
  auto name = deliver_to_maildir(maildir_, "hello\n");
  ASSERT_TRUE(name.ok());
  std::string uidl;
  {
    auto box = open();
    ASSERT_TRUE(box);
    ASSERT_EQ(box->messages().size(), 1u);
    uidl = box->messages()[0].uidl;
    EXPECT_EQ(uidl, *name);
  }
  fs::rename(maildir_ / "cur" / (*name + ":2,"), maildir_ / "cur" / (*name + ":2,RS"));
  auto box = open();
  ASSERT_TRUE(box);
  EXPECT_THAT(uidls_of(*box), ElementsAre(uidl));
}

TEST_F(MaildirStoreTest, OrdersByTimestampThenNameNumerically) {
  put("cur", "no-timestamp:2,", "x");
  put("cur", "1000.M5P1.h:2,", "x");
  put("cur", "200.M5P1.h:2,S", "x");
  put("cur", "200.M10P1.h:2,", "x");
  put("cur", "200.M9P1.h:2,", "x");
  put("cur", "30.M1P1.h:2,", "x");
  auto box = open();
  ASSERT_TRUE(box);
  EXPECT_THAT(uidls_of(*box), ElementsAre("30.M1P1.h", "200.M5P1.h", "200.M9P1.h", "200.M10P1.h",
                                          "1000.M5P1.h", "no-timestamp"));
}

TEST_F(MaildirStoreTest, SkipsDotFilesDirectoriesAndSpecialFiles) {
  put("cur", ".hidden:2,", "x");
  put("cur", "1.real:2,", "x");
  fs::create_directories(maildir_ / "cur" / "2.dir:2,");
  fs::create_symlink(maildir_ / "cur" / "1.real:2,", maildir_ / "cur" / "3.link:2,");
  fs::create_symlink(maildir_ / "cur" / "nowhere", maildir_ / "cur" / "4.dangling:2,");
  ASSERT_EQ(::mkfifo((maildir_ / "cur" / "5.fifo:2,").c_str(), 0600), 0);
  fs::create_directories(maildir_ / "new" / "6.newdir");
  auto box = open();
  ASSERT_TRUE(box);
  EXPECT_THAT(uidls_of(*box), ElementsAre("1.real"));
  EXPECT_TRUE(fs::is_directory(maildir_ / "new" / "6.newdir"));
}

TEST_F(MaildirStoreTest, OddNamesGetDigestUidls) {
  const std::string long_base = "1." + std::string(80, 'L');
  put("cur", long_base + ":2,", "long\n");
  put("cur", "2.with space:2,", "space\n");
  put("cur", ":2,S", "no base\n");
  put("cur", "3.nocolon", "plain\n");
  auto box = open();
  ASSERT_TRUE(box);
  ASSERT_EQ(box->messages().size(), 4u);
  EXPECT_EQ(box->messages()[0].uidl, maildir_uidl(long_base));
  EXPECT_EQ(box->messages()[1].uidl, maildir_uidl("2.with space"));
  EXPECT_EQ(box->messages()[2].uidl, "3.nocolon");
  EXPECT_EQ(box->messages()[3].uidl, maildir_uidl(""));
  for (const auto& message : box->messages()) {
    EXPECT_TRUE(is_valid_uidl(message.uidl)) << message.uidl;
  }
  EXPECT_TRUE(box->messages()[0].uidl.starts_with(kDigestUidlPrefix));
  EXPECT_THAT(sizes_of(*box), ElementsAre(6u, 7u, 7u, 9u));
}

TEST_F(MaildirStoreTest, CopiesWithTheSameBaseNameAreServedOnce) {
  put("cur", "7.dup:2,S", "seen copy\n");
  put("cur", "7.dup:2,RS", "replied copy\n");
  {
    MaildirOpenStats stats;
    auto box = open(stats);
    ASSERT_TRUE(box);
    EXPECT_EQ(stats.skipped_duplicates, 1u);
    ASSERT_THAT(uidls_of(*box), ElementsAre("7.dup"));
    const std::array<std::size_t, 1> first{0};
    ASSERT_TRUE(box->expunge(first).ok());
  }
  // The first name in order ("RS" < "S") was served and removed; the other copy is untouched
  // and becomes the message of the next session.
  EXPECT_THAT(names_in(maildir_ / "cur"), ElementsAre("7.dup:2,S"));
  auto box = open();
  ASSERT_TRUE(box);
  EXPECT_THAT(uidls_of(*box), ElementsAre("7.dup"));
}

TEST_F(MaildirStoreTest, SizeFromWFieldIsTrustedWithoutReading) {
  put("cur", "1.a,S=5,W=999:2,", "short\n");
  MaildirOpenStats stats;
  auto box = open(stats);
  ASSERT_TRUE(box);
  EXPECT_THAT(sizes_of(*box), ElementsAre(999u));
  EXPECT_EQ(stats.sizes_from_names, 1u);
  EXPECT_EQ(stats.sizes_computed, 0u);
  EXPECT_FALSE(stats.cache_written);
  EXPECT_FALSE(fs::exists(maildir_ / kSizeCacheFileName));
}

TEST_F(MaildirStoreTest, ComputesSizesWithCrlfLineEnds) {
  put("cur", "1.bare-lf:2,", "a\nb\n");
  put("cur", "2.crlf:2,", "a\r\nb\r\n");
  put("cur", "3.mixed:2,", "a\r\nb\nc\rd");
  put("cur", "4.no-final-newline:2,", "abc");
  put("cur", "5.empty:2,", "");
  put("cur", "6.bad-w,S=3,W=abc:2,", "x\ny\n");
  put("cur", "7.overflow,W=99999999999999999999999:2,", "z\n");
  put("cur", "8.empty-w,W=:2,", "\n");
  // ",S=" is the on-disk size (LF line ends): not the wire size.
  put("cur", "9.only-s,S=4:2,", "q\nr\n");
  MaildirOpenStats stats;
  auto box = open(stats);
  ASSERT_TRUE(box);
  EXPECT_THAT(sizes_of(*box), ElementsAre(6u, 6u, 9u, 3u, 0u, 6u, 3u, 2u, 6u));
  EXPECT_EQ(stats.sizes_computed, 9u);
  EXPECT_TRUE(stats.cache_written);
}

TEST_F(MaildirStoreTest, UnreadableMessageIsLeftOutAndLeftAlone) {
  if (::geteuid() == 0) GTEST_SKIP() << "root reads files without read permission";
  put("cur", "1.locked:2,", "secret\n");
  put("cur", "2.open:2,", "fine\n");
  ASSERT_EQ(::chmod((maildir_ / "cur" / "1.locked:2,").c_str(), 0), 0);
  MaildirOpenStats stats;
  auto box = open(stats);
  ASSERT_TRUE(box);
  EXPECT_EQ(stats.skipped_unreadable, 1u);
  EXPECT_THAT(uidls_of(*box), ElementsAre("2.open"));
  EXPECT_TRUE(fs::exists(maildir_ / "cur" / "1.locked:2,"));
}

TEST_F(MaildirStoreTest, LargeMessageSizeSpansReadChunks) {
  std::string big;
  for (int i = 0; i < 20000; ++i) big += "line of text\n";  // 260,000 bytes, several chunks
  big += "\r";
  put("cur", "1.big:2,", big);
  auto box = open();
  ASSERT_TRUE(box);
  EXPECT_THAT(sizes_of(*box), ElementsAre(big.size() + 20000));
}

TEST_F(MaildirStoreTest, SizeCacheIsWrittenOnceAndReused) {
  put("cur", "1.a:2,", "one\n");
  put("cur", "2.b:2,S", "two\r\n");
  put("cur", "3.c,W=10:2,", "ten-ish");
  {
    MaildirOpenStats stats;
    auto box = open(stats);
    ASSERT_TRUE(box);
    EXPECT_EQ(stats.sizes_computed, 2u);
    EXPECT_TRUE(stats.cache_written);
    EXPECT_THAT(sizes_of(*box), ElementsAre(5u, 5u, 10u));
  }
  const std::string cache = read_file(maildir_ / kSizeCacheFileName);
  EXPECT_THAT(cache, ::testing::StartsWith("mailport-sizes 1\n"));
  EXPECT_THAT(cache, ::testing::HasSubstr("1.a 5\n"));
  EXPECT_THAT(cache, ::testing::HasSubstr("2.b 5\n"));
  EXPECT_THAT(cache, ::testing::Not(::testing::HasSubstr("3.c")));
  struct stat before {};
  ASSERT_EQ(::stat((maildir_ / kSizeCacheFileName).c_str(), &before), 0);

  // Rewrite a body behind the cache's back: a second open that read it would see 9 octets.
  put("cur", "1.a:2,", "changed\n");
  MaildirOpenStats stats;
  auto box = open(stats);
  ASSERT_TRUE(box);
  EXPECT_EQ(stats.sizes_computed, 0u);
  EXPECT_EQ(stats.sizes_from_cache, 2u);
  EXPECT_EQ(stats.sizes_from_names, 1u);
  EXPECT_FALSE(stats.cache_written);
  EXPECT_THAT(sizes_of(*box), ElementsAre(5u, 5u, 10u));
  struct stat after {};
  ASSERT_EQ(::stat((maildir_ / kSizeCacheFileName).c_str(), &after), 0);
  EXPECT_EQ(before.st_ino, after.st_ino);
}

TEST_F(MaildirStoreTest, CacheFollowsFlagChanges) {
  put("cur", "1.a:2,", "one\n");
  { ASSERT_TRUE(open()); }
  fs::rename(maildir_ / "cur" / "1.a:2,", maildir_ / "cur" / "1.a:2,S");
  MaildirOpenStats stats;
  auto box = open(stats);
  ASSERT_TRUE(box);
  EXPECT_EQ(stats.sizes_from_cache, 1u);
  EXPECT_EQ(stats.sizes_computed, 0u);
}

TEST_F(MaildirStoreTest, CacheRewriteDropsVanishedMessages) {
  put("cur", "1.a:2,", "one\n");
  put("cur", "2.b:2,", "two\n");
  { ASSERT_TRUE(open()); }
  fs::remove(maildir_ / "cur" / "1.a:2,");
  put("cur", "3.c:2,", "three\n");
  MaildirOpenStats stats;
  auto box = open(stats);
  ASSERT_TRUE(box);
  EXPECT_EQ(stats.sizes_computed, 1u);
  EXPECT_EQ(stats.sizes_from_cache, 1u);
  EXPECT_TRUE(stats.cache_written);
  const std::string cache = read_file(maildir_ / kSizeCacheFileName);
  EXPECT_EQ(cache.find("1.a "), std::string::npos);
  EXPECT_THAT(cache, ::testing::HasSubstr("2.b 5\n"));
  EXPECT_THAT(cache, ::testing::HasSubstr("3.c 7\n"));
}

TEST_F(MaildirStoreTest, BrokenCacheFileOnlyCostsARecomputation) {
  put("cur", "1.a:2,", "one\n");
  put("cur", "2.b:2,", "two\n");
  write_file(maildir_ / kSizeCacheFileName, "mailport-sizes 1\n1.a 77\n1.a\n2.b x\n 5\n2.b 9");
  MaildirOpenStats stats;
  auto box = open(stats);
  ASSERT_TRUE(box);
  // "1.a 77" is a complete line and trusted; the torn last line "2.b 9" is not.
  EXPECT_THAT(sizes_of(*box), ElementsAre(77u, 5u));
  EXPECT_EQ(stats.sizes_computed, 1u);

  write_file(maildir_ / kSizeCacheFileName, "some other format\n1.a 77\n");
  fs::remove(maildir_ / "cur" / "2.b:2,");
  box.reset();
  box = open(stats);
  ASSERT_TRUE(box);
  EXPECT_THAT(sizes_of(*box), ElementsAre(5u));
}

TEST_F(MaildirStoreTest, ManyMessagesWithWFieldsAreListedWithoutReadingBodies) {
  constexpr int kCount = 3000;
  for (int i = 0; i < kCount; ++i) {
    put("cur", std::to_string(1000 + i) + ".M1P1.h,S=1,W=" + std::to_string(i) + ":2,", "");
  }
  MaildirOpenStats stats;
  auto box = open(stats);
  ASSERT_TRUE(box);
  ASSERT_EQ(box->messages().size(), static_cast<std::size_t>(kCount));
  EXPECT_EQ(stats.sizes_computed, 0u);
  EXPECT_EQ(box->messages()[kCount - 1].octets, static_cast<std::uint64_t>(kCount - 1));
}

TEST_F(MaildirStoreTest, MessageMovedBackToNewIsFoundThere) {
  put("cur", "1.a:2,", "one\n");
  auto box = open();
  ASSERT_TRUE(box);
  fs::rename(maildir_ / "cur" / "1.a:2,", maildir_ / "new" / "1.a");
  auto reader = box->open_message(0);
  ASSERT_TRUE(reader.ok());
  std::array<char, 16> buffer{};
  auto n = (*reader)->read(buffer);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(std::string(buffer.data(), *n), "one\n");
  const std::array<std::size_t, 1> first{0};
  EXPECT_TRUE(box->expunge(first).ok());
  EXPECT_TRUE(names_in(maildir_ / "new").empty());
}

TEST_F(MaildirStoreTest, ExpungeStopsAtTheFirstRealError) {
  put("cur", "1.a:2,", "one\n");
  put("cur", "2.b:2,", "two\n");
  put("cur", "3.c:2,", "three\n");
  auto box = open();
  ASSERT_TRUE(box);
  // A directory where the message was: unlink() fails with EISDIR, which is not "already gone".
  fs::remove(maildir_ / "cur" / "2.b:2,");
  fs::create_directory(maildir_ / "cur" / "2.b:2,");
  const std::array<std::size_t, 3> all{0, 1, 2};
  auto result = box->expunge(all);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().code, std::error_code(EISDIR, std::generic_category()));
  EXPECT_THAT(names_in(maildir_ / "cur"), ElementsAre("2.b:2,", "3.c:2,"));
}

TEST_F(MaildirStoreTest, StoreExpandsTheTemplate) {
  MaildirStore store("maildir:" + (dir_.path() / "%d" / "%n").string());
  auto box = store.open(UserContext{"carol@example.net", ""});
  ASSERT_TRUE(box.ok());
  EXPECT_TRUE(fs::is_directory(dir_.path() / "example.net" / "carol" / "cur"));
  auto evil = store.open(UserContext{"..@example.net", ""});
  ASSERT_FALSE(evil.ok());
  EXPECT_TRUE(evil.error().is(errc::invalid_input));
}

}  // namespace
}  // namespace mailport::store::testing

namespace mailport::store::testing {
namespace {

TEST_F(MaildirStoreTest, MarkRetrievedSetsTheSeenFlagAndItsTime) {
  put("cur", "100.a.host:2,", "a\n");
  put("cur", "101.b.host:2,RF", "b\n");
  put("cur", "102.c.host:2,", "c\n");
  auto box = open();
  ASSERT_TRUE(box);
  const std::size_t retrieved[] = {0, 1};
  ASSERT_TRUE(box->mark_retrieved(retrieved).ok());
  EXPECT_THAT(names_in(maildir_ / "cur"),
              ElementsAre("100.a.host:2,S", "101.b.host:2,FRS", "102.c.host:2,"));
  const auto now = std::chrono::system_clock::now();
  auto soon = box->retrieved_before(now + std::chrono::hours(1));
  ASSERT_TRUE(soon.ok());
  EXPECT_THAT(*soon, ElementsAre(0u, 1u));
  auto long_ago = box->retrieved_before(now - std::chrono::hours(1));
  ASSERT_TRUE(long_ago.ok());
  EXPECT_TRUE(long_ago->empty()) << "just retrieved: not old enough to expire";
  // The renamed files are still found by later operations in the same session.
  const std::size_t first[] = {0};
  EXPECT_TRUE(box->open_message(0).ok());
  EXPECT_TRUE(box->expunge(first).ok());
  EXPECT_THAT(names_in(maildir_ / "cur"), ElementsAre("101.b.host:2,FRS", "102.c.host:2,"));
}

TEST_F(MaildirStoreTest, MarkRetrievedFollowsAMessageRenamedBehindOurBack) {
  put("cur", "100.a.host:2,", "a\n");
  auto box = open();
  ASSERT_TRUE(box);
  fs::rename(maildir_ / "cur" / "100.a.host:2,", maildir_ / "cur" / "100.a.host:2,F");
  const std::size_t retrieved[] = {0};
  ASSERT_TRUE(box->mark_retrieved(retrieved).ok());
  EXPECT_THAT(names_in(maildir_ / "cur"), ElementsAre("100.a.host:2,FS"));
}

}  // namespace
}  // namespace mailport::store::testing
