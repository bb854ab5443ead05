// DataDecoder: the end-of-data line, dot-unstuffing, LF storage and the size limit, with the
// input split at every possible point.
#include "lmtp/data_decoder.hpp"

#include <gtest/gtest.h>

#include <string>

namespace mailport::lmtp {
namespace {

struct Decoded {
  std::string message;
  std::size_t used = 0;
  bool done = false;
  bool too_big = false;
  std::uint64_t size = 0;
};

Decoded decode(std::string_view input, std::size_t chunk, std::uint64_t limit = 1 << 20) {
  DataDecoder decoder;
  decoder.start(limit);
  Decoded result;
  for (std::size_t pos = 0; pos < input.size() && !decoder.done(); pos += chunk) {
    const std::string_view piece = input.substr(pos, chunk);
    const std::size_t used = decoder.feed(piece);
    result.used += used;
    if (used < piece.size()) {
      EXPECT_TRUE(decoder.done());
    }
  }
  result.done = decoder.done();
  result.too_big = decoder.too_big();
  result.size = decoder.size();
  result.message = decoder.take_message();
  return result;
}

struct Case {
  const char* name;
  std::string input;
  std::string message;
  std::size_t used;
};

class DecodeEveryChunking : public ::testing::TestWithParam<Case> {};

TEST_P(DecodeEveryChunking, SameResult) {
  const Case& c = GetParam();
  for (std::size_t chunk = 1; chunk <= c.input.size(); ++chunk) {
    const Decoded d = decode(c.input, chunk);
    EXPECT_TRUE(d.done) << "chunk " << chunk;
    EXPECT_EQ(d.message, c.message) << "chunk " << chunk;
    EXPECT_EQ(d.used, c.used) << "chunk " << chunk;
  }
}

INSTANTIATE_TEST_SUITE_P(
    Cases, DecodeEveryChunking,
    ::testing::Values(Case{"Empty", ".\r\n", "", 3},
                      Case{"Simple", "Subject: x\r\n\r\nbody\r\n.\r\n", "Subject: x\n\nbody\n", 23},
                      Case{"Unstuffing", "..\r\n...x\r\n.y\r\n.\r\n", ".\n..x\ny\n", 17},
                      Case{"CommandsAfterTheEnd", "a\r\n.\r\nQUIT\r\n", "a\n", 6},
                      Case{"BareLfLineEnds", "a\n.\nQUIT\n", "a\n", 4},
                      Case{"BareCrIsData", "a\rb\r\n.\r\r\n.\r\n", "a\rb\n\r\n", 12},
                      Case{"DotNotAtLineStart", "a.\r\n .\r\n.\r\n", "a.\n .\n", 11},
                      Case{"EightBitAndNul", std::string("\xe9t\xe9\0x\r\n.\r\n", 10),
                           std::string("\xe9t\xe9\0x\n", 6), 10}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(DataDecoder, NotDoneWithoutTheDotLine) {
  const Decoded d = decode("a\r\n.x\r\n", 100);
  EXPECT_FALSE(d.done);
  EXPECT_EQ(d.message, "a\nx\n");
  EXPECT_EQ(d.used, 7u);
}

TEST(DataDecoder, SizeCountsCrlfAndStopsStoringPastTheLimit) {
  const Decoded fits = decode("12345678\r\n.\r\n", 3, 10);
  EXPECT_FALSE(fits.too_big);
  EXPECT_EQ(fits.size, 10u);
  EXPECT_EQ(fits.message, "12345678\n");
  const std::string big(100000, 'x');
  const Decoded over = decode(big + "\r\n" + big + "\r\n.\r\nQUIT\r\n", 4096, 1000);
  EXPECT_TRUE(over.done);
  EXPECT_TRUE(over.too_big);
  EXPECT_EQ(over.size, 200004u);
  EXPECT_LE(over.message.size(), 1000u);
  EXPECT_EQ(over.used, 200004u + 3);
}

}  // namespace
}  // namespace mailport::lmtp
