#include "pop3/line_reader.hpp"

#include <gtest/gtest.h>

#include <string>

namespace mailport::pop3 {
namespace {

using Problem = LineReader::Problem;

TEST(LineReader, SplitsCrlfAndBareLf) {
  LineReader reader(255);
  reader.feed("STAT\r\nLIST 1\nNOOP", 255);
  auto line = reader.next(255);
  ASSERT_TRUE(line);
  EXPECT_EQ(line->text, "STAT");
  EXPECT_EQ(line->problem, Problem::none);
  line = reader.next(255);
  ASSERT_TRUE(line);
  EXPECT_EQ(line->text, "LIST 1");
  EXPECT_FALSE(reader.next(255));
  reader.feed("\r\n", 255);
  line = reader.next(255);
  ASSERT_TRUE(line);
  EXPECT_EQ(line->text, "NOOP");
  EXPECT_EQ(reader.buffered(), 0U);
}

TEST(LineReader, CrAtChunkEndThenLf) {
  LineReader reader(255);
  reader.feed("NOOP\r", 255);
  EXPECT_FALSE(reader.next(255));
  reader.feed("\n", 255);
  auto line = reader.next(255);
  ASSERT_TRUE(line);
  EXPECT_EQ(line->text, "NOOP");
  EXPECT_EQ(line->problem, Problem::none);
}

TEST(LineReader, ControlBytesInvalidateTheWholeLine) {
  for (std::string bad : {std::string("USER alice\0junk", 15), std::string("USER al\rice"),
                          std::string("USER \x01"), std::string("USER\tx"), std::string("A\x7f")}) {
    LineReader reader(255);
    reader.feed(bad + "\r\nNOOP\r\n", 255);
    auto line = reader.next(255);
    ASSERT_TRUE(line);
    EXPECT_EQ(line->problem, Problem::control_byte) << bad;
    line = reader.next(255);
    ASSERT_TRUE(line);
    EXPECT_EQ(line->problem, Problem::none);
    EXPECT_EQ(line->text, "NOOP");
  }
}

TEST(LineReader, HighBytesAreAllowed) {
  LineReader reader(255);
  reader.feed("USER j\xc3\xb6rg\r\n", 255);
  auto line = reader.next(255);
  ASSERT_TRUE(line);
  EXPECT_EQ(line->problem, Problem::none);
}

TEST(LineReader, LimitCountsTheLineEnd) {
  const std::string fits_crlf = std::string(253, 'a') + "\r\n";
  const std::string fits_lf = std::string(254, 'a') + "\n";
  const std::string over_crlf = std::string(254, 'a') + "\r\n";
  const std::string over_lf = std::string(255, 'a') + "\n";
  for (const auto& [input, problem] :
       {std::pair{fits_crlf, Problem::none}, std::pair{fits_lf, Problem::none},
        std::pair{over_crlf, Problem::too_long}, std::pair{over_lf, Problem::too_long}}) {
    LineReader reader(255);
    reader.feed(input, 255);
    auto line = reader.next(255);
    ASSERT_TRUE(line);
    EXPECT_EQ(line->problem, problem) << input.size();
    EXPECT_EQ(reader.buffered(), 0U);
  }
}

TEST(LineReader, OverlongPartialLineIsReportedAtOnceAndDiscarded) {
  LineReader reader(255);
  reader.feed(std::string(300, 'x'), 255);
  EXPECT_LE(reader.buffered(), 255U);
  auto line = reader.next(255);
  ASSERT_TRUE(line);
  EXPECT_EQ(line->problem, Problem::too_long);
  EXPECT_FALSE(reader.next(255));
  reader.feed(std::string(1000, 'y'), 255);
  EXPECT_EQ(reader.buffered(), 0U);
  EXPECT_FALSE(reader.next(255));
  reader.feed("yyy\r\nNOOP\r\n", 255);
  line = reader.next(255);
  ASSERT_TRUE(line);
  EXPECT_EQ(line->problem, Problem::none);
  EXPECT_EQ(line->text, "NOOP");
}

TEST(LineReader, OneMebibyteLineKeepsMemoryBounded) {
  LineReader reader(8192);
  reader.feed("NOOP\r\n", 255);
  const std::string chunk(4096, 'z');
  for (int i = 0; i < 256; ++i) {
    reader.feed(chunk, 255);
    // A complete line is still queued in front, so the cap is the largest limit.
    EXPECT_LE(reader.buffered(), 6U + 8192U);
  }
  reader.feed("\r\nSTAT\r\n", 255);
  auto line = reader.next(255);
  ASSERT_TRUE(line);
  EXPECT_EQ(line->text, "NOOP");
  line = reader.next(255);
  ASSERT_TRUE(line);
  EXPECT_EQ(line->problem, Problem::too_long);
  line = reader.next(255);
  ASSERT_TRUE(line);
  EXPECT_EQ(line->text, "STAT");
  EXPECT_FALSE(reader.next(255));
}

TEST(LineReader, LineQueuedBehindAnotherGetsTheLargerLimit) {
  LineReader reader(8192);
  // The second line might be a SASL response: it may not be cut at the command limit.
  reader.feed("AUTH PLAIN\r\n" + std::string(1000, 'A'), 255);
  auto line = reader.next(255);
  ASSERT_TRUE(line);
  EXPECT_EQ(line->text, "AUTH PLAIN");
  EXPECT_FALSE(reader.next(8192));
  reader.feed("==\r\n", 8192);
  line = reader.next(8192);
  ASSERT_TRUE(line);
  EXPECT_EQ(line->problem, Problem::none);
  EXPECT_EQ(line->text.size(), 1002U);
}

TEST(LineReader, QueuedLineOverTheNextLimitIsTooLongOnceItsTurnComes) {
  LineReader reader(8192);
  reader.feed("NOOP\r\n" + std::string(1000, 'A'), 255);
  ASSERT_TRUE(reader.next(255));
  auto line = reader.next(255);
  ASSERT_TRUE(line);
  EXPECT_EQ(line->problem, Problem::too_long);
  reader.feed("AAAA\r\nQUIT\r\n", 255);
  line = reader.next(255);
  ASSERT_TRUE(line);
  EXPECT_EQ(line->text, "QUIT");
}

TEST(LineReader, CutLineWithItsEndAlreadyReceived) {
  LineReader reader(255);
  reader.feed("NOOP\r\n" + std::string(300, 'x'), 255);
  reader.feed("x\r\nQUIT\r\n", 255);
  auto line = reader.next(255);
  ASSERT_TRUE(line);
  EXPECT_EQ(line->text, "NOOP");
  line = reader.next(255);
  ASSERT_TRUE(line);
  EXPECT_EQ(line->problem, Problem::too_long);
  line = reader.next(255);
  ASSERT_TRUE(line);
  EXPECT_EQ(line->text, "QUIT");
  EXPECT_FALSE(reader.next(255));
}

TEST(LineReader, ClearForgetsEverythingIncludingDiscardMode) {
  LineReader reader(255);
  reader.feed("STLS\r\nUSER x\r\n" + std::string(400, 'x'), 255);
  ASSERT_TRUE(reader.next(255));
  reader.clear();
  EXPECT_EQ(reader.buffered(), 0U);
  EXPECT_FALSE(reader.next(255));
  reader.feed("CAPA\r\n", 255);
  auto line = reader.next(255);
  ASSERT_TRUE(line);
  EXPECT_EQ(line->text, "CAPA");
}

TEST(LineReader, EmptyLine) {
  LineReader reader(255);
  reader.feed("\r\n\n", 255);
  for (int i = 0; i < 2; ++i) {
    auto line = reader.next(255);
    ASSERT_TRUE(line);
    EXPECT_EQ(line->text, "");
    EXPECT_EQ(line->problem, Problem::none);
  }
}

}  // namespace
}  // namespace mailport::pop3
