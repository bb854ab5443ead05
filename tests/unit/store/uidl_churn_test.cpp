// The UIDL churn alarm: what counts as missing, and the per-Maildir record of the last listing.
#include "store/uidl_churn.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

#include "core/unique_fd.hpp"
#include "store/maildir_store.hpp"
#include "support/temp_dir.hpp"

namespace mailport::store::testing {
namespace {

using test_support::read_file;
using test_support::TempDir;
using test_support::write_file;

namespace fs = std::filesystem;

ChurnSettings percent(unsigned value) {
  ChurnSettings settings;
  settings.percent = value;
  return settings;
}

std::vector<std::uint64_t> hashes(int from, int to) {
  std::vector<std::uint64_t> out;
  for (int i = from; i < to; ++i) out.push_back(uidl_hash("uidl-" + std::to_string(i)));
  std::sort(out.begin(), out.end());
  return out;
}

TEST(CheckChurn, FiresAboveThePercentageOnlyWithEnoughSeen) {
  const ChurnSettings settings;  // 50%, at least 20
  EXPECT_FALSE(check_churn(hashes(0, 30), hashes(0, 30), settings));
  EXPECT_FALSE(check_churn(hashes(0, 30), hashes(15, 45), settings));  // exactly half
  const auto finding = check_churn(hashes(0, 30), hashes(16, 45), settings);
  ASSERT_TRUE(finding);
  EXPECT_EQ(finding->seen, 30u);
  EXPECT_EQ(finding->missing, 16u);
  EXPECT_FALSE(check_churn(hashes(0, 10), {}, settings));    // too few seen
  EXPECT_FALSE(check_churn(hashes(0, 30), {}, percent(0)));  // off
  EXPECT_TRUE(check_churn(hashes(0, 30), {}, percent(90)));
}

TEST(SeenUidls, SaveLoadAndForeignFiles) {
  TempDir dir;
  const UniqueFd fd(::open(dir.path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  EXPECT_TRUE(load_seen_uidls(fd.get()).empty());
  ASSERT_TRUE(save_seen_uidls(fd.get(), hashes(0, 100)).ok());
  EXPECT_EQ(load_seen_uidls(fd.get()), hashes(0, 100));
  EXPECT_EQ(fs::file_size(dir.path() / kSeenUidlsFileName), 8u + 800u);
  write_file(dir.path() / kSeenUidlsFileName, "something else entirely");
  EXPECT_TRUE(load_seen_uidls(fd.get()).empty());
}

// A maildrop whose every message was deleted saves an empty set; loading it must not copy into
// the empty vector's null buffer (undefined behaviour that UBSan in the asan stage reports).
TEST(SeenUidls, EmptySetSavesAndLoads) {
  TempDir dir;
  const UniqueFd fd(::open(dir.path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  ASSERT_TRUE(save_seen_uidls(fd.get(), {}).ok());
  EXPECT_EQ(fs::file_size(dir.path() / kSeenUidlsFileName), 8u);
  EXPECT_TRUE(load_seen_uidls(fd.get()).empty());
}

class ChurnMaildirTest : public ::testing::Test {
 protected:
  ChurnMaildirTest() : maildir_(dir_.path() / "Maildir") {
    for (const char* sub : {"cur", "new", "tmp"}) fs::create_directories(maildir_ / sub);
    for (int i = 0; i < 30; ++i) {
      write_file(maildir_ / "cur" / (std::to_string(1700000000 + i) + ".M1P1.old:2,S"), "x\n");
    }
  }
  std::optional<ChurnFinding> open_and_close(std::size_t expunge = 0) {
    MaildirOpenStats stats;
    const ChurnSettings settings;
    auto box = open_maildir(maildir_, stats, &settings);
    EXPECT_TRUE(box.ok());
    if (box.ok() && expunge > 0) {
      std::vector<std::size_t> doomed;
      for (std::size_t i = 0; i < expunge; ++i) doomed.push_back(i);
      EXPECT_TRUE((*box)->expunge(doomed).ok());
    }
    return stats.churn;
  }

  TempDir dir_;
  fs::path maildir_;
};

TEST_F(ChurnMaildirTest, RenamedMessagesBehindTheServersBackRaiseTheAlarm) {
  EXPECT_FALSE(open_and_close());
  EXPECT_FALSE(open_and_close());
  // A migration tool that renamed every message: new base names, new UIDLs.
  for (const auto& entry : fs::directory_iterator(maildir_ / "cur")) {
    const std::string name = entry.path().filename();
    fs::rename(entry.path(), maildir_ / "cur" / ("9" + name));
  }
  const auto finding = open_and_close();
  ASSERT_TRUE(finding);
  EXPECT_EQ(finding->seen, 30u);
  EXPECT_EQ(finding->missing, 30u);
  EXPECT_FALSE(open_and_close());  // the new listing is what clients see from now on
}

TEST_F(ChurnMaildirTest, DeletionsBySessionsAreNotChurn) {
  EXPECT_FALSE(open_and_close(25));
  EXPECT_FALSE(open_and_close());
}

}  // namespace
}  // namespace mailport::store::testing
