#include "pop3/body_encoder.hpp"

#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace mailport::pop3 {
namespace {

struct EncoderCase {
  std::string_view name;
  std::string_view input;
  std::optional<std::uint64_t> top_lines;
  std::string_view expected;  // including the terminator
};

std::string encode_in_chunks(const EncoderCase& c, std::size_t chunk) {
  BodyEncoder encoder(c.top_lines);
  std::string out;
  std::string_view rest = c.input;
  while (!rest.empty()) {
    const auto piece = rest.substr(0, chunk);
    rest.remove_prefix(piece.size());
    encoder.encode(piece, out);
  }
  encoder.finish(out);
  return out;
}

class Encoder : public ::testing::TestWithParam<EncoderCase> {};

TEST_P(Encoder, WholeInput) {
  EXPECT_EQ(encode_in_chunks(GetParam(), GetParam().input.size() + 1), GetParam().expected);
}

TEST_P(Encoder, AnyChunkSize) {
  for (std::size_t chunk : {1, 2, 3, 4, 7, 64, 512}) {
    EXPECT_EQ(encode_in_chunks(GetParam(), chunk), GetParam().expected) << "chunk " << chunk;
  }
}

TEST_P(Encoder, EverySplitPoint) {
  const auto& c = GetParam();
  for (std::size_t split = 0; split <= c.input.size(); ++split) {
    BodyEncoder encoder(c.top_lines);
    std::string out;
    encoder.encode(c.input.substr(0, split), out);
    encoder.encode(c.input.substr(split), out);
    encoder.finish(out);
    EXPECT_EQ(out, c.expected) << "split at " << split;
  }
}

INSTANTIATE_TEST_SUITE_P(
    Cases, Encoder,
    ::testing::Values(
        EncoderCase{"Empty", "", std::nullopt, ".\r\n"},
        EncoderCase{"Crlf", "A: b\r\n\r\nbody\r\n", std::nullopt, "A: b\r\n\r\nbody\r\n.\r\n"},
        EncoderCase{"Lf", "A: b\n\nbody\n", std::nullopt, "A: b\r\n\r\nbody\r\n.\r\n"},
        EncoderCase{"Mixed", "A: b\r\n\nx\ny\r\n", std::nullopt, "A: b\r\n\r\nx\r\ny\r\n.\r\n"},
        EncoderCase{"NoFinalLineEnd", "A: b\n\nlast", std::nullopt, "A: b\r\n\r\nlast\r\n.\r\n"},
        EncoderCase{"BareCrPassesThrough", "a\rb\n", std::nullopt, "a\rb\r\n.\r\n"},
        EncoderCase{"FinalBareCr", "a\r", std::nullopt, "a\r\r\n.\r\n"},
        EncoderCase{"CrCrLf", "a\r\r\n", std::nullopt, "a\r\r\n.\r\n"},
        EncoderCase{"LoneDotLine", "A: b\n\n.\nafter\n", std::nullopt,
                    "A: b\r\n\r\n..\r\nafter\r\n.\r\n"},
        EncoderCase{"DoubleDot", "..x\r\n", std::nullopt, "...x\r\n.\r\n"},
        EncoderCase{"DotAtStartOfInput", ".", std::nullopt, "..\r\n.\r\n"},
        EncoderCase{"DotNotAtLineStart", "a.b\n.c\nd.\n", std::nullopt,
                    "a.b\r\n..c\r\nd.\r\n.\r\n"},
        EncoderCase{"DotAfterBareCrIsMidLine", "a\r.b\n", std::nullopt, "a\r.b\r\n.\r\n"},
        EncoderCase{"CrlfDotCrlf", "x\r\n.\r\ny\r\n", std::nullopt, "x\r\n..\r\ny\r\n.\r\n"},
        EncoderCase{"OnlyNewlines", "\n\n", std::nullopt, "\r\n\r\n.\r\n"},
        EncoderCase{"TopZero", "A: b\nC: d\n\nl1\nl2\n", 0, "A: b\r\nC: d\r\n\r\n.\r\n"},
        EncoderCase{"TopOne", "A: b\n\nl1\nl2\n", 1, "A: b\r\n\r\nl1\r\n.\r\n"},
        EncoderCase{"TopTwoCrlf", "A: b\r\n\r\nl1\r\n.l2\r\nl3\r\n", 2,
                    "A: b\r\n\r\nl1\r\n..l2\r\n.\r\n"},
        EncoderCase{"TopMoreThanBody", "A: b\n\nl1", 5, "A: b\r\n\r\nl1\r\n.\r\n"},
        EncoderCase{"TopHeadersOnly", "A: b\nC: d", 0, "A: b\r\nC: d\r\n.\r\n"},
        EncoderCase{"TopHeadersOnlyWithLineEnd", "A: b\n", 3, "A: b\r\n.\r\n"},
        EncoderCase{"TopEmptyMessage", "", 0, ".\r\n"},
        EncoderCase{"TopSeparatorFirst", "\nbody\nmore\n", 1, "\r\nbody\r\n.\r\n"},
        EncoderCase{"TopCrInHeaderLineIsNotBlank", "A\n\r\r\nB\n\nbody\n", 0,
                    "A\r\n\r\r\nB\r\n\r\n.\r\n"},
        EncoderCase{"TopDotInHeader", ".A: b\n\n.\n", 1, "..A: b\r\n\r\n..\r\n.\r\n"}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(BodyEncoder, DoneOnlyOnceTopHasEverything) {
  BodyEncoder encoder(1);
  std::string out;
  encoder.encode("A: b\n", out);
  EXPECT_FALSE(encoder.done());
  encoder.encode("\n", out);
  EXPECT_FALSE(encoder.done());
  encoder.encode("l1", out);
  EXPECT_FALSE(encoder.done());
  encoder.encode("\r", out);
  EXPECT_FALSE(encoder.done());
  encoder.encode("\nl2\n", out);
  EXPECT_TRUE(encoder.done());
  encoder.encode("ignored\n", out);
  encoder.finish(out);
  EXPECT_EQ(out, "A: b\r\n\r\nl1\r\n.\r\n");
}

TEST(BodyEncoder, RetrIsNeverDone) {
  BodyEncoder encoder;
  std::string out;
  encoder.encode("A: b\n\nx\n", out);
  EXPECT_FALSE(encoder.done());
}

TEST(BodyEncoder, LargeTopLineCountNeverStops) {
  BodyEncoder encoder(UINT64_MAX);
  std::string out;
  encoder.encode("A\n\n1\n2\n3\n", out);
  EXPECT_FALSE(encoder.done());
  encoder.finish(out);
  EXPECT_EQ(out, "A\r\n\r\n1\r\n2\r\n3\r\n.\r\n");
}

TEST(WireOctets, CountsBareLfAsCrlf) {
  EXPECT_EQ(wire_octets(""), 0U);
  EXPECT_EQ(wire_octets("a\n"), 3U);
  EXPECT_EQ(wire_octets("a\r\n"), 3U);
  EXPECT_EQ(wire_octets("\n\n"), 4U);
  EXPECT_EQ(wire_octets("a\rb"), 3U);
  EXPECT_EQ(wire_octets(".x\n"), 4U);  // no dot-stuffing in the size
  EXPECT_EQ(wire_octets("Subject: two\n\n.hidden\nlast"), 29U);
}

}  // namespace
}  // namespace mailport::pop3
