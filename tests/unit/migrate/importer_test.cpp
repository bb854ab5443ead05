// import_user() on a scratch Maildir: what gets mapped, flagged and written.
#include "migrate/importer.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>

#include "store/uidl_map.hpp"
#include "support/temp_dir.hpp"

namespace mailport::migrate {
namespace {

namespace fs = std::filesystem;
using test_support::read_file;
using test_support::TempDir;
using test_support::write_file;

class ImporterTest : public ::testing::Test {
 protected:
  ImporterTest() : maildir_(dir_.path() / "alice" / "Maildir") {
    for (const char* sub : {"cur", "new", "tmp"}) fs::create_directories(maildir_ / sub);
    options_.uidl_format = *UidlTemplate::parse("%08Xu%08Xv");
  }
  void add(const std::string& folder, const std::string& name,
           std::string_view body = "S: x\n\nb\n") {
    write_file(maildir_ / folder / name, body);
  }
  Result<UserPlan> run() { return import_user("alice", maildir_, options_, nullptr); }

  TempDir dir_;
  fs::path maildir_;
  ImportOptions options_;
};

TEST_F(ImporterTest, DovecotUidlistWithFormatAndSavedUidl) {
  add("cur", "1700000001.M1P1.h:2,S");
  add("new", "1700000002.M2P1.h");
  add("cur", "1700000003.M3P1.h:2,");  // not in the uidlist: Dovecot never showed it
  write_file(maildir_ / "dovecot-uidlist",
             "3 V1764000000 N3 Gabc\n1 :1700000001.M1P1.h\n2 P-saved- :1700000002.M2P1.h\n");
  auto plan = run();
  ASSERT_TRUE(plan.ok()) << plan.error().describe();
  ASSERT_EQ(plan->messages.size(), 3u);
  EXPECT_EQ(plan->messages[0].uidl, "0000000169248100");
  EXPECT_EQ(plan->messages[1].uidl, "-saved-");
  EXPECT_EQ(plan->messages[2].uidl, "1700000003.M3P1.h");
  EXPECT_EQ(plan->added, 2u);
  EXPECT_EQ(plan->without_old_uidl(), 1u);
  EXPECT_EQ(read_file(maildir_ / store::kUidlMapFileName),
            "mailport-uidlmap 1\n1700000001.M1P1.h 0000000169248100\n1700000002.M2P1.h -saved-\n");
}

TEST_F(ImporterTest, DryRunWritesNothingAndRerunsAddNothing) {
  add("cur", "1700000001.M1P1.h:2,S");
  write_file(maildir_ / "dovecot-uidlist", "3 V1 N2\n1 :1700000001.M1P1.h\n");
  options_.dry_run = true;
  auto dry = run();
  ASSERT_TRUE(dry.ok());
  EXPECT_EQ(dry->added, 1u);
  EXPECT_FALSE(fs::exists(maildir_ / store::kUidlMapFileName));
  options_.dry_run = false;
  ASSERT_TRUE(run().ok());
  auto again = run();
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->added, 0u);
  EXPECT_EQ(again->messages[0].uidl, "0000000100000001");
}

TEST_F(ImporterTest, CollisionsAreFlaggedAndTheLaterMessageKeepsItsOwn) {
  add("cur", "1700000001.M1P1.h:2,", "X-UIDL: same\n\nb\n");
  add("cur", "1700000002.M2P1.h:2,", "x-uidl:   same  \n\nb\n");
  add("cur", "1700000003.M3P1.h:2,", "Subject: no header\n\nX-UIDL: in-body\n");
  options_.source = ImportSource::xuidl;
  auto plan = run();
  ASSERT_TRUE(plan.ok()) << plan.error().describe();
  EXPECT_EQ(plan->messages[0].uidl, "same");
  EXPECT_EQ(plan->messages[1].uidl, "1700000002.M2P1.h");
  EXPECT_TRUE(plan->messages[1].collision);
  EXPECT_EQ(plan->messages[2].uidl, "1700000003.M3P1.h");
  EXPECT_EQ(plan->collisions(), 1u);
  EXPECT_EQ(plan->without_old_uidl(), 1u);
  EXPECT_EQ(plan->added, 1u);
}

TEST_F(ImporterTest, AnExistingMappingIsNeverRewritten) {
  add("cur", "1700000001.M1P1.h:2,S");
  write_file(maildir_ / store::kUidlMapFileName, "mailport-uidlmap 1\n1700000001.M1P1.h first\n");
  write_file(maildir_ / "dovecot-uidlist", "3 V1 N2\n1 :1700000001.M1P1.h\n");
  auto plan = run();
  ASSERT_TRUE(plan.ok());
  EXPECT_EQ(plan->messages[0].uidl, "first");
  EXPECT_TRUE(plan->messages[0].kept_existing);
  EXPECT_EQ(read_file(maildir_ / store::kUidlMapFileName),
            "mailport-uidlmap 1\n1700000001.M1P1.h first\n");
}

TEST_F(ImporterTest, CourierSizelist) {
  add("cur", "1700000001.M1P1.h:2,S");
  write_file(maildir_ / "courierpop3dsizelist",
             "/3 2 1700000000\n1700000001.M1P1.h:2,S 9 1:1700000000:0\n");
  options_.source = ImportSource::courier;
  auto plan = run();
  ASSERT_TRUE(plan.ok()) << plan.error().describe();
  EXPECT_EQ(plan->messages[0].uidl, "UID1-1700000000");
}

TEST_F(ImporterTest, BrokenStateFileIsAnErrorNamingFileAndLine) {
  add("cur", "1700000001.M1P1.h:2,S");
  write_file(maildir_ / "dovecot-uidlist", "3 V1 N2\nnonsense\n");
  auto plan = run();
  ASSERT_FALSE(plan.ok());
  EXPECT_THAT(plan.error().message, ::testing::HasSubstr("dovecot-uidlist:2:"));
}

}  // namespace
}  // namespace mailport::migrate
