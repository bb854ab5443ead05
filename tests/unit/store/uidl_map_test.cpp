// The imported UIDL map: file format, append-only rules, and how a Maildir snapshot uses it.
#include "store/uidl_map.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "store/maildir_name.hpp"
#include "store/maildir_store.hpp"
#include "support/temp_dir.hpp"

namespace mailport::store::testing {
namespace {

using test_support::read_file;
using test_support::TempDir;
using test_support::write_file;

namespace fs = std::filesystem;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

std::vector<std::string> uidls_of(const Mailbox& box) {
  std::vector<std::string> out;
  for (const auto& message : box.messages()) out.push_back(message.uidl);
  return out;
}

TEST(UidlMapParse, ReadsEntriesInOrder) {
  auto map = parse_uidl_map("mailport-uidlmap 1\nA.1.h 0000000160000001\nB.2.h UID7-9\n", "m");
  ASSERT_TRUE(map.ok()) << map.error().describe();
  EXPECT_EQ(map->size(), 2u);
  EXPECT_EQ(map->find("A.1.h"), "0000000160000001");
  EXPECT_EQ(map->find("B.2.h"), "UID7-9");
  EXPECT_FALSE(map->find("C.3.h"));
}

TEST(UidlMapParse, ErrorsNameTheLine) {
  const auto expect_error = [](std::string_view text, std::string_view needle) {
    auto map = parse_uidl_map(text, "maildir/mailport-uidlmap");
    ASSERT_FALSE(map.ok()) << text;
    EXPECT_THAT(map.error().message, HasSubstr(needle)) << text;
  };
  expect_error("something else\n", "mailport-uidlmap:1: not a UIDL map");
  expect_error("mailport-uidlmap 1\nA.1.h\n", "mailport-uidlmap:2: expected");
  expect_error("mailport-uidlmap 1\nA.1.h x y\n", ":2: invalid UIDL");
  expect_error("mailport-uidlmap 1\nA.1.h x\nA.1.h y\n", ":3: message A.1.h mapped twice");
  expect_error("mailport-uidlmap 1\nA.1.h x", ":2: line not terminated");
  expect_error("", ":1: empty file");
  expect_error("mailport-uidlmap 1\nA.1.h " + std::string(71, 'u') + "\n", ":2: invalid UIDL");
}

TEST(UidlMapAdd, NeverReplacesAMapping) {
  UidlMap map;
  EXPECT_EQ(*map.add("A.1.h", "old-1"), UidlMap::AddResult::added);
  EXPECT_EQ(*map.add("A.1.h", "old-1"), UidlMap::AddResult::already_there);
  EXPECT_EQ(*map.add("A.1.h", "other"), UidlMap::AddResult::conflict);
  EXPECT_EQ(map.find("A.1.h"), "old-1");
  EXPECT_FALSE(map.add("with space", "x").ok());
  EXPECT_FALSE(map.add("B.2.h", "bad uidl").ok());
  EXPECT_FALSE(map.add("B.2.h", "").ok());
}

TEST(UidlMapFile, SaveAndLoadRoundTripAndMissingIsEmpty) {
  TempDir dir;
  auto missing = UidlMap::load_file(dir.path() / "Maildir");
  ASSERT_TRUE(missing.ok());
  EXPECT_TRUE(missing->empty());
  UidlMap map;
  ASSERT_TRUE(map.add("A.1.h", "u1").ok());
  ASSERT_TRUE(map.add("B.2.h", "u2").ok());
  ASSERT_TRUE(map.save_file(dir.path() / "Maildir").ok());
  EXPECT_EQ(read_file(dir.path() / "Maildir" / kUidlMapFileName),
            "mailport-uidlmap 1\nA.1.h u1\nB.2.h u2\n");
  EXPECT_FALSE(fs::exists(dir.path() / "Maildir" / "mailport-uidlmap.tmp"));
  auto loaded = UidlMap::load_file(dir.path() / "Maildir");
  ASSERT_TRUE(loaded.ok());
  EXPECT_EQ(loaded->entries(), map.entries());
}

TEST(UidlAssigner, MappedWinsCollisionsFallBackAndListingStaysUnique) {
  UidlMap map;
  ASSERT_TRUE(map.add("A", "same").ok());
  ASSERT_TRUE(map.add("B", "same").ok());  // two messages with one old UIDL
  ASSERT_TRUE(map.add("C", "D").ok());     // an old UIDL equal to a later message's own one
  UidlAssigner assigner(map);
  const auto a = assigner.assign("A", "A");
  const auto b = assigner.assign("B", "B");
  const auto c = assigner.assign("C", "C");
  const auto d = assigner.assign("D", "D");
  EXPECT_EQ(a.uidl, "same");
  EXPECT_TRUE(a.from_map);
  EXPECT_EQ(b.uidl, "B");
  EXPECT_TRUE(b.collided);
  EXPECT_EQ(c.uidl, "D");
  EXPECT_TRUE(d.collided);
  EXPECT_EQ(d.uidl, "D-2");
}

class MaildirWithMapTest : public ::testing::Test {
 protected:
  MaildirWithMapTest() : maildir_(dir_.path() / "Maildir") {
    for (const char* sub : {"cur", "new", "tmp"}) fs::create_directories(maildir_ / sub);
  }
  void add(const std::string& name) { write_file(maildir_ / "cur" / name, "Subject: x\n\nbody\n"); }
  std::unique_ptr<Mailbox> open(MaildirOpenStats& stats) {
    auto box = open_maildir(maildir_, stats);
    EXPECT_TRUE(box.ok()) << (box.ok() ? "" : box.error().describe());
    return box.ok() ? std::move(*box) : nullptr;
  }

  TempDir dir_;
  fs::path maildir_;
};

TEST_F(MaildirWithMapTest, MappedUidlsAreListedAndOthersKeepTheirOwn) {
  add("1700000001.M1P1.h:2,S");
  add("1700000002.M2P1.h:2,");
  add("1700000003.M3P1.h:2,");
  write_file(maildir_ / kUidlMapFileName,
             "mailport-uidlmap 1\n1700000001.M1P1.h 00000001abc\n1700000002.M2P1.h 00000002abc\n");
  MaildirOpenStats stats;
  auto box = open(stats);
  ASSERT_TRUE(box);
  EXPECT_THAT(uidls_of(*box), ElementsAre("00000001abc", "00000002abc", "1700000003.M3P1.h"));
  EXPECT_EQ(stats.uidls_from_map, 2u);
  EXPECT_EQ(stats.uidl_collisions, 0u);
  EXPECT_FALSE(stats.uidl_map_error);
}

TEST_F(MaildirWithMapTest, ABrokenMapNeverBlocksMail) {
  add("1700000001.M1P1.h:2,");
  write_file(maildir_ / kUidlMapFileName, "mailport-uidlmap 1\nbroken-line\n");
  MaildirOpenStats stats;
  auto box = open(stats);
  ASSERT_TRUE(box);
  EXPECT_THAT(uidls_of(*box), ElementsAre("1700000001.M1P1.h"));
  ASSERT_TRUE(stats.uidl_map_error);
  EXPECT_THAT(*stats.uidl_map_error, HasSubstr("mailport-uidlmap:2"));
}

TEST_F(MaildirWithMapTest, ACollisionFallsBackForTheLaterMessage) {
  add("1700000001.M1P1.h:2,");
  add("1700000002.M2P1.h:2,");
  write_file(maildir_ / kUidlMapFileName,
             "mailport-uidlmap 1\n1700000001.M1P1.h dup\n1700000002.M2P1.h dup\n");
  MaildirOpenStats stats;
  auto box = open(stats);
  ASSERT_TRUE(box);
  EXPECT_THAT(uidls_of(*box), ElementsAre("dup", "1700000002.M2P1.h"));
  EXPECT_EQ(stats.uidl_collisions, 1u);
  EXPECT_THAT(stats.collided, ElementsAre("1700000002.M2P1.h"));
}

TEST_F(MaildirWithMapTest, TheServerNeverWritesTheMap) {
  add("1700000001.M1P1.h:2,");
  const std::string text = "mailport-uidlmap 1\n1700000001.M1P1.h old\n";
  write_file(maildir_ / kUidlMapFileName, text);
  MaildirOpenStats stats;
  {
    auto box = open(stats);
    ASSERT_TRUE(box);
    const std::size_t first = 0;
    ASSERT_TRUE(box->expunge(std::span(&first, 1)).ok());
  }
  EXPECT_EQ(read_file(maildir_ / kUidlMapFileName), text);
}

}  // namespace
}  // namespace mailport::store::testing
