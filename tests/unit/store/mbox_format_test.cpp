// MboxScanner and the append format: message boundaries, sizes, UIDLs, quoting, and the same
// result however the spool is split into chunks.
#include "store/mbox_format.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace mailport::store {
namespace {

std::vector<MboxEntry> scan_all(std::string_view spool, std::size_t chunk) {
  MboxScanner scanner;
  for (std::size_t pos = 0; pos < spool.size(); pos += chunk) {
    scanner.feed(spool.substr(pos, chunk));
  }
  return scanner.finish();
}

std::string content(std::string_view spool, const MboxEntry& e) {
  return std::string(spool.substr(e.content_offset, e.content_length));
}

const std::string kSpool =
    "From alice@example.org Mon Jan  1 00:00:00 2024\n"
    "Subject: one\n"
    "\n"
    "body\n"
    ">From the quoted line\n"
    "\n"
    "From bob@example.org Mon Jan  1 00:00:01 2024\n"
    "Subject: two\r\n"
    "X-UIDL: legacy-id-42\n"
    "\n"
    "no blank line before this From is not a separator\n"
    "From inside the body\n"
    "\n"
    "From MAILER-DAEMON Mon Jan  1 00:00:02 2024\n"
    "Subject: three\n"
    "\n"
    "last\n"
    "\n";

TEST(MboxScanner, SplitsAtFromLinesAfterEmptyLinesAtEveryChunkSize) {
  for (std::size_t chunk = 1; chunk <= kSpool.size(); ++chunk) {
    const auto entries = scan_all(kSpool, chunk);
    ASSERT_EQ(entries.size(), 3u) << "chunk " << chunk;
    EXPECT_EQ(content(kSpool, entries[0]), "Subject: one\n\nbody\n>From the quoted line\n");
    EXPECT_EQ(content(kSpool, entries[1]),
              "Subject: two\r\nX-UIDL: legacy-id-42\n\nno blank line before this From is not a "
              "separator\nFrom inside the body\n");
    EXPECT_EQ(content(kSpool, entries[2]), "Subject: three\n\nlast\n");
    EXPECT_EQ(entries[0].from_offset, 0u);
    EXPECT_EQ(kSpool.substr(entries[2].from_offset, 5), "From ");
    // Wire sizes: every LF counted as CRLF, an existing CRLF stays two octets.
    EXPECT_EQ(entries[0].wire_size, content(kSpool, entries[0]).size() + 4);
    EXPECT_EQ(entries[1].wire_size, content(kSpool, entries[1]).size() + 4);
    EXPECT_EQ(entries[1].uidl, "legacy-id-42");
    EXPECT_TRUE(entries[0].uidl.starts_with("mbox-")) << entries[0].uidl;
    EXPECT_EQ(entries[0].uidl.size(), 37u);
  }
}

TEST(MboxScanner, UidlDependsOnFromLineAndHeadersOnly) {
  const auto a = scan_all("From a Mon\nSubject: x\n\nbody one\n", 7);
  const auto b = scan_all("From a Mon\nSubject: x\n\nbody two, longer\n", 7);
  const auto c = scan_all("From a Mon\nSubject: y\n\nbody one\n", 7);
  EXPECT_EQ(a.at(0).uidl, b.at(0).uidl);
  EXPECT_NE(a.at(0).uidl, c.at(0).uidl);
}

TEST(MboxScanner, MessageWithoutFinalNewlineOrSeparator) {
  const std::string spool = "From a\nx\n\nFrom b\ny";
  const auto entries = scan_all(spool, 3);
  ASSERT_EQ(entries.size(), 2u);
  EXPECT_EQ(content(spool, entries[0]), "x\n");
  EXPECT_EQ(content(spool, entries[1]), "y");
  EXPECT_EQ(entries[1].wire_size, 1u);
}

TEST(MboxScanner, GarbageBeforeTheFirstFromLineIsSkipped) {
  MboxScanner scanner;
  scanner.feed("not a mailbox\n\nFrom a\nx\n");
  const auto entries = scanner.finish();
  EXPECT_TRUE(scanner.had_garbage());
  ASSERT_EQ(entries.size(), 1u);
  EXPECT_EQ(entries[0].from_offset, 15u);
}

TEST(MboxScanner, EmptyInputHasNoMessages) {
  EXPECT_TRUE(scan_all("", 1).empty());
}

TEST(MboxScanner, StartOffsetShiftsEverything) {
  MboxScanner scanner(1000);
  scanner.feed("From a\nx\n\n");
  const auto entries = scanner.finish();
  ASSERT_EQ(entries.size(), 1u);
  EXPECT_EQ(entries[0].from_offset, 1000u);
  EXPECT_EQ(entries[0].content_offset, 1007u);
  EXPECT_EQ(entries[0].content_length, 2u);
}

TEST(MboxEntryFormat, QuotesFromLinesAndEndsWithAnEmptyLine) {
  EXPECT_EQ(mbox_entry("Subject: x\n\nFrom here\n>From there\nFrom\n", "From s d\n", 0),
            "From s d\nSubject: x\n\n>From here\n>From there\nFrom\n\n");
  EXPECT_EQ(mbox_entry("no newline", "From s d\n", 2), "\n\nFrom s d\nno newline\n\n");
}

TEST(MboxEntryFormat, FromLineUsesMailerDaemonForTheNullSender) {
  const std::string line = mbox_from_line("", 0);
  EXPECT_TRUE(line.starts_with("From MAILER-DAEMON ")) << line;
  EXPECT_TRUE(line.ends_with("1970\n") || line.ends_with("1969\n")) << line;
  EXPECT_TRUE(mbox_from_line("a@b", 0).starts_with("From a@b "));
}

TEST(MboxEntryFormat, WhatIsWrittenScansBackToTheQuotedMessage) {
  const std::string message = "Subject: x\n\nFrom me\n\nFrom you\n";
  const std::string spool =
      mbox_entry("first\n", "From a d\n", 0) + mbox_entry(message, "From b d\n", 0);
  const auto entries = scan_all(spool, 5);
  ASSERT_EQ(entries.size(), 2u);
  EXPECT_EQ(content(spool, entries[0]), "first\n");
  EXPECT_EQ(content(spool, entries[1]), "Subject: x\n\n>From me\n\n>From you\n");
}

}  // namespace
}  // namespace mailport::store
