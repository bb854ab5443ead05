#include "client/sink.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <vector>

#include "support/temp_dir.hpp"

namespace mailport::client {
namespace {

namespace fs = std::filesystem;
using test_support::read_file;
using test_support::TempDir;
using test_support::write_file;

constexpr std::string_view kMessage = "From: a@example.org\nSubject: hi\n\nbody\n";

struct Recorder {
  std::vector<std::string> tokens;
  ReserveFn fn() {
    return [this](std::string_view token) -> Result<void> {
      tokens.emplace_back(token);
      return {};
    };
  }
};

std::vector<fs::path> entries(const fs::path& dir) {
  std::vector<fs::path> out;
  if (!fs::exists(dir)) return out;
  for (const auto& e : fs::directory_iterator(dir)) out.push_back(e.path());
  return out;
}

Message message(std::string_view content = kMessage) {
  return Message{"uid-1", "alice@host:995", content};
}

TEST(MaildirSink, DeliversIntoNewWithTheReservedName) {
  TempDir dir;
  auto sink = make_maildir_sink(dir.path() / "Maildir");
  Recorder reserve;
  auto outcome = sink->deliver(message(), nullptr, reserve.fn());
  ASSERT_TRUE(outcome) << outcome.error().describe();
  EXPECT_EQ(*outcome, DeliveryOutcome::delivered);
  ASSERT_EQ(reserve.tokens.size(), 1u);
  const auto files = entries(dir.path() / "Maildir" / "new");
  ASSERT_EQ(files.size(), 1u);
  EXPECT_EQ(files[0].filename(), reserve.tokens[0]);
  EXPECT_NE(reserve.tokens[0].find(",S=" + std::to_string(kMessage.size())), std::string::npos);
  EXPECT_EQ(read_file(files[0]), kMessage);
  EXPECT_TRUE(entries(dir.path() / "Maildir" / "tmp").empty());
  struct stat st {};
  ASSERT_EQ(::stat(files[0].c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST(MaildirSink, CompletedEarlierAttemptIsRecognisedInNewAndInCur) {
  TempDir dir;
  const auto md = dir.path() / "Maildir";
  auto sink = make_maildir_sink(md);
  Recorder first;
  ASSERT_TRUE(sink->deliver(message(), nullptr, first.fn()));
  const std::string token = first.tokens.at(0);

  Recorder again;
  auto outcome = sink->deliver(message(), &token, again.fn());
  ASSERT_TRUE(outcome);
  EXPECT_EQ(*outcome, DeliveryOutcome::already_delivered);
  EXPECT_TRUE(again.tokens.empty());

  // A mail reader moved it to cur/ and flagged it seen.
  fs::rename(md / "new" / token, md / "cur" / (token + ":2,S"));
  outcome = sink->deliver(message(), &token, again.fn());
  ASSERT_TRUE(outcome);
  EXPECT_EQ(*outcome, DeliveryOutcome::already_delivered);
  EXPECT_EQ(entries(md / "new").size() + entries(md / "cur").size(), 1u);
}

TEST(MaildirSink, UnfinishedEarlierAttemptIsCleanedAndRedone) {
  TempDir dir;
  const auto md = dir.path() / "Maildir";
  auto sink = make_maildir_sink(md);
  Recorder probe;
  ASSERT_TRUE(sink->deliver(message("x\n"), nullptr, probe.fn()));  // creates the folders
  const std::string stale = "1700000000.M1P1Q1.host,S=3";
  write_file(md / "tmp" / stale, "par");  // killed before the link into new/
  Recorder again;
  auto outcome = sink->deliver(message(), &stale, again.fn());
  ASSERT_TRUE(outcome);
  EXPECT_EQ(*outcome, DeliveryOutcome::delivered);
  EXPECT_FALSE(fs::exists(md / "tmp" / stale));
  EXPECT_EQ(entries(md / "new").size(), 2u);
}

TEST(MaildirSink, LeftoverTmpLinkOfAFinishedAttemptIsRemoved) {
  TempDir dir;
  const auto md = dir.path() / "Maildir";
  auto sink = make_maildir_sink(md);
  Recorder first;
  ASSERT_TRUE(sink->deliver(message(), nullptr, first.fn()));
  const std::string token = first.tokens.at(0);
  // Killed after link() into new/ and before the unlink() of tmp/.
  fs::create_hard_link(md / "new" / token, md / "tmp" / token);
  Recorder again;
  auto outcome = sink->deliver(message(), &token, again.fn());
  ASSERT_TRUE(outcome);
  EXPECT_EQ(*outcome, DeliveryOutcome::already_delivered);
  EXPECT_TRUE(entries(md / "tmp").empty());
  EXPECT_EQ(read_file(md / "new" / token), kMessage);
}

TEST(MaildirSink, ReserveFailureWritesNothing) {
  TempDir dir;
  auto sink = make_maildir_sink(dir.path() / "Maildir");
  const ReserveFn failing = [](std::string_view) -> Result<void> {
    return make_error(errc::temporary_failure, "disk full");
  };
  EXPECT_FALSE(sink->deliver(message(), nullptr, failing));
  EXPECT_TRUE(entries(dir.path() / "Maildir" / "new").empty());
  EXPECT_TRUE(entries(dir.path() / "Maildir" / "tmp").empty());
}

TEST(MboxFormat, FromLineQuotingAndSeparator) {
  const std::string content =
      "Return-Path: <bounce@example.org>\nSubject: x\n\nFrom here\n>From there\n>>From "
      "far\nFromage\n";
  const std::string entry = mbox_entry(content, 0, "");
  EXPECT_EQ(entry,
            "From bounce@example.org Thu Jan  1 00:00:00 1970\n"
            "Return-Path: <bounce@example.org>\nSubject: x\n\n"
            ">From here\n>>From there\n>>>From far\nFromage\n\n");
  EXPECT_EQ(mbox_entry("a", 0, "\n").substr(0, 6), "\nFrom ");
  EXPECT_TRUE(mbox_entry("no newline", 0, "").ends_with("no newline\n\n"));
}

TEST(MboxFormat, SenderFallsBackToMailerDaemon) {
  EXPECT_EQ(mbox_sender("Subject: x\n\nReturn-Path: <late@example.org>\n"), "MAILER-DAEMON");
  EXPECT_EQ(mbox_sender("Return-Path: <>\n\n"), "MAILER-DAEMON");
  EXPECT_EQ(mbox_sender("return-path:   <a@b>\n\n"), "a@b");
  EXPECT_EQ(mbox_sender("Return-Path: <a b@c>\n\n"), "MAILER-DAEMON");
}

TEST(MboxFormat, SeparatorDependsOnHowTheFileEnds) {
  EXPECT_EQ(mbox_separator(""), "");
  EXPECT_EQ(mbox_separator("\n\n"), "");
  EXPECT_EQ(mbox_separator("x\n"), "\n");
  EXPECT_EQ(mbox_separator("xy"), "\n\n");
}

TEST(MboxSink, AppendsEntriesThatSeparateCleanly) {
  TempDir dir;
  const auto path = dir.path() / "mail" / "inbox";
  auto sink = make_mbox_sink(path);
  Recorder reserve;
  ASSERT_TRUE(sink->deliver(message("A: 1\n\nfirst"), nullptr, reserve.fn()));
  ASSERT_TRUE(sink->deliver(message("A: 2\n\nsecond\n"), nullptr, reserve.fn()));
  const std::string text = read_file(path);
  EXPECT_TRUE(text.starts_with("From MAILER-DAEMON "));
  EXPECT_NE(text.find("\nfirst\n\nFrom MAILER-DAEMON "), std::string::npos);
  EXPECT_TRUE(text.ends_with("\nsecond\n\n"));
  ASSERT_EQ(reserve.tokens.size(), 2u);
  EXPECT_TRUE(reserve.tokens[0].starts_with("0,"));
  EXPECT_EQ(reserve.tokens[1].substr(0, reserve.tokens[1].find(',')),
            std::to_string(text.find("\nFrom MAILER-DAEMON", 1) + 1));
}

TEST(MboxSink, CompleteEarlierEntryIsNotWrittenTwice) {
  TempDir dir;
  const auto path = dir.path() / "inbox";
  auto sink = make_mbox_sink(path);
  Recorder reserve;
  ASSERT_TRUE(sink->deliver(message(), nullptr, reserve.fn()));
  const std::string before = read_file(path);
  auto outcome = sink->deliver(message(), &reserve.tokens[0], reserve.fn());
  ASSERT_TRUE(outcome);
  EXPECT_EQ(*outcome, DeliveryOutcome::already_delivered);
  EXPECT_EQ(read_file(path), before);
}

TEST(MboxSink, TornEarlierEntryAtTheEndIsReplaced) {
  TempDir dir;
  const auto path = dir.path() / "inbox";
  auto sink = make_mbox_sink(path);
  Recorder reserve;
  ASSERT_TRUE(sink->deliver(message("A: 1\n\nkeep\n"), nullptr, reserve.fn()));
  ASSERT_TRUE(sink->deliver(message(), nullptr, reserve.fn()));
  const std::string full = read_file(path);
  const auto start = std::stoull(reserve.tokens[1]);
  // Killed in the middle of the second write.
  std::filesystem::resize_file(path, start + 20);
  auto outcome = sink->deliver(message(), &reserve.tokens[1], reserve.fn());
  ASSERT_TRUE(outcome);
  EXPECT_EQ(*outcome, DeliveryOutcome::delivered);
  const std::string text = read_file(path);
  EXPECT_EQ(text.substr(0, start), full.substr(0, start));
  EXPECT_EQ(text.size(), full.size());  // one complete copy, no fragment
  EXPECT_EQ(text.find("From MAILER-DAEMON", start + 1), std::string::npos);
}

TEST(MboxSink, TornEntryFollowedByOtherMailIsLeftAndTheMessageAppended) {
  TempDir dir;
  const auto path = dir.path() / "inbox";
  auto sink = make_mbox_sink(path);
  Recorder reserve;
  ASSERT_TRUE(sink->deliver(message(), nullptr, reserve.fn()));
  const auto start = std::stoull(reserve.tokens[0]);
  std::filesystem::resize_file(path, start + 10);
  {
    // Another program appended after the fragment.
    const int fd = ::open(path.c_str(), O_WRONLY | O_APPEND);
    ASSERT_GE(fd, 0);
    const std::string other = "\n\nFrom someone Thu Jan  1 00:00:00 1970\nX: y\n\n";
    ASSERT_EQ(::write(fd, other.data(), other.size()), static_cast<ssize_t>(other.size()));
    ::close(fd);
  }
  const std::string before = read_file(path);
  auto outcome = sink->deliver(message(), &reserve.tokens[0], reserve.fn());
  ASSERT_TRUE(outcome);
  EXPECT_EQ(*outcome, DeliveryOutcome::delivered);
  const std::string after = read_file(path);
  EXPECT_TRUE(after.starts_with(before));  // nothing of the other program's mail is touched
  EXPECT_TRUE(after.ends_with("\nbody\n\n"));
}

TEST(MdaSink, ExitZeroDeliversAndSeesTheUidl) {
  TempDir dir;
  const auto out = dir.path() / "out";
  auto sink = make_mda_sink("cat > '" + out.string() + "'; printf %s \"$MAILPORT_UIDL\" > '" +
                            out.string() + ".uidl'");
  EXPECT_FALSE(sink->detects_previous());
  Recorder reserve;
  auto outcome = sink->deliver(message(), nullptr, reserve.fn());
  ASSERT_TRUE(outcome) << outcome.error().describe();
  EXPECT_EQ(read_file(out), kMessage);
  EXPECT_EQ(read_file(out.string() + ".uidl"), "uid-1");
  EXPECT_EQ(reserve.tokens.size(), 1u);
}

TEST(MdaSink, NonZeroExitOrSignalIsAFailure) {
  auto failing = make_mda_sink("cat >/dev/null; exit 75");
  Recorder reserve;
  auto outcome = failing->deliver(message(), nullptr, reserve.fn());
  ASSERT_FALSE(outcome);
  EXPECT_NE(outcome.error().message.find("exited with status 75"), std::string::npos);
  auto killed = make_mda_sink("kill -9 $$");
  EXPECT_FALSE(killed->deliver(message(), nullptr, reserve.fn()));
}

TEST(MdaSink, PasswordIsNotPassedOn) {
  TempDir dir;
  ::setenv("MAILPORT_PASSWORD", "secret", 1);
  auto sink = make_mda_sink("cat >/dev/null; test -z \"${MAILPORT_PASSWORD+set}\"");
  Recorder reserve;
  EXPECT_TRUE(sink->deliver(message(), nullptr, reserve.fn()));
  ::unsetenv("MAILPORT_PASSWORD");
}

TEST(MdaSink, CommandThatIgnoresItsInputStillCountsByExitStatus) {
  const std::string big(1 << 20, 'x');
  auto sink = make_mda_sink("exit 0");
  Recorder reserve;
  EXPECT_TRUE(sink->deliver(message(big), nullptr, reserve.fn()));
}

}  // namespace
}  // namespace mailport::client
