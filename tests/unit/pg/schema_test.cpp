#include "pg/schema.hpp"

#include <gtest/gtest.h>

namespace mailport::pg {
namespace {

TEST(Schema, VersionsStartAtOneAndIncreaseByOne) {
  int expected = 1;
  for (const Migration& migration : migrations()) {
    EXPECT_EQ(migration.version, expected++);
    EXPECT_FALSE(migration.sql.empty());
    EXPECT_FALSE(migration.description.empty());
  }
  EXPECT_EQ(latest_version(), expected - 1);
}

TEST(Schema, AnEmptyDatabaseGetsEveryMigrationInOrder) {
  auto pending = pending_migrations(0);
  ASSERT_TRUE(pending.ok());
  ASSERT_EQ(pending->size(), migrations().size());
  EXPECT_EQ(pending->front().version, 1);
}

TEST(Schema, AnUpToDateDatabaseGetsNothing) {
  auto pending = pending_migrations(latest_version());
  ASSERT_TRUE(pending.ok());
  EXPECT_TRUE(pending->empty());
}

TEST(Schema, ANewerDatabaseIsRefusedNotDowngraded) {
  auto pending = pending_migrations(latest_version() + 1);
  ASSERT_FALSE(pending.ok());
  EXPECT_TRUE(pending.error().is(errc::permanent_failure));
  EXPECT_NE(pending.error().message.find("newer"), std::string::npos);
}

TEST(Schema, BodiesAreApartFromTheRowsThatListingsRead) {
  const std::string_view first = migrations().front().sql;
  EXPECT_NE(first.find("CREATE TABLE message_bodies"), std::string_view::npos);
  EXPECT_NE(first.find("SET STORAGE EXTERNAL"), std::string_view::npos);
  EXPECT_NE(first.find("messages_mailbox_order"), std::string_view::npos);
}

}  // namespace
}  // namespace mailport::pg
