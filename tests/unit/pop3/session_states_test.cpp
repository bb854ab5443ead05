// Every command in every state, with the exact response lines.
#include <gtest/gtest.h>

#include <string>
#include <string_view>

#include "session_driver.hpp"

namespace mailport::pop3::testing {
namespace {

constexpr std::string_view kCapaAuthorization =
    "+OK Capability list follows.\r\nUSER\r\nTOP\r\nUIDL\r\nRESP-CODES\r\nAUTH-RESP-CODE\r\n"
    "PIPELINING\r\nSTLS\r\nSASL PLAIN LOGIN\r\nUTF8\r\nLANG\r\n.\r\n";
constexpr std::string_view kCapaTransaction =
    "+OK Capability list follows.\r\nUSER\r\nTOP\r\nUIDL\r\nRESP-CODES\r\nAUTH-RESP-CODE\r\n"
    "PIPELINING\r\nSASL PLAIN LOGIN\r\nUTF8\r\nLANG\r\n.\r\n";
constexpr std::string_view kNotLoggedIn = "-ERR Not logged in.\r\n";
constexpr std::string_view kLoggedIn = "-ERR Already logged in.\r\n";
constexpr std::string_view kUnknown = "-ERR Unknown command.\r\n";

struct StateCase {
  std::string_view line;
  std::string_view in_authorization;
  std::string_view in_transaction;
};

class EveryState : public ::testing::TestWithParam<StateCase> {};

TEST_P(EveryState, Authorization) {
  Driver driver;
  driver.start();
  EXPECT_EQ(driver.send(std::string(GetParam().line) + "\r\n"), GetParam().in_authorization);
}

TEST_P(EveryState, Transaction) {
  Driver driver;
  driver.start();
  ASSERT_EQ(driver.login(), "+OK Send PASS.\r\n+OK Logged in.\r\n");
  EXPECT_EQ(driver.send(std::string(GetParam().line) + "\r\n"), GetParam().in_transaction);
}

TEST_P(EveryState, AfterQuitInAuthorizationNothingRuns) {
  Driver driver;
  driver.start();
  EXPECT_EQ(driver.send("QUIT\r\n" + std::string(GetParam().line) + "\r\n"),
            "+OK Logging out.\r\n");
  EXPECT_TRUE(driver.closed());
  EXPECT_EQ(driver.session().state(), State::closed);
  EXPECT_TRUE(driver.logins().empty());
  EXPECT_EQ(driver.stls_requests(), 0U);
}

TEST_P(EveryState, AfterQuitInTransactionNothingRuns) {
  Driver driver;
  driver.start();
  driver.login();
  EXPECT_EQ(driver.send("QUIT\r\n" + std::string(GetParam().line) + "\r\n"),
            "+OK Logging out (0 messages deleted).\r\n");
  EXPECT_TRUE(driver.closed());
  EXPECT_EQ(driver.logins().size(), 1U);
  EXPECT_EQ(driver.updates().size(), 1U);
}

INSTANTIATE_TEST_SUITE_P(
    Commands, EveryState,
    ::testing::Values(
        StateCase{"USER alice", "+OK Send PASS.\r\n", kLoggedIn},
        StateCase{"PASS open sesame", "-ERR Send USER first.\r\n", kLoggedIn},
        StateCase{"APOP alice 0123456789abcdef0123456789abcdef", kUnknown, kUnknown},
        StateCase{"AUTH", "+OK Supported mechanisms follow.\r\nPLAIN\r\nLOGIN\r\n.\r\n", kLoggedIn},
        StateCase{"AUTH PLAIN", "+ \r\n", kLoggedIn},
        StateCase{"STLS", "+OK Begin TLS negotiation.\r\n", kLoggedIn},
        StateCase{"UTF8", "+OK UTF-8 enabled.\r\n", kLoggedIn},
        StateCase{"CAPA", kCapaAuthorization, kCapaTransaction},
        StateCase{"QUIT", "+OK Logging out.\r\n", "+OK Logging out (0 messages deleted).\r\n"},
        StateCase{"LANG", "+OK Language listing follows.\r\nen English\r\n.\r\n",
                  "+OK Language listing follows.\r\nen English\r\n.\r\n"},
        StateCase{"LANG en", "+OK en Language is English.\r\n", "+OK en Language is English.\r\n"},
        StateCase{"LANG de", "-ERR Unsupported language.\r\n", "-ERR Unsupported language.\r\n"},
        StateCase{"STAT", kNotLoggedIn, "+OK 2 55\r\n"},
        StateCase{"LIST", kNotLoggedIn, "+OK 2 messages (55 octets)\r\n1 26\r\n2 29\r\n.\r\n"},
        StateCase{"LIST 2", kNotLoggedIn, "+OK 2 29\r\n"},
        StateCase{"RETR 1", kNotLoggedIn, "+OK 26 octets\r\nSubject: one\r\n\r\nBody one\r\n.\r\n"},
        StateCase{"RETR 2", kNotLoggedIn,
                  "+OK 29 octets\r\nSubject: two\r\n\r\n..hidden\r\nlast\r\n.\r\n"},
        StateCase{"TOP 2 0", kNotLoggedIn,
                  "+OK Top of message follows.\r\nSubject: two\r\n\r\n.\r\n"},
        StateCase{"TOP 2 1", kNotLoggedIn,
                  "+OK Top of message follows.\r\nSubject: two\r\n\r\n..hidden\r\n.\r\n"},
        StateCase{"DELE 1", kNotLoggedIn, "+OK Message 1 deleted.\r\n"},
        StateCase{"NOOP", kNotLoggedIn, "+OK\r\n"},
        StateCase{"RSET", kNotLoggedIn, "+OK Maildrop has 2 messages (55 octets).\r\n"},
        StateCase{"UIDL", kNotLoggedIn,
                  "+OK Unique-ID listing follows.\r\n1 uid-1\r\n2 uid-2\r\n.\r\n"},
        StateCase{"UIDL 1", kNotLoggedIn, "+OK 1 uid-1\r\n"},
        StateCase{"XTND XMIT", kUnknown, kUnknown},
        StateCase{"", "-ERR Empty command line.\r\n", "-ERR Empty command line.\r\n"},
        StateCase{" NOOP", kUnknown, kUnknown}, StateCase{".", kUnknown, kUnknown},
        StateCase{"noop", kNotLoggedIn, "+OK\r\n"},
        StateCase{"StAt", kNotLoggedIn, "+OK 2 55\r\n"}));

struct ArgumentCase {
  std::string_view input;  // sent after logging in
  std::string_view expected;
};

class TransactionArguments : public ::testing::TestWithParam<ArgumentCase> {};

TEST_P(TransactionArguments, ExactResponse) {
  Driver driver;
  driver.start();
  driver.login();
  EXPECT_EQ(driver.send(GetParam().input), GetParam().expected);
  EXPECT_FALSE(driver.closed());
}

INSTANTIATE_TEST_SUITE_P(
    Errors, TransactionArguments,
    ::testing::Values(
        ArgumentCase{"LIST 3\r\n", "-ERR No such message.\r\n"},
        ArgumentCase{"LIST 0\r\n", "-ERR No such message.\r\n"},
        ArgumentCase{"LIST 01\r\n", "+OK 1 26\r\n"},
        ArgumentCase{"LIST -1\r\n", "-ERR Invalid message number.\r\n"},
        ArgumentCase{"LIST +1\r\n", "-ERR Invalid message number.\r\n"},
        ArgumentCase{"LIST 1x\r\n", "-ERR Invalid message number.\r\n"},
        ArgumentCase{"LIST 18446744073709551617\r\n", "-ERR No such message.\r\n"},
        ArgumentCase{"RETR 99999999999999999999999999999999\r\n", "-ERR No such message.\r\n"},
        ArgumentCase{"LIST 1 2\r\n", "-ERR Syntax: LIST [msg]\r\n"},
        ArgumentCase{"LIST  1\r\n", "-ERR Syntax: LIST [msg]\r\n"},
        ArgumentCase{"STAT \r\n", "+OK 2 55\r\n"}, ArgumentCase{"LIST 1  \r\n", "+OK 1 26\r\n"},
        ArgumentCase{"STAT 1\r\n", "-ERR Syntax: STAT\r\n"},
        ArgumentCase{"NOOP x\r\n", "-ERR Syntax: NOOP\r\n"},
        ArgumentCase{"RETR\r\n", "-ERR Syntax: RETR msg\r\n"},
        ArgumentCase{"RETR 1 2\r\n", "-ERR Syntax: RETR msg\r\n"},
        ArgumentCase{"DELE\r\n", "-ERR Syntax: DELE msg\r\n"},
        ArgumentCase{"TOP 1\r\n", "-ERR Syntax: TOP msg lines\r\n"},
        ArgumentCase{"TOP 1 -1\r\n", "-ERR Invalid line count.\r\n"},
        ArgumentCase{"TOP 1 x\r\n", "-ERR Invalid line count.\r\n"},
        ArgumentCase{"TOP 3 1\r\n", "-ERR No such message.\r\n"},
        ArgumentCase{
            "TOP 2 99999999999999999999999\r\n",
            "+OK Top of message follows.\r\nSubject: two\r\n\r\n..hidden\r\nlast\r\n.\r\n"},
        ArgumentCase{"UIDL 0\r\n", "-ERR No such message.\r\n"},
        ArgumentCase{"UIDL a\r\n", "-ERR Invalid message number.\r\n"},
        ArgumentCase{"DELE 1\r\nDELE 1\r\n",
                     "+OK Message 1 deleted.\r\n-ERR Message is marked deleted.\r\n"},
        ArgumentCase{"DELE 1\r\nRETR 1\r\n",
                     "+OK Message 1 deleted.\r\n-ERR Message is marked deleted.\r\n"},
        ArgumentCase{"DELE 1\r\nTOP 1 0\r\n",
                     "+OK Message 1 deleted.\r\n-ERR Message is marked deleted.\r\n"},
        ArgumentCase{"DELE 1\r\nLIST 1\r\n",
                     "+OK Message 1 deleted.\r\n-ERR Message is marked deleted.\r\n"},
        ArgumentCase{"DELE 1\r\nUIDL 1\r\n",
                     "+OK Message 1 deleted.\r\n-ERR Message is marked deleted.\r\n"},
        ArgumentCase{"DELE 1\r\nSTAT\r\n", "+OK Message 1 deleted.\r\n+OK 1 29\r\n"},
        ArgumentCase{"DELE 1\r\nLIST\r\n",
                     "+OK Message 1 deleted.\r\n+OK 1 message (29 octets)\r\n2 29\r\n.\r\n"},
        ArgumentCase{
            "DELE 2\r\nUIDL\r\n",
            "+OK Message 2 deleted.\r\n+OK Unique-ID listing follows.\r\n1 uid-1\r\n.\r\n"},
        ArgumentCase{"DELE 1\r\nDELE 2\r\nLIST\r\n",
                     "+OK Message 1 deleted.\r\n+OK Message 2 deleted.\r\n"
                     "+OK 0 messages (0 octets)\r\n.\r\n"},
        ArgumentCase{"DELE 1\r\nRSET\r\nSTAT\r\n",
                     "+OK Message 1 deleted.\r\n+OK Maildrop has 2 messages (55 octets).\r\n"
                     "+OK 2 55\r\n"},
        ArgumentCase{"list 1\r\nuidl 2\r\n", "+OK 1 26\r\n+OK 2 uid-2\r\n"}));

TEST(SessionStates, StateAccessorFollowsTheSession) {
  Driver driver;
  driver.start();
  EXPECT_EQ(driver.session().state(), State::authorization);
  driver.login();
  EXPECT_EQ(driver.session().state(), State::transaction);
  EXPECT_EQ(driver.session().user(), "alice");
}

TEST(SessionStates, QuitInTransactionWaitsInUpdateState) {
  Session session(default_options());
  session.start();
  session.receive("USER alice\r\nPASS open sesame\r\nQUIT\r\nNOOP\r\n");
  auto event = session.poll();
  ASSERT_TRUE(std::holds_alternative<Login>(event));
  session.complete_login(default_backend().login(std::get<Login>(event).request));
  event = session.poll();
  ASSERT_TRUE(std::holds_alternative<Update>(event));
  EXPECT_TRUE(std::get<Update>(event).deleted.empty());  // sent even when nothing is deleted
  EXPECT_EQ(session.state(), State::update);
  EXPECT_TRUE(std::holds_alternative<NeedInput>(session.poll()));
  session.complete_update(true);
  EXPECT_EQ(session.state(), State::closed);
  EXPECT_TRUE(std::holds_alternative<Close>(session.poll()));
  EXPECT_TRUE(std::holds_alternative<Close>(session.poll()));
  EXPECT_EQ(session.output().find("NOOP"), std::string::npos);
}

}  // namespace
}  // namespace mailport::pop3::testing
