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
  auto todo = pending_migrations(0);
  ASSERT_TRUE(todo.ok());
  ASSERT_EQ(todo->size(), migrations().size());
  EXPECT_EQ(todo->front().version, 1);
}

TEST(Schema, AnUpToDateDatabaseGetsNothing) {
  auto todo = pending_migrations(latest_version());
  ASSERT_TRUE(todo.ok());
  EXPECT_TRUE(todo->empty());
}

TEST(Schema, ANewerDatabaseIsRefusedNotDowngraded) {
  auto todo = pending_migrations(latest_version() + 1);
  ASSERT_FALSE(todo.ok());
  EXPECT_TRUE(todo.error().is(errc::permanent_failure));
  EXPECT_NE(todo.error().message.find("newer"), std::string::npos);
}

TEST(Schema, BodiesAreApartFromTheRowsThatListingsRead) {
  const std::string_view first = migrations().front().sql;
  EXPECT_NE(first.find("CREATE TABLE message_bodies"), std::string_view::npos);
  EXPECT_NE(first.find("SET STORAGE EXTERNAL"), std::string_view::npos);
  EXPECT_NE(first.find("messages_mailbox_order"), std::string_view::npos);
}

}  // namespace
}  // namespace mailport::pg
