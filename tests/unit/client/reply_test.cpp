#include "client/reply.hpp"

#include <gtest/gtest.h>

namespace mailport::client {
namespace {

TEST(Reply, OkAndErrWithResponseCodes) {
  auto ok = parse_reply("+OK 2 messages");
  ASSERT_TRUE(ok);
  EXPECT_TRUE(ok->ok);
  EXPECT_EQ(ok->text, "2 messages");
  auto err = parse_reply("-ERR [sys/temp] disk full");
  ASSERT_TRUE(err);
  EXPECT_FALSE(err->ok);
  EXPECT_EQ(err->code, "SYS/TEMP");
  EXPECT_EQ(err->text, "disk full");
  auto bare = parse_reply("+OK");
  ASSERT_TRUE(bare);
  EXPECT_TRUE(bare->ok);
  EXPECT_EQ(bare->text, "");
}

TEST(Reply, AnythingElseIsMalformed) {
  for (const char* line : {"", "OK", "+OKAY", "+ challenge", "* BYE", "-ERRor"}) {
    auto reply = parse_reply(line);
    EXPECT_FALSE(reply) << line;
    if (!reply) {
      EXPECT_TRUE(reply.error().is(errc::invalid_input));
    }
  }
}

TEST(Reply, ErrorCodesMapToErrc) {
  const auto code_of = [](const char* line) {
    return reply_error(*parse_reply(line), "PASS", errc::permanent_failure).code;
  };
  EXPECT_EQ(code_of("-ERR [AUTH] no"), make_error_code(errc::auth_failed));
  EXPECT_EQ(code_of("-ERR [IN-USE] busy"), make_error_code(errc::in_use));
  EXPECT_EQ(code_of("-ERR [LOGIN-DELAY] wait"), make_error_code(errc::temporary_failure));
  EXPECT_EQ(code_of("-ERR [SYS/TEMP] later"), make_error_code(errc::temporary_failure));
  EXPECT_EQ(code_of("-ERR [SYS/PERM] never"), make_error_code(errc::permanent_failure));
  EXPECT_EQ(code_of("-ERR whatever"), make_error_code(errc::permanent_failure));
  const auto error = reply_error(*parse_reply("-ERR [AUTH] bad login"), "PASS", errc::auth_failed);
  EXPECT_EQ(error.message, "PASS refused by the server: -ERR [AUTH] bad login");
}

TEST(Capabilities, TagsArgumentsAndMechanisms) {
  const auto caps =
      Capabilities::parse({"USER", "top", "UIDL", "SASL PLAIN scram-sha-256", "STLS",
                           "EXPIRE 30 USER", "LOGIN-DELAY 900", "IMPLEMENTATION Example 1.2"});
  EXPECT_TRUE(caps.user());
  EXPECT_TRUE(caps.has("TOP"));
  EXPECT_TRUE(caps.stls());
  EXPECT_TRUE(caps.uidl());
  EXPECT_EQ(caps.sasl_mechanisms(), (std::vector<std::string>{"PLAIN", "SCRAM-SHA-256"}));
  EXPECT_TRUE(caps.sasl("scram-sha-256"));
  EXPECT_FALSE(caps.sasl("LOGIN"));
  ASSERT_TRUE(caps.expire());
  EXPECT_EQ(caps.expire()->days, 30u);
  EXPECT_TRUE(caps.expire()->per_user);
  EXPECT_EQ(caps.login_delay(), 900u);
  EXPECT_EQ(caps.implementation(), "Example 1.2");
  EXPECT_FALSE(caps.has("APOP"));
}

TEST(Capabilities, ExpireNeverAndMalformedValues) {
  const auto never = Capabilities::parse({"EXPIRE NEVER"});
  ASSERT_TRUE(never.expire());
  EXPECT_FALSE(never.expire()->days);
  EXPECT_FALSE(Capabilities::parse({"EXPIRE soon"}).expire());
  EXPECT_FALSE(Capabilities::parse({"LOGIN-DELAY x"}).login_delay());
  EXPECT_FALSE(Capabilities::parse({}).expire());
}

TEST(Listing, UidlAndListLines) {
  auto uidl = parse_uidl_line("3 whqtswO00WBw418f9t5JxYwZ");
  ASSERT_TRUE(uidl);
  EXPECT_EQ(uidl->number, 3u);
  EXPECT_EQ(uidl->value, "whqtswO00WBw418f9t5JxYwZ");
  auto list = parse_list_line("2 200 extra words");
  ASSERT_TRUE(list);
  EXPECT_EQ(list->first, 2u);
  EXPECT_EQ(list->second, 200u);
}

TEST(Listing, MalformedLinesAreErrors) {
  EXPECT_FALSE(parse_uidl_line("x abc"));
  EXPECT_FALSE(parse_uidl_line("0 abc"));
  EXPECT_FALSE(parse_uidl_line("1"));
  EXPECT_FALSE(parse_uidl_line("1 " + std::string(71, 'a')));
  EXPECT_TRUE(parse_uidl_line("1 " + std::string(70, 'a')));
  EXPECT_FALSE(parse_uidl_line("1 caf\xc3\xa9"));
  EXPECT_FALSE(parse_list_line("1 -5"));
  EXPECT_FALSE(parse_list_line("1 big"));
}

TEST(Unstuff, RemovesOneLeadingDotAndRecognisesTheEnd) {
  EXPECT_FALSE(unstuff_line("."));
  EXPECT_EQ(unstuff_line(".."), ".");
  EXPECT_EQ(unstuff_line("..."), "..");
  EXPECT_EQ(unstuff_line(".x"), "x");
  EXPECT_EQ(unstuff_line("a.b"), "a.b");
  EXPECT_EQ(unstuff_line(""), "");
}

TEST(Apop, TimestampNeedsAngleBracketsAndAnAt) {
  EXPECT_EQ(apop_timestamp("POP3 server ready <1896.697170952@dbc.mtview.ca.us>"),
            "<1896.697170952@dbc.mtview.ca.us>");
  EXPECT_FALSE(apop_timestamp("ready <no at sign>"));
  EXPECT_FALSE(apop_timestamp("ready"));
}

}  // namespace
}  // namespace mailport::client
