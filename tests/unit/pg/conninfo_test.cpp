#include "pg/conninfo.hpp"

#include <gtest/gtest.h>

#include "store/store_factory.hpp"

namespace mailport::pg {
namespace {

TEST(Conninfo, StripPrefixOnlyForPostgres) {
  EXPECT_EQ(strip_prefix("postgres:dbname=mail"), "dbname=mail");
  EXPECT_EQ(strip_prefix("postgres:"), "");
  EXPECT_FALSE(strip_prefix("maildir:/m/%u").has_value());
  EXPECT_FALSE(strip_prefix("postgresql://db/mail").has_value());
}

TEST(Conninfo, AcceptsKeywordStringsAndUris) {
  EXPECT_TRUE(check_conninfo("host=/run/postgresql dbname=mail").ok());
  EXPECT_TRUE(check_conninfo("host=127.0.0.1 port=5433 user=mail password='a b'").ok());
  EXPECT_TRUE(check_conninfo("postgresql://mail:secret@db1:5432/mail?sslmode=require").ok());
}

TEST(Conninfo, RejectsWhatLibpqRejectsWithItsReason) {
  const auto unknown = check_conninfo("dbname=mail colour=blue");
  ASSERT_FALSE(unknown.ok());
  EXPECT_TRUE(unknown.error().is(errc::invalid_input));
  EXPECT_NE(unknown.error().message.find("colour"), std::string::npos);
  EXPECT_FALSE(check_conninfo("host='unterminated").ok());
  EXPECT_FALSE(check_conninfo("postgresql://db/mail?colour=blue").ok());
  const auto empty = check_conninfo("");
  ASSERT_FALSE(empty.ok());
  EXPECT_NE(empty.error().message.find("empty"), std::string::npos);
}

TEST(Conninfo, DescriptionNamesTheServerButNeverThePassword) {
  EXPECT_EQ(describe_conninfo("host=db1 port=5433 dbname=mail user=mp password=hunter2"),
            "host=db1 port=5433 dbname=mail user=mp");
  const std::string uri = describe_conninfo("postgresql://mp:hunter2@db2/mail");
  EXPECT_EQ(uri, "host=db2 dbname=mail user=mp");
  EXPECT_EQ(describe_conninfo("password=x"), "(libpq defaults)");
  EXPECT_EQ(describe_conninfo("nonsense"), "(invalid connection string)");
}

TEST(Conninfo, MailLocationPicksThePostgresBackend) {
  const auto location = store::parse_mail_location("postgres:host=db1 dbname=mail");
  EXPECT_EQ(location.kind, store::StoreKind::postgres);
  EXPECT_EQ(location.path_template, "host=db1 dbname=mail");
  EXPECT_EQ(store::parse_mail_location("/srv/postgres:x/%u").kind, store::StoreKind::maildir);
}

}  // namespace
}  // namespace mailport::pg
