// TRANSACTION and UPDATE: deletions, retrieval outcomes and the logout counters.
#include <gtest/gtest.h>

#include <string>
#include <variant>

#include "session_driver.hpp"

namespace mailport::pop3::testing {
namespace {

Driver logged_in(FakeBackend backend = default_backend()) {
  Driver driver(default_options(), std::move(backend));
  driver.start();
  driver.login();
  return driver;
}

TEST(Update, QuitAppliesTheMarkedDeletions) {
  auto driver = logged_in();
  EXPECT_EQ(driver.send("DELE 2\r\nQUIT\r\n"),
            "+OK Message 2 deleted.\r\n+OK Logging out (1 message deleted).\r\n");
  ASSERT_EQ(driver.updates().size(), 1U);
  EXPECT_EQ(driver.updates()[0], (std::vector<std::size_t>{1}));
  EXPECT_EQ(driver.session().deleted_messages(), 1U);
  EXPECT_TRUE(driver.closed());
}

TEST(Update, SeveralDeletionsArePlural) {
  auto driver = logged_in();
  EXPECT_EQ(driver.send("DELE 1\r\nDELE 2\r\nQUIT\r\n"),
            "+OK Message 1 deleted.\r\n+OK Message 2 deleted.\r\n"
            "+OK Logging out (2 messages deleted).\r\n");
  EXPECT_EQ(driver.updates().at(0), (std::vector<std::size_t>{0, 1}));
}

TEST(Update, RsetMeansNothingIsDeleted) {
  auto driver = logged_in();
  driver.send("DELE 1\r\nRSET\r\n");
  EXPECT_EQ(driver.send("QUIT\r\n"), "+OK Logging out (0 messages deleted).\r\n");
  EXPECT_TRUE(driver.updates().at(0).empty());
  EXPECT_EQ(driver.session().deleted_messages(), 0U);
}

TEST(Update, FailureIsReportedAndNothingCounted) {
  FakeBackend backend = default_backend();
  backend.update_ok = false;
  auto driver = logged_in(backend);
  EXPECT_EQ(driver.send("DELE 1\r\nQUIT\r\n"),
            "+OK Message 1 deleted.\r\n"
            "-ERR [SYS/TEMP] Could not remove all deleted messages; try again later.\r\n");
  EXPECT_TRUE(driver.closed());
  EXPECT_EQ(driver.session().deleted_messages(), 0U);
}

TEST(Update, ADroppedConnectionRequestsNoUpdate) {
  auto driver = logged_in();
  driver.send("DELE 1\r\nDELE 2\r\n");
  // The transport simply destroys the session: only QUIT ever asks for an update.
  EXPECT_TRUE(driver.updates().empty());
  EXPECT_FALSE(driver.closed());
}

TEST(Retrieve, CountersCountRetrOnly) {
  auto driver = logged_in();
  driver.send("RETR 1\r\nRETR 2\r\nTOP 1 5\r\n");
  EXPECT_EQ(driver.session().retrieved_messages(), 2U);
  EXPECT_EQ(driver.session().retrieved_octets(), 55U);
}

TEST(Retrieve, TopRequestCarriesTheLineCount) {
  Session session(default_options());
  session.start();
  session.receive("USER alice\r\nPASS open sesame\r\nTOP 2 7\r\n");
  auto event = session.poll();
  session.complete_login(default_backend().login(std::get<Login>(event).request));
  event = session.poll();
  ASSERT_TRUE(std::holds_alternative<Retrieve>(event));
  const auto& retrieve = std::get<Retrieve>(event);
  EXPECT_EQ(retrieve.index, 1U);
  EXPECT_EQ(retrieve.top_lines, 7U);
  EXPECT_EQ(retrieve.ok_line, "+OK Top of message follows.\r\n");
}

TEST(Retrieve, VanishedMessage) {
  FakeBackend backend = default_backend();
  backend.retrieve_status = RetrieveStatus::vanished;
  auto driver = logged_in(backend);
  EXPECT_EQ(driver.send("RETR 1\r\nNOOP\r\n"), "-ERR Message no longer exists.\r\n+OK\r\n");
  EXPECT_EQ(driver.session().retrieved_messages(), 0U);
}

TEST(Retrieve, TemporaryFailure) {
  FakeBackend backend = default_backend();
  backend.retrieve_status = RetrieveStatus::temporary_failure;
  auto driver = logged_in(backend);
  EXPECT_EQ(driver.send("TOP 1 0\r\n"),
            "-ERR [SYS/TEMP] Message could not be read; try again later.\r\n");
  EXPECT_FALSE(driver.closed());
}

TEST(Stat, TotalsAboveFourGibibytes) {
  Session session(default_options());
  session.start();
  session.receive("USER alice\r\nPASS open sesame\r\nSTAT\r\nLIST\r\n");
  ASSERT_TRUE(std::holds_alternative<Login>(session.poll()));
  constexpr std::uint64_t kThreeGiB = 3ULL << 30;
  session.complete_login(LoginOutcome{LoginStatus::ok, {{kThreeGiB, "a"}, {kThreeGiB, "b"}}});
  EXPECT_TRUE(std::holds_alternative<NeedInput>(session.poll()));
  EXPECT_TRUE(session.output().ends_with(
      "+OK 2 6442450944\r\n+OK 2 messages (6442450944 octets)\r\n1 3221225472\r\n"
      "2 3221225472\r\n.\r\n"));
}

TEST(Stat, EmptyMaildrop) {
  FakeBackend backend = default_backend();
  backend.messages.clear();
  auto driver = logged_in(backend);
  EXPECT_EQ(driver.send("STAT\r\nLIST\r\nUIDL\r\nRETR 1\r\n"),
            "+OK 0 0\r\n+OK 0 messages (0 octets)\r\n.\r\n+OK Unique-ID listing follows.\r\n.\r\n"
            "-ERR No such message.\r\n");
}

}  // namespace
}  // namespace mailport::pop3::testing
