#include "store/maildir_name.hpp"

#include <gtest/gtest.h>

#include <compare>
#include <string>

namespace mailport::store {
namespace {

TEST(MaildirName, SplitsBaseAtFirstColon) {
  EXPECT_EQ(parse_maildir_name("123.M4P5.host,S=10,W=12:2,RS").base, "123.M4P5.host,S=10,W=12");
  EXPECT_EQ(parse_maildir_name("123.host").base, "123.host");
  EXPECT_EQ(parse_maildir_name(":2,S").base, "");
  EXPECT_EQ(parse_maildir_name("a:b:c").base, "a");
}

TEST(MaildirName, ReadsWireSizeFromWField) {
  EXPECT_EQ(parse_maildir_name("1.host,S=10,W=12:2,").wire_size, 12u);
  EXPECT_EQ(parse_maildir_name("1.host,W=0").wire_size, 0u);
  EXPECT_EQ(parse_maildir_name("1.host,W=7,S=5").wire_size, 7u);
}

TEST(MaildirName, MalformedWFieldIsIgnored) {
  EXPECT_FALSE(parse_maildir_name("1.host,S=10").wire_size);
  EXPECT_FALSE(parse_maildir_name("1.host,W=abc").wire_size);
  EXPECT_FALSE(parse_maildir_name("1.host,W=").wire_size);
  EXPECT_FALSE(parse_maildir_name("1.host,W=12x").wire_size);
  EXPECT_FALSE(parse_maildir_name("1.host,W=-3").wire_size);
  EXPECT_FALSE(parse_maildir_name("1.host,W=+3").wire_size);
  EXPECT_FALSE(parse_maildir_name("1.host,W=99999999999999999999999").wire_size);
  // W= in the flags (after ':') or as the unique part itself is not a size field.
  EXPECT_FALSE(parse_maildir_name("1.host:2,W=5").wire_size);
  EXPECT_FALSE(parse_maildir_name("W=5").wire_size);
}

TEST(MaildirName, LeadingDigitsAreTheTimestamp) {
  EXPECT_EQ(parse_maildir_name("1700000000.M1P2.host").timestamp, 1700000000u);
  EXPECT_FALSE(parse_maildir_name("host.123").timestamp);
  EXPECT_FALSE(parse_maildir_name("").timestamp);
  EXPECT_FALSE(parse_maildir_name("123456789012345678901234567890.x").timestamp);
}

TEST(MaildirName, ValidUidl) {
  EXPECT_TRUE(is_valid_uidl("1.M2P3.host,S=4,W=5"));
  EXPECT_TRUE(is_valid_uidl(std::string(70, 'a')));
  EXPECT_FALSE(is_valid_uidl(std::string(71, 'a')));
  EXPECT_FALSE(is_valid_uidl(""));
  EXPECT_FALSE(is_valid_uidl("with space"));
  EXPECT_FALSE(is_valid_uidl("del\x7f"));
  EXPECT_FALSE(is_valid_uidl("caf\xc3\xa9"));
}

TEST(MaildirName, UidlIsBaseNameWhenValid) {
  EXPECT_EQ(maildir_uidl("1.M2P3.host,S=4,W=5"), "1.M2P3.host,S=4,W=5");
}

TEST(MaildirName, UidlIsPrefixedDigestOtherwise) {
  const std::string long_base(100, 'x');
  const std::string uidl = maildir_uidl(long_base);
  EXPECT_TRUE(uidl.starts_with(kDigestUidlPrefix));
  EXPECT_TRUE(is_valid_uidl(uidl));
  EXPECT_EQ(uidl, maildir_uidl(long_base));
  EXPECT_NE(uidl, maildir_uidl(std::string(101, 'x')));
  EXPECT_TRUE(is_valid_uidl(maildir_uidl("")));
  EXPECT_TRUE(is_valid_uidl(maildir_uidl("a b")));
  // SHA-256("") starts with e3b0c442 98fc1c14 9afbf4c8 996fb924.
  EXPECT_EQ(maildir_uidl(""), std::string(kDigestUidlPrefix) + "e3b0c44298fc1c149afbf4c8996fb924");
}

TEST(MaildirName, CurNameAppendsInfoOnlyWhenMissing) {
  EXPECT_EQ(cur_name_for("1.host"), "1.host:2,");
  EXPECT_EQ(cur_name_for("1.host:2,S"), "1.host:2,S");
}

TEST(MaildirName, HostnameEscapes) {
  EXPECT_EQ(encode_maildir_hostname("mail.example.org"), "mail.example.org");
  EXPECT_EQ(encode_maildir_hostname("a/b:c,d"), "a\\057b\\072c\\054d");
}

TEST(MaildirName, NaturalCompareOrdersNumbersByValue) {
  EXPECT_TRUE(std::is_lt(natural_compare("1700.M999P1", "1700.M1000P1")));
  EXPECT_TRUE(std::is_gt(natural_compare("10.x", "9.x")));
  EXPECT_TRUE(std::is_lt(natural_compare("1.a", "1.b")));
  EXPECT_TRUE(std::is_eq(natural_compare("07", "7")));
  EXPECT_TRUE(std::is_lt(natural_compare("1", "1.x")));
  EXPECT_TRUE(std::is_eq(natural_compare("abc", "abc")));
  EXPECT_TRUE(std::is_lt(natural_compare("99999999999999999999999", "100000000000000000000000")));
}

}  // namespace
}  // namespace mailport::store
