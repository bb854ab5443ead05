// lmtp::Session: replies for every command and state, pipelined input split at every chunk
// size, per-recipient replies after DATA, and the limits.
#include "lmtp/session.hpp"

#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

namespace mailport::lmtp {
namespace {

// Plays the transport: feeds the client's bytes in chunks and answers the session's requests.
struct Driver {
  explicit Driver(Limits limits = {}) : session(Options{"mx.example", limits}) { session.start(); }

  // Runs until the session wants input; returns what it wrote.
  std::string send(std::string_view bytes, std::size_t chunk = 1 << 20) {
    std::string written;
    for (std::size_t pos = 0; pos < bytes.size(); pos += chunk) {
      session.receive(bytes.substr(pos, chunk));
      pump(written);
      if (closed) break;
    }
    if (bytes.empty()) pump(written);
    return written;
  }

  void pump(std::string& written) {
    for (;;) {
      Event event = session.poll();
      written += session.output();
      session.output().clear();
      if (auto* check = std::get_if<CheckRecipient>(&event)) {
        checked.push_back(check->address);
        const auto it = users.find(check->address);
        session.complete_recipient(it == users.end() ? Outcome::no_such_user : it->second);
      } else if (auto* deliver = std::get_if<Deliver>(&event)) {
        deliveries.push_back(*deliver);
        std::vector<Outcome> outcomes;
        for (const auto& rcpt : deliver->envelope.recipients) {
          outcomes.push_back(delivery_outcomes.count(rcpt) ? delivery_outcomes[rcpt] : Outcome::ok);
        }
        session.complete_delivery(outcomes);
      } else if (std::holds_alternative<Close>(event)) {
        closed = true;
        return;
      } else if (std::holds_alternative<NeedInput>(event)) {
        return;
      }
    }
  }

  Session session;
  std::map<std::string, Outcome> users = {{"alice@example.org", Outcome::ok},
                                          {"bob@example.org", Outcome::ok},
                                          {"busy@example.org", Outcome::temporary_failure}};
  std::map<std::string, Outcome> delivery_outcomes;
  std::vector<std::string> checked;
  std::vector<Deliver> deliveries;
  bool closed = false;
};

const std::string kLhloReply =
    "250-mx.example\r\n250-PIPELINING\r\n250-ENHANCEDSTATUSCODES\r\n250-8BITMIME\r\n"
    "250 SIZE 52428800\r\n";

const std::string kTransaction =
    "LHLO relay.example\r\n"
    "MAIL FROM:<sender@example.net> BODY=8BITMIME SIZE=40\r\n"
    "RCPT TO:<alice@example.org>\r\n"
    "RCPT TO:<nobody@example.org>\r\n"
    "RCPT TO:<bob@example.org>\r\n"
    "DATA\r\n"
    "Subject: hi\r\n\r\n..leading dot\r\nFrom me\r\n.\r\n"
    "QUIT\r\n";

const std::string kTransactionReplies = kLhloReply +
                                        "250 2.1.0 sender ok\r\n"
                                        "250 2.1.5 <alice@example.org> recipient ok\r\n"
                                        "550 5.1.1 <nobody@example.org> no such user here\r\n"
                                        "250 2.1.5 <bob@example.org> recipient ok\r\n"
                                        "354 start mail input; end with <CRLF>.<CRLF>\r\n"
                                        "250 2.0.0 <alice@example.org> delivered\r\n"
                                        "250 2.0.0 <bob@example.org> delivered\r\n"
                                        "221 2.0.0 mx.example closing connection\r\n";

TEST(LmtpSession, GreetsWithTheHostname) {
  Driver driver;
  EXPECT_EQ(driver.send(""), "220 mx.example LMTP ready\r\n");
}

TEST(LmtpSession, PipelinedTransactionAtEveryChunkSize) {
  for (std::size_t chunk = 1; chunk <= kTransaction.size(); chunk += chunk < 16 ? 1 : 7) {
    Driver driver;
    driver.send("");
    EXPECT_EQ(driver.send(kTransaction, chunk), kTransactionReplies) << "chunk " << chunk;
    EXPECT_TRUE(driver.closed);
    ASSERT_EQ(driver.deliveries.size(), 1u);
    const Deliver& deliver = driver.deliveries[0];
    EXPECT_EQ(deliver.message, "Subject: hi\n\n.leading dot\nFrom me\n");
    EXPECT_EQ(deliver.envelope.sender, "sender@example.net");
    EXPECT_EQ(deliver.envelope.client, "relay.example");
    EXPECT_TRUE(deliver.envelope.body_8bit);
    EXPECT_EQ(deliver.envelope.recipients,
              (std::vector<std::string>{"alice@example.org", "bob@example.org"}));
  }
}

TEST(LmtpSession, OneReplyPerRecipientWithItsOwnOutcome) {
  Driver driver;
  driver.send("");
  driver.delivery_outcomes["alice@example.org"] = Outcome::storage_full;
  driver.delivery_outcomes["bob@example.org"] = Outcome::mailbox_busy;
  driver.users["carol@example.org"] = Outcome::ok;
  driver.delivery_outcomes["carol@example.org"] = Outcome::permanent_failure;
  const std::string out = driver.send(
      "LHLO x\r\nMAIL FROM:<>\r\nRCPT TO:<alice@example.org>\r\nRCPT TO:<bob@example.org>\r\n"
      "RCPT TO:<carol@example.org>\r\nDATA\r\nhello\r\n.\r\n");
  EXPECT_NE(out.find("354 "), std::string::npos);
  EXPECT_TRUE(
      out.ends_with("452 4.2.2 <alice@example.org> mailbox or disk full, try again later\r\n"
                    "451 4.2.0 <bob@example.org> mailbox is locked, try again later\r\n"
                    "554 5.3.0 <carol@example.org> delivery failed\r\n"))
      << out;
  EXPECT_EQ(driver.deliveries.at(0).envelope.sender, "");
  EXPECT_EQ(driver.session.delivered_messages(), 0u);
  // The transaction is over: a new one can start.
  EXPECT_EQ(driver.send("MAIL FROM:<a@b>\r\n"), "250 2.1.0 sender ok\r\n");
}

TEST(LmtpSession, TemporaryRecipientFailure) {
  Driver driver;
  driver.send("LHLO x\r\nMAIL FROM:<a@b>\r\n");
  EXPECT_EQ(driver.send("RCPT TO:<busy@example.org>\r\n"),
            "451 4.3.0 <busy@example.org> temporary failure, try again later\r\n");
  EXPECT_EQ(driver.send("DATA\r\n"), "503 5.5.1 no valid recipients\r\n");
}

struct StateCase {
  const char* name;
  const char* setup;
  const char* command;
  std::string reply;
};

class CommandInState : public ::testing::TestWithParam<StateCase> {};

TEST_P(CommandInState, Replies) {
  Driver driver;
  driver.send("");
  driver.send(GetParam().setup);
  EXPECT_EQ(driver.send(GetParam().command), GetParam().reply);
}

INSTANTIATE_TEST_SUITE_P(
    Cases, CommandInState,
    ::testing::Values(
        StateCase{"MailBeforeLhlo", "", "MAIL FROM:<a@b>\r\n", "503 5.5.1 send LHLO first\r\n"},
        StateCase{"HeloRefused", "", "HELO x\r\n",
                  "500 5.5.1 this is an LMTP server: use LHLO\r\n"},
        StateCase{"EhloRefused", "", "EHLO x\r\n",
                  "500 5.5.1 this is an LMTP server: use LHLO\r\n"},
        StateCase{"LhloWithoutDomain", "", "LHLO\r\n",
                  "501 5.5.4 LHLO needs a domain or address literal\r\n"},
        StateCase{"LowerCaseVerbs", "", "lhlo x\r\n", kLhloReply},
        StateCase{"NestedMail", "LHLO x\r\nMAIL FROM:<a@b>\r\n", "MAIL FROM:<a@b>\r\n",
                  "503 5.5.1 nested MAIL command\r\n"},
        StateCase{"SpaceAfterColon", "LHLO x\r\n", "MAIL FROM: <a@b>\r\n",
                  "250 2.1.0 sender ok\r\n"},
        StateCase{"MailSyntax", "LHLO x\r\n", "MAIL FROM:a@b\r\n",
                  "501 5.5.4 syntax: MAIL FROM:<address> [parameters]\r\n"},
        StateCase{"SizeTooLarge", "LHLO x\r\n", "MAIL FROM:<a@b> SIZE=52428801\r\n",
                  "552 5.3.4 message exceeds the size limit\r\n"},
        StateCase{"SizeNotANumber", "LHLO x\r\n", "MAIL FROM:<a@b> SIZE=big\r\n",
                  "501 5.5.4 SIZE needs a number\r\n"},
        StateCase{"UnknownMailParameter", "LHLO x\r\n", "MAIL FROM:<a@b> SMTPUTF8\r\n",
                  "555 5.5.4 unsupported parameter SMTPUTF8\r\n"},
        StateCase{"BadBody", "LHLO x\r\n", "MAIL FROM:<a@b> BODY=BINARYMIME\r\n",
                  "555 5.5.4 unsupported parameter BODY\r\n"},
        StateCase{"RcptBeforeMail", "LHLO x\r\n", "RCPT TO:<alice@example.org>\r\n",
                  "503 5.5.1 need MAIL before RCPT\r\n"},
        StateCase{"RcptParameters", "LHLO x\r\nMAIL FROM:<a@b>\r\n",
                  "RCPT TO:<alice@example.org> NOTIFY=NEVER\r\n",
                  "555 5.5.4 RCPT parameters are not supported\r\n"},
        StateCase{"EmptyRecipient", "LHLO x\r\nMAIL FROM:<a@b>\r\n", "RCPT TO:<>\r\n",
                  "501 5.1.3 empty recipient address\r\n"},
        StateCase{"DataBeforeMail", "LHLO x\r\n", "DATA\r\n",
                  "503 5.5.1 need MAIL before DATA\r\n"},
        StateCase{"DataArgument", "LHLO x\r\n", "DATA now\r\n",
                  "501 5.5.4 DATA takes no argument\r\n"},
        StateCase{"RsetEndsTheTransaction", "LHLO x\r\nMAIL FROM:<a@b>\r\n",
                  "RSET\r\nRCPT TO:<alice@example.org>\r\n",
                  "250 2.0.0 OK\r\n503 5.5.1 need MAIL before RCPT\r\n"},
        StateCase{"LhloEndsTheTransaction", "LHLO x\r\nMAIL FROM:<a@b>\r\n",
                  "LHLO y\r\nMAIL FROM:<a@b>\r\n", kLhloReply + "250 2.1.0 sender ok\r\n"},
        StateCase{"Noop", "", "NOOP\r\n", "250 2.0.0 OK\r\n"},
        StateCase{"Vrfy", "", "VRFY alice\r\n", "502 5.5.1 command not implemented\r\n"},
        StateCase{"Unknown", "", "STARTTLS\r\n", "500 5.5.2 unknown command\r\n"},
        StateCase{"ControlByte", "", "NOOP\x01\r\n", "500 5.5.2 control characters in command\r\n"},
        StateCase{"BareLfCommands", "", "LHLO x\nNOOP\n", kLhloReply + "250 2.0.0 OK\r\n"}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(LmtpSession, OverlongLineIsRejectedWithoutBufferingIt) {
  Driver driver(Limits{.max_command_line = 64});
  driver.send("");
  const std::string line = "NOOP " + std::string(100000, 'x');
  for (std::size_t pos = 0; pos < line.size(); pos += 1000) {
    driver.send(line.substr(pos, 1000));
    EXPECT_LE(driver.session.buffered_input(), 64u + 1000u);
  }
  EXPECT_EQ(driver.send("\r\nNOOP\r\n"), "500 5.5.2 line too long\r\n250 2.0.0 OK\r\n");
}

TEST(LmtpSession, OversizedDataGets552PerRecipientAndIsNotKept) {
  Driver driver(Limits{.max_message_size = 1024});
  driver.send(
      "LHLO x\r\nMAIL FROM:<a@b>\r\nRCPT TO:<alice@example.org>\r\n"
      "RCPT TO:<bob@example.org>\r\nDATA\r\n");
  const std::string line = std::string(998, 'y') + "\r\n";
  for (int i = 0; i < 200; ++i) {
    EXPECT_EQ(driver.send(line), "");
    EXPECT_LE(driver.session.buffered_input(), line.size());
  }
  EXPECT_EQ(driver.send(".\r\nNOOP\r\n"),
            "552 5.3.4 <alice@example.org> message exceeds the size limit\r\n"
            "552 5.3.4 <bob@example.org> message exceeds the size limit\r\n"
            "250 2.0.0 OK\r\n");
  EXPECT_TRUE(driver.deliveries.empty());
}

TEST(LmtpSession, RecipientLimitGives452) {
  Driver driver(Limits{.max_recipients = 1});
  driver.send("LHLO x\r\nMAIL FROM:<a@b>\r\nRCPT TO:<alice@example.org>\r\n");
  EXPECT_EQ(driver.send("RCPT TO:<bob@example.org>\r\n"), "452 4.5.3 too many recipients\r\n");
  EXPECT_EQ(driver.checked, (std::vector<std::string>{"alice@example.org"}));
}

TEST(LmtpSession, TooManyBadCommandsCloses) {
  Driver driver(Limits{.max_bad_commands = 3});
  driver.send("");
  EXPECT_EQ(driver.send("X\r\nY\r\nZ\r\nNOOP\r\n"),
            "500 5.5.2 unknown command\r\n500 5.5.2 unknown command\r\n"
            "500 5.5.2 unknown command\r\n421 4.7.0 too many errors, closing connection\r\n");
  EXPECT_TRUE(driver.closed);
  EXPECT_EQ(driver.session.state(), State::closed);
}

TEST(LmtpSession, NothingIsProcessedAfterQuit) {
  Driver driver;
  driver.send("");
  EXPECT_EQ(driver.send("QUIT\r\nNOOP\r\n"), "221 2.0.0 mx.example closing connection\r\n");
  EXPECT_TRUE(driver.closed);
  driver.session.receive("NOOP\r\n");
  EXPECT_TRUE(std::holds_alternative<Close>(driver.session.poll()));
  EXPECT_EQ(driver.session.output(), "");
}

TEST(LmtpSession, SecondTransactionOnTheSameConnection) {
  Driver driver;
  driver.send("LHLO x\r\n");
  for (int i = 0; i < 3; ++i) {
    driver.send("MAIL FROM:<a@b>\r\nRCPT TO:<alice@example.org>\r\nDATA\r\nmessage " +
                std::to_string(i) + "\r\n.\r\n");
  }
  ASSERT_EQ(driver.deliveries.size(), 3u);
  EXPECT_EQ(driver.deliveries[2].message, "message 2\n");
  EXPECT_EQ(driver.session.delivered_messages(), 3u);
  EXPECT_EQ(driver.session.delivered_recipients(), 3u);
}

}  // namespace
}  // namespace mailport::lmtp
