// The mbox backend against real files: delivery with the MTA's locks, the index, the session
// lock, and UPDATE rewriting the spool while keeping mail that arrived during the session.
#include "store/mbox_store.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "store/mbox_lock.hpp"
#include "support/temp_dir.hpp"

namespace mailport::store::testing {
namespace {

using test_support::read_file;
using test_support::TempDir;
using test_support::write_file;

namespace fs = std::filesystem;
using namespace std::chrono_literals;

const MboxOptions kQuick{.lock_timeout = 200ms};

std::string read_message(Mailbox& box, std::size_t index) {
  auto reader = box.open_message(index);
  EXPECT_TRUE(reader.ok());
  std::string text;
  std::array<char, 7> buffer{};
  for (;;) {
    auto n = (*reader)->read(buffer);
    EXPECT_TRUE(n.ok());
    if (!n.ok() || *n == 0) return text;
    text.append(buffer.data(), *n);
  }
}

std::unique_ptr<Mailbox> open_ok(const fs::path& spool, MboxOpenStats* stats = nullptr) {
  auto box = open_mbox(spool, kQuick, stats);
  EXPECT_TRUE(box.ok()) << box.error().describe();
  return box.ok() ? std::move(*box) : nullptr;
}

class MboxStoreTest : public ::testing::Test {
 protected:
  fs::path spool() const { return dir_.path() / "mail" / "alice"; }
  void deliver(std::string_view message, std::string_view sender = "s@example.org") {
    auto done = deliver_to_mbox(spool(), sender, message, kQuick);
    ASSERT_TRUE(done.ok()) << done.error().describe();
  }
  TempDir dir_;
};

TEST_F(MboxStoreTest, DeliveredMessagesAreListedAndReadBack) {
  deliver("Subject: one\n\nFrom the start\n");
  deliver("Subject: two\n\nno final newline", "");
  auto box = open_ok(spool());
  ASSERT_EQ(box->messages().size(), 2u);
  EXPECT_EQ(read_message(*box, 0), "Subject: one\n\n>From the start\n");
  EXPECT_EQ(read_message(*box, 1), "Subject: two\n\nno final newline\n");
  EXPECT_EQ(box->messages()[0].octets, 33u);
  EXPECT_NE(box->messages()[0].uidl, box->messages()[1].uidl);
  const std::string raw = read_file(spool());
  EXPECT_TRUE(raw.starts_with("From s@example.org ")) << raw;
  EXPECT_NE(raw.find("\n\nFrom MAILER-DAEMON "), std::string::npos) << raw;
  EXPECT_TRUE(raw.ends_with("no final newline\n\n"));
  EXPECT_FALSE(fs::exists(spool().string() + ".lock"));
}

TEST_F(MboxStoreTest, MissingSpoolIsAnEmptyMaildropAndIsNotCreated) {
  auto box = open_ok(spool());
  EXPECT_TRUE(box->messages().empty());
  EXPECT_TRUE(box->expunge(std::vector<std::size_t>{}).ok());
  EXPECT_FALSE(fs::exists(spool()));
}

TEST_F(MboxStoreTest, SpoolWithoutTrailingEmptyLineGetsOneBeforeTheNextMessage) {
  fs::create_directories(spool().parent_path());
  write_file(spool(), "From x Mon\nSubject: old\n\nold body");
  deliver("Subject: new\n\nnew\n");
  auto box = open_ok(spool());
  ASSERT_EQ(box->messages().size(), 2u);
  EXPECT_EQ(read_message(*box, 0), "Subject: old\n\nold body\n");
  EXPECT_EQ(read_message(*box, 1), "Subject: new\n\nnew\n");
}

TEST_F(MboxStoreTest, SecondLoginReadsOnlyNewMail) {
  deliver("Subject: one\n\n" + std::string(100000, 'x') + "\n");
  MboxOpenStats first;
  const std::string uidl = open_ok(spool(), &first)->messages().at(0).uidl;
  EXPECT_TRUE(first.index_rebuilt);
  EXPECT_GT(first.bytes_scanned, 100000u);
  deliver("Subject: two\n\nsmall\n");
  MboxOpenStats second;
  auto box = open_ok(spool(), &second);
  EXPECT_FALSE(second.index_rebuilt);
  EXPECT_EQ(second.messages_from_index, 1u);
  EXPECT_LT(second.bytes_scanned, 200u);
  ASSERT_EQ(box->messages().size(), 2u);
  EXPECT_EQ(box->messages()[0].uidl, uidl);
  EXPECT_EQ(read_message(*box, 1), "Subject: two\n\nsmall\n");
}

TEST_F(MboxStoreTest, SpoolRewrittenByAnotherProgramIsScannedAgain) {
  deliver("Subject: one\n\nbody\n");
  deliver("Subject: two\n\nbody\n");
  open_ok(spool());
  // A mail reader removes the first message in place (same inode, shorter file).
  const std::string raw = read_file(spool());
  const std::size_t second = raw.find("\n\nFrom ") + 2;
  {
    std::ofstream out(spool(), std::ios::binary | std::ios::trunc);
    out << raw.substr(second);
  }
  MboxOpenStats stats;
  auto box = open_ok(spool(), &stats);
  EXPECT_TRUE(stats.index_rebuilt);
  ASSERT_EQ(box->messages().size(), 1u);
  EXPECT_EQ(read_message(*box, 0), "Subject: two\n\nbody\n");
}

TEST_F(MboxStoreTest, OneSessionAtATime) {
  deliver("a\n");
  auto first = open_ok(spool());
  auto second = open_mbox(spool(), kQuick, nullptr);
  ASSERT_FALSE(second.ok());
  EXPECT_TRUE(second.error().is(errc::in_use));
  first.reset();
  EXPECT_TRUE(open_mbox(spool(), kQuick, nullptr).ok());
}

TEST_F(MboxStoreTest, UpdateKeepsMailThatArrivedDuringTheSession) {
  deliver("Subject: one\n\n1\n");
  deliver("Subject: two\n\n2\n");
  deliver("Subject: three\n\n3\n");
  struct stat before {};
  ::chmod(spool().c_str(), 0640);
  auto box = open_ok(spool());
  deliver("Subject: late\n\nlate\n");
  const std::vector<std::size_t> deleted = {0, 2};
  ASSERT_TRUE(box->expunge(deleted).ok());
  box.reset();
  ASSERT_EQ(::stat(spool().c_str(), &before), 0);
  EXPECT_EQ(before.st_mode & 0777, 0640u);
  MboxOpenStats stats;
  auto after = open_ok(spool(), &stats);
  ASSERT_EQ(after->messages().size(), 2u);
  EXPECT_EQ(read_message(*after, 0), "Subject: two\n\n2\n");
  EXPECT_EQ(read_message(*after, 1), "Subject: late\n\nlate\n");
  EXPECT_EQ(stats.messages_from_index, 1u);
  EXPECT_FALSE(stats.index_rebuilt);
  EXPECT_FALSE(fs::exists(spool().parent_path() / ".alice.mailport-new"));
}

TEST_F(MboxStoreTest, UpdateRefusesASpoolChangedBehindItsBack) {
  deliver("Subject: one\n\n1\n");
  auto box = open_ok(spool());
  write_file(spool(), "From other Mon\nSubject: replaced\n\nx\n");
  const std::vector<std::size_t> deleted = {0};
  auto result = box->expunge(deleted);
  ASSERT_FALSE(result.ok());
  EXPECT_TRUE(result.error().is(errc::temporary_failure));
  EXPECT_EQ(read_file(spool()), "From other Mon\nSubject: replaced\n\nx\n");
}

TEST_F(MboxStoreTest, DeletingEverythingLeavesAnEmptySpool) {
  deliver("a\n");
  auto box = open_ok(spool());
  const std::vector<std::size_t> deleted = {0};
  ASSERT_TRUE(box->expunge(deleted).ok());
  EXPECT_TRUE(fs::exists(spool()));
  EXPECT_EQ(fs::file_size(spool()), 0u);
}

TEST_F(MboxStoreTest, DeliveryWaitsForADotlockAndGivesUpAsInUse) {
  deliver("a\n");
  write_file(spool().string() + ".lock", "");
  const auto start = std::chrono::steady_clock::now();
  auto result = deliver_to_mbox(spool(), "s", "b\n", kQuick);
  EXPECT_GE(std::chrono::steady_clock::now() - start, 200ms);
  ASSERT_FALSE(result.ok());
  EXPECT_TRUE(result.error().is(errc::in_use));
  EXPECT_TRUE(fs::exists(spool().string() + ".lock"));
}

TEST_F(MboxStoreTest, StaleDotlockIsRemoved) {
  deliver("a\n");
  const std::string lock = spool().string() + ".lock";
  write_file(lock, "");
  const auto old = fs::file_time_type::clock::now() - kStaleDotlockAge - 10s;
  fs::last_write_time(lock, old);
  deliver("b\n");
  EXPECT_FALSE(fs::exists(lock));
}

TEST_F(MboxStoreTest, FcntlLockOfAnotherProcessBlocksDelivery) {
  deliver("a\n");
  int ready[2];
  ASSERT_EQ(::pipe(ready), 0);
  const pid_t child = ::fork();
  if (child == 0) {
    const int fd = ::open(spool().c_str(), O_RDWR);
    struct flock lock {};
    lock.l_type = F_WRLCK;
    lock.l_whence = SEEK_SET;
    ::fcntl(fd, F_SETLK, &lock);
    (void)!::write(ready[1], "x", 1);
    ::sleep(2);
    ::_exit(0);
  }
  char c = 0;
  ASSERT_EQ(::read(ready[0], &c, 1), 1);
  auto blocked = deliver_to_mbox(spool(), "s", "b\n", kQuick);
  ::kill(child, SIGKILL);
  ::waitpid(child, nullptr, 0);
  ::close(ready[0]);
  ::close(ready[1]);
  ASSERT_FALSE(blocked.ok());
  EXPECT_TRUE(blocked.error().is(errc::in_use));
  EXPECT_FALSE(fs::exists(spool().string() + ".lock")) << "the dot-lock is released on failure";
  deliver("c\n");
}

TEST_F(MboxStoreTest, FailedWriteLeavesNoPartialMessage) {
  deliver("first\n");
  const std::string before = read_file(spool());
  // A file size limit makes the append fail half-way, like a full disk.
  const pid_t child = ::fork();
  if (child == 0) {
    ::signal(SIGXFSZ, SIG_IGN);
    struct rlimit limit {};
    limit.rlim_cur = limit.rlim_max = before.size() + 100;
    ::setrlimit(RLIMIT_FSIZE, &limit);
    auto result = deliver_to_mbox(spool(), "s", std::string(10000, 'x') + "\n", kQuick);
    ::_exit(result.ok() ? 1 : 0);
  }
  int status = 0;
  ::waitpid(child, &status, 0);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  EXPECT_EQ(read_file(spool()), before);
}

// The UIDL map of a spool: keyed by the UIDL mailport gives the message itself.
class MboxUidlMapTest : public MboxStoreTest {
 protected:
  MboxUidlMapTest() {
    deliver("Subject: one\n\n1\n");
    deliver("Subject: two\n\n2\n");
    deliver("Subject: three\n\n3\n");
    auto box = open_ok(spool());
    for (const auto& info : box->messages()) own_.push_back(info.uidl);
  }
  fs::path map_path() const { return spool().parent_path() / mbox_uidl_map_name(spool()); }
  std::vector<std::string> listed(MboxOpenStats* stats = nullptr,
                                  MboxUidls which = MboxUidls::mapped) {
    auto box = open_mbox(spool(), kQuick, stats, which);
    EXPECT_TRUE(box.ok());
    std::vector<std::string> out;
    if (box.ok()) {
      for (const auto& info : (*box)->messages()) out.push_back(info.uidl);
    }
    return out;
  }
  std::vector<std::string> own_;
};

TEST_F(MboxUidlMapTest, MappedMessagesListTheOldUidlOthersTheirOwn) {
  ASSERT_EQ(own_.size(), 3u);
  EXPECT_EQ(map_path().filename(), ".alice.mailport-uidlmap");
  write_file(map_path(), "mailport-uidlmap 1\n" + own_[0] + " 8f14251b9f9b1d44\n" + own_[2] +
                             " d98c1dd404b2008f\n");
  MboxOpenStats stats;
  EXPECT_EQ(listed(&stats),
            (std::vector<std::string>{"8f14251b9f9b1d44", own_[1], "d98c1dd404b2008f"}));
  EXPECT_EQ(stats.uidls_from_map, 2u);
  EXPECT_EQ(stats.uidl_collisions, 0u);
  EXPECT_EQ(listed(nullptr, MboxUidls::own), own_);  // what migrate import keys the map by
}

TEST_F(MboxUidlMapTest, AnOldUidlListedTwiceFallsBackToTheOwnOne) {
  write_file(map_path(), "mailport-uidlmap 1\n" + own_[0] + " same\n" + own_[1] + " same\n");
  MboxOpenStats stats;
  EXPECT_EQ(listed(&stats), (std::vector<std::string>{"same", own_[1], own_[2]}));
  EXPECT_EQ(stats.uidl_collisions, 1u);
  EXPECT_EQ(stats.collided, std::vector<std::string>{own_[1]});
}

TEST_F(MboxUidlMapTest, ABrokenMapNeverHoldsMailBack) {
  write_file(map_path(), "mailport-uidlmap 1\n" + own_[0] + "\n");
  MboxOpenStats stats;
  EXPECT_EQ(listed(&stats), own_);
  ASSERT_TRUE(stats.uidl_map_error.has_value());
  EXPECT_NE(stats.uidl_map_error->find(".alice.mailport-uidlmap:2:"), std::string::npos)
      << *stats.uidl_map_error;
}

TEST_F(MboxStoreTest, StoreExpandsTheTemplate) {
  MboxStore store((dir_.path() / "mail" / "%n").string(), kQuick);
  deliver("hello\n");
  auto box = store.open(UserContext{"alice@example.org", ""});
  ASSERT_TRUE(box.ok());
  EXPECT_EQ((*box)->messages().size(), 1u);
  EXPECT_FALSE(store.open(UserContext{"..", ""}).ok());
}

// The UIDL churn alarm on a spool: the record of the last listing lives beside it.
class ChurnMboxTest : public MboxStoreTest {
 protected:
  ChurnMboxTest() {
    for (int i = 0; i < 30; ++i) deliver("Subject: message " + std::to_string(i) + "\n\nbody\n");
  }
  fs::path seen_path() const { return spool().parent_path() / mbox_seen_uidls_name(spool()); }
  std::optional<ChurnFinding> open_and_close(std::size_t expunge = 0) {
    MboxOpenStats stats;
    const ChurnSettings settings;
    auto box = open_mbox(spool(), kQuick, &stats, MboxUidls::mapped, &settings);
    EXPECT_TRUE(box.ok()) << box.error().describe();
    if (box.ok() && expunge > 0) {
      std::vector<std::size_t> doomed;
      for (std::size_t i = 0; i < expunge; ++i) doomed.push_back(i);
      EXPECT_TRUE((*box)->expunge(doomed).ok());
    }
    return stats.churn;
  }
  // What a migration tool that rewrote every message's headers does: new digests, new UIDLs.
  void rewrite_headers() {
    std::string text = read_file(spool());
    for (auto at = text.find("Subject: "); at != std::string::npos;
         at = text.find("Subject: ", at + 1)) {
      text.insert(at + 9, "moved ");
    }
    write_file(spool(), text);
  }
};

TEST_F(ChurnMboxTest, RewrittenMessagesBehindTheServersBackRaiseTheAlarm) {
  EXPECT_FALSE(open_and_close());
  EXPECT_EQ(seen_path().filename(), ".alice.mailport-seen-uidls");
  EXPECT_EQ(fs::file_size(seen_path()), 8u + 30u * 8u);
  const auto written = fs::last_write_time(seen_path());
  EXPECT_FALSE(open_and_close());
  EXPECT_EQ(fs::last_write_time(seen_path()), written);  // same listing: not rewritten
  rewrite_headers();
  const auto finding = open_and_close();
  ASSERT_TRUE(finding);
  EXPECT_EQ(finding->seen, 30u);
  EXPECT_EQ(finding->missing, 30u);
  EXPECT_FALSE(open_and_close());  // the new listing is what clients see from now on
  EXPECT_FALSE(fs::exists(seen_path().string() + ".tmp"));
}

TEST_F(ChurnMboxTest, AVanishedSpoolIsChurnToo) {
  EXPECT_FALSE(open_and_close());
  fs::remove(spool());
  const auto finding = open_and_close();
  ASSERT_TRUE(finding);
  EXPECT_EQ(finding->missing, 30u);
}

TEST_F(ChurnMboxTest, DeletionsBySessionsAreNotChurn) {
  EXPECT_FALSE(open_and_close(25));
  EXPECT_FALSE(open_and_close());
  EXPECT_EQ(fs::file_size(seen_path()), 8u + 5u * 8u);
}

TEST_F(ChurnMboxTest, ABrokenRecordNeverHoldsMailBack) {
  write_file(seen_path(), "not a record");
  EXPECT_FALSE(open_and_close());
  EXPECT_EQ(fs::file_size(seen_path()), 8u + 30u * 8u);  // replaced by the current listing
  fs::remove(seen_path());
  fs::create_directory(seen_path());  // cannot be written at all
  EXPECT_FALSE(open_and_close());
  rewrite_headers();
  EXPECT_FALSE(open_and_close());
}

TEST_F(ChurnMboxTest, TheStoreLogsAndCountsTheAlarm) {
  int alarms = 0;
  ChurnSettings settings;
  settings.on_alarm = [&alarms] { ++alarms; };
  MboxStore store((dir_.path() / "mail" / "%u").string(), kQuick, settings);
  EXPECT_TRUE(store.open(UserContext{"alice", ""}).ok());
  rewrite_headers();
  EXPECT_TRUE(store.open(UserContext{"alice", ""}).ok());
  EXPECT_EQ(alarms, 1);
  EXPECT_TRUE(store.open(UserContext{"alice", ""}).ok());
  EXPECT_EQ(alarms, 1);
}

}  // namespace
}  // namespace mailport::store::testing
