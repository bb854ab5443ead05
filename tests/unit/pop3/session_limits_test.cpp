// Limits, hostile input, STLS, pipelining and back-pressure.
#include <gtest/gtest.h>

#include <string>
#include <variant>

#include "session_driver.hpp"

namespace mailport::pop3::testing {
namespace {

Driver started(Options options = default_options(), FakeBackend backend = default_backend()) {
  Driver driver(std::move(options), std::move(backend));
  driver.start();
  return driver;
}

TEST(Limits, LineOf255OctetsIsAcceptedAnd256Refused) {
  auto driver = started();
  const std::string name_fits(255 - 5 - 2, 'n');  // "USER " + name + CRLF == 255
  EXPECT_EQ(driver.send("USER " + name_fits + "\r\n"), "+OK Send PASS.\r\n");
  EXPECT_EQ(driver.send("USER " + name_fits + "n\r\n"), "-ERR Command line too long.\r\n");
  EXPECT_EQ(driver.send("USER " + name_fits + "n\n"), "+OK Send PASS.\r\n");  // LF only: 255
}

TEST(Limits, OneMebibyteLineIsDiscardedWithBoundedMemory) {
  auto driver = started();
  EXPECT_EQ(driver.send("USER "), "");
  const std::string chunk(4096, 'a');
  std::string out;
  for (int i = 0; i < 256; ++i) {
    out += driver.send(chunk);
    EXPECT_LE(driver.session().buffered_input(), 255U);
  }
  // Refused as soon as it could no longer fit, not only once its end arrived.
  EXPECT_EQ(out, "-ERR Command line too long.\r\n");
  EXPECT_EQ(driver.send("still the same line\r\nUSER bob\r\n"), "+OK Send PASS.\r\n");
  EXPECT_FALSE(driver.closed());
}

TEST(Limits, OneMebibyteLineInOneReceive) {
  Session session(default_options());
  session.start();
  session.output().clear();
  session.receive("CAPA\r\nUSER " + std::string(1 << 20, 'a'));
  // CAPA is still queued, so the line behind it may be held up to the largest line limit.
  EXPECT_LE(session.buffered_input(), 6U + Limits{}.max_sasl_line);
  EXPECT_TRUE(std::holds_alternative<NeedInput>(session.poll()));
  EXPECT_TRUE(session.output().ends_with(".\r\n-ERR Command line too long.\r\n"));
  EXPECT_EQ(session.buffered_input(), 0U);
  session.output().clear();
  session.receive(std::string(1 << 20, 'b'));
  EXPECT_EQ(session.buffered_input(), 0U);
  session.receive("\r\nQUIT\r\n");
  EXPECT_TRUE(std::holds_alternative<Close>(session.poll()));
  EXPECT_EQ(session.output(), "+OK Logging out.\r\n");
}

TEST(Limits, ControlBytesAreRefusedAndNeverExecuted) {
  for (const std::string& line :
       {std::string("USER alice\0junk", 15), std::string("USER alice\0", 11),
        std::string("USER ali\rce"), std::string("USER\talice"), std::string("USER alice\x1b"),
        std::string("USER alice\x7f")}) {
    auto driver = started();
    EXPECT_EQ(driver.send(line + "\r\nPASS open sesame\r\n"),
              "-ERR Control characters in command line.\r\n-ERR Send USER first.\r\n");
    EXPECT_TRUE(driver.logins().empty());
  }
}

TEST(Limits, NulInsidePasswordNeverLogsIn) {
  auto driver = started();
  EXPECT_EQ(driver.send(std::string("USER alice\r\nPASS open\0sesame\r\n", 31)),
            "+OK Send PASS.\r\n-ERR Control characters in command line.\r\n");
  EXPECT_TRUE(driver.logins().empty());
}

TEST(Limits, BareLfIsALineEnd) {
  auto driver = started();
  EXPECT_EQ(driver.send("USER alice\nPASS open sesame\n"), "+OK Send PASS.\r\n+OK Logged in.\r\n");
}

TEST(Limits, StrayInputNeverCrashes) {
  auto driver = started();
  EXPECT_EQ(driver.send("\r\n"), "-ERR Empty command line.\r\n");
  EXPECT_EQ(driver.send("!@#$\r\n"), "-ERR Unknown command.\r\n");
  EXPECT_EQ(driver.send("USER\r\n"), "-ERR Syntax: USER name\r\n");
  EXPECT_EQ(driver.send("PASS\r\n"), "-ERR Syntax: PASS password\r\n");
  EXPECT_EQ(driver.send("USER a b\r\n"), "-ERR Syntax: USER name\r\n");
  EXPECT_FALSE(driver.closed());
}

TEST(Limits, TooManyBadCommandsClose) {
  Options options = default_options();
  options.limits.max_bad_commands = 4;
  auto driver = started(options);
  EXPECT_EQ(driver.send("X\r\nSTAT\r\nNOOP\r\nUTF8\r\n"),
            "-ERR Unknown command.\r\n-ERR Not logged in.\r\n-ERR Not logged in.\r\n"
            "+OK UTF-8 enabled.\r\n");
  EXPECT_FALSE(driver.closed());
  // The fourth bad command is answered with the reason for closing.
  EXPECT_EQ(driver.send("LIST\r\nNOOP\r\nUSER alice\r\n"),
            "-ERR Too many bad commands; closing connection.\r\n");
  EXPECT_TRUE(driver.closed());
}

TEST(Limits, BadCommandKindsAllCount) {
  Options options = default_options();
  options.limits.max_bad_commands = 6;
  auto driver = started(options);
  driver.login();
  EXPECT_EQ(driver.send("RETR 9\r\nDELE x\r\nLIST 1 2\r\nUSER a\r\n" + std::string(300, 'x') +
                        "\r\nNOOP\r\nBOGUS\r\nNOOP\r\n"),
            "-ERR No such message.\r\n-ERR Invalid message number.\r\n-ERR Syntax: LIST [msg]\r\n"
            "-ERR Already logged in.\r\n-ERR Command line too long.\r\n+OK\r\n"
            "-ERR Too many bad commands; closing connection.\r\n");
  EXPECT_TRUE(driver.closed());
  EXPECT_TRUE(driver.updates().empty());  // closing for errors never applies deletions
}

TEST(Stls, DiscardsEverythingPipelinedAfterIt) {
  auto driver = started();
  EXPECT_EQ(driver.send("STLS\r\nUSER x\r\nPASS y\r\n"), "+OK Begin TLS negotiation.\r\n");
  EXPECT_EQ(driver.stls_requests(), 1U);
  EXPECT_TRUE(driver.logins().empty());
  EXPECT_TRUE(driver.session().tls_active());
  EXPECT_EQ(driver.session().buffered_input(), 0U);
  // USER x was never processed: PASS now finds no user.
  EXPECT_EQ(driver.send("PASS y\r\n"), "-ERR Send USER first.\r\n");
}

TEST(Stls, InputArrivingBeforeTheHandshakeIsDropped) {
  Session session(default_options());
  session.start();
  session.receive("STLS\r\n");
  EXPECT_TRUE(std::holds_alternative<StartTls>(session.poll()));
  EXPECT_TRUE(session.output().ends_with("+OK Begin TLS negotiation.\r\n"));
  session.output().clear();
  session.receive("USER injected\r\n");
  EXPECT_TRUE(std::holds_alternative<NeedInput>(session.poll()));
  EXPECT_EQ(session.buffered_input(), 0U);
  session.complete_stls(true);
  EXPECT_TRUE(std::holds_alternative<NeedInput>(session.poll()));
  EXPECT_EQ(session.output(), "");
}

TEST(Stls, ForgetsAPendingUser) {
  auto driver = started();
  driver.send("USER alice\r\n");
  driver.send("STLS\r\n");
  EXPECT_EQ(driver.send("PASS open sesame\r\n"), "-ERR Send USER first.\r\n");
}

TEST(Stls, SecondStlsAndStlsOverTlsAreRefused) {
  auto driver = started();
  driver.send("STLS\r\n");
  EXPECT_EQ(driver.send("STLS\r\n"), "-ERR TLS is already active.\r\n");
  Options implicit = default_options();
  implicit.tls_active = true;
  implicit.stls_offered = false;
  auto tls = started(implicit);
  EXPECT_EQ(tls.send("STLS\r\n"), "-ERR TLS is already active.\r\n");
  Options no_cert = default_options();
  no_cert.stls_offered = false;
  auto plain = started(no_cert);
  EXPECT_EQ(plain.send("STLS\r\n"), "-ERR STLS is not available on this connection.\r\n");
  EXPECT_EQ(plain.stls_requests(), 0U);
}

TEST(Stls, FailedHandshakeCloses) {
  FakeBackend backend = default_backend();
  backend.stls_ok = false;
  auto driver = started(default_options(), backend);
  EXPECT_EQ(driver.send("STLS\r\n"), "+OK Begin TLS negotiation.\r\n");
  EXPECT_TRUE(driver.closed());
  EXPECT_FALSE(driver.session().tls_active());
}

TEST(Pipelining, HundredCommandsInOneBuffer) {
  auto driver = started();
  driver.login();
  std::string input;
  std::string expected;
  for (int i = 0; i < 100; ++i) {
    switch (i % 4) {
      case 0:
        input += "NOOP\r\n";
        expected += "+OK\r\n";
        break;
      case 1:
        input += "STAT\r\n";
        expected += "+OK 2 55\r\n";
        break;
      case 2:
        input += "RETR 1\r\n";
        expected += "+OK 26 octets\r\nSubject: one\r\n\r\nBody one\r\n.\r\n";
        break;
      default:
        input += "UIDL 2\r\n";
        expected += "+OK 2 uid-2\r\n";
    }
  }
  EXPECT_EQ(driver.send(input), expected);
  EXPECT_EQ(driver.session().retrieved_messages(), 25U);
}

TEST(Pipelining, OutstandingRequestLeavesInputAlone) {
  Session session(default_options());
  session.start();
  session.output().clear();
  session.receive("USER alice\r\nPASS open sesame\r\nSTAT\r\nRETR 1\r\nNOOP\r\n");
  auto event = session.poll();
  ASSERT_TRUE(std::holds_alternative<Login>(event));
  const auto held = session.buffered_input();
  EXPECT_GT(held, 0U);
  EXPECT_TRUE(std::holds_alternative<NeedInput>(session.poll()));
  EXPECT_TRUE(std::holds_alternative<NeedInput>(session.poll()));
  EXPECT_EQ(session.buffered_input(), held);
  EXPECT_EQ(session.output(), "+OK Send PASS.\r\n");
  session.complete_login(default_backend().login(std::get<Login>(event).request));
  event = session.poll();
  ASSERT_TRUE(std::holds_alternative<Retrieve>(event));
  EXPECT_EQ(std::get<Retrieve>(event).index, 0U);
  EXPECT_EQ(std::get<Retrieve>(event).ok_line, "+OK 26 octets\r\n");
  EXPECT_FALSE(std::get<Retrieve>(event).top_lines);
  EXPECT_EQ(session.output(), "+OK Send PASS.\r\n+OK Logged in.\r\n+OK 2 55\r\n");
  EXPECT_TRUE(std::holds_alternative<NeedInput>(session.poll()));
  session.complete_retrieve(RetrieveStatus::ok);
  EXPECT_TRUE(std::holds_alternative<NeedInput>(session.poll()));
  EXPECT_TRUE(session.output().ends_with("+OK 2 55\r\n+OK\r\n"));
}

TEST(BackPressure, FlushWhenOutputGrowsPastTheThreshold) {
  Options options = default_options();
  options.limits.flush_threshold = 100;
  Session session(options);
  session.start();
  session.output().clear();
  session.receive("USER alice\r\nPASS open sesame\r\n");
  auto event = session.poll();
  session.complete_login(default_backend().login(std::get<Login>(event).request));
  EXPECT_TRUE(std::holds_alternative<NeedInput>(session.poll()));
  session.output().clear();

  std::string input;
  for (int i = 0; i < 50; ++i) input += "LIST\r\n";
  session.receive(input);
  const std::string one_list = "+OK 2 messages (55 octets)\r\n1 26\r\n2 29\r\n.\r\n";
  std::string written;
  int flushes = 0;
  for (int i = 0; i < 1000; ++i) {
    event = session.poll();
    EXPECT_LE(session.output().size(), 100 + one_list.size());
    written += session.output();
    session.output().clear();
    if (std::holds_alternative<NeedInput>(event)) break;
    ASSERT_TRUE(std::holds_alternative<Flush>(event));
    ++flushes;
  }
  EXPECT_GT(flushes, 10);
  std::string expected;
  for (int i = 0; i < 50; ++i) expected += one_list;
  EXPECT_EQ(written, expected);
}

}  // namespace
}  // namespace mailport::pop3::testing
