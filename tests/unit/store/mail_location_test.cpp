#include <gtest/gtest.h>

#include <string>

#include "store/mail_store.hpp"

namespace mailport::store {
namespace {

const UserContext kAlice{"alice@example.org", "/home/alice"};

std::string expand(std::string_view tmpl, const UserContext& user = kAlice) {
  auto result = expand_template(tmpl, user);
  EXPECT_TRUE(result.ok()) << tmpl << ": " << result.error().describe();
  return result.ok() ? *result : std::string();
}

bool rejected(std::string_view tmpl, const UserContext& user) {
  auto result = expand_template(tmpl, user);
  return !result.ok() && result.error().is(errc::invalid_input);
}

TEST(MailLocation, ExpandsEveryVariable) {
  EXPECT_EQ(expand("/var/mail/%d/%n/Maildir"), "/var/mail/example.org/alice/Maildir");
  EXPECT_EQ(expand("/srv/%u"), "/srv/alice@example.org");
  EXPECT_EQ(expand("%h/Maildir"), "/home/alice/Maildir");
  EXPECT_EQ(expand("/m/100%%/%n"), "/m/100%/alice");
  EXPECT_EQ(expand("/plain/path"), "/plain/path");
}

TEST(MailLocation, LastAtSplitsLocalPartAndDomain) {
  const UserContext user{"a@b@example.org", ""};
  EXPECT_EQ(expand("/m/%d/%n", user), "/m/example.org/a@b");
}

TEST(MailLocation, DomainIsEmptyWithoutAt) {
  const UserContext user{"alice", ""};
  EXPECT_EQ(expand("/m/%d/%n", user), "/m//alice");
  EXPECT_EQ(expand("/m/%u", user), "/m/alice");
}

TEST(MailLocation, MaildirPrefixIsStripped) {
  EXPECT_EQ(expand("maildir:/var/mail/%u"), "/var/mail/alice@example.org");
}

TEST(MailLocation, UnknownOrDanglingPercentIsInvalid) {
  EXPECT_TRUE(rejected("/m/%x", kAlice));
  EXPECT_TRUE(rejected("/m/%", kAlice));
  EXPECT_TRUE(rejected("/m/%U", kAlice));
}

TEST(MailLocation, LoginCannotEscapeTheMailRoot) {
  for (const char* login : {"..", ".", "../etc", "a/b", "/abs", "..@example.org", "alice@..",
                            ".@example.org", "alice@a/b", "@example.org", "alice@", ""}) {
    EXPECT_TRUE(rejected("/m/%d/%n", UserContext{login, ""})) << login;
  }
  EXPECT_TRUE(rejected("/m/%u", UserContext{"..", ""}));
  EXPECT_TRUE(rejected("/m/%u", UserContext{"x/../../etc", ""}));
  EXPECT_TRUE(rejected("/m/%u", UserContext{std::string("ali\0ce", 6), ""}));
}

TEST(MailLocation, HarmlessDotsStayAllowed) {
  EXPECT_EQ(expand("/m/%u", UserContext{"...", ""}), "/m/...");
  EXPECT_EQ(expand("/m/%n", UserContext{"a..b@x", ""}), "/m/a..b");
}

TEST(MailLocation, HomeMustBeAbsoluteWhenUsed) {
  EXPECT_TRUE(rejected("%h/Maildir", UserContext{"alice", ""}));
  EXPECT_TRUE(rejected("%h/Maildir", UserContext{"alice", "home/alice"}));
  EXPECT_EQ(expand("/m/%u", UserContext{"alice", ""}), "/m/alice");
}

TEST(MailLocation, RelativeResultIsInvalid) {
  EXPECT_TRUE(rejected("mail/%u", kAlice));
  EXPECT_TRUE(rejected("", kAlice));
  EXPECT_TRUE(rejected("maildir:%n", kAlice));
}

}  // namespace
}  // namespace mailport::store
