#include "store/crlf_size.hpp"

#include <gtest/gtest.h>

namespace mailport::store {
namespace {

TEST(CrlfSize, CountsEveryLineEndAsTwoOctets) {
  EXPECT_EQ(crlf_size(""), 0u);
  EXPECT_EQ(crlf_size("abc"), 3u);
  EXPECT_EQ(crlf_size("a\nb\n"), 6u);
  EXPECT_EQ(crlf_size("a\r\nb\r\n"), 6u);
  EXPECT_EQ(crlf_size("\n\n"), 4u);
}

TEST(CrlfSize, BareCrCountsOne) {
  EXPECT_EQ(crlf_size("a\rb"), 3u);
  EXPECT_EQ(crlf_size("\r\r\n"), 3u);
  EXPECT_EQ(crlf_size("a\r\nb\nc\rd"), 9u);
}

TEST(CrlfSize, CrAtChunkEndPairsWithLfOfNextChunk) {
  CrlfSizeCounter counter;
  counter.feed("line\r");
  counter.feed("\nnext\n");
  EXPECT_EQ(counter.total(), crlf_size("line\r\nnext\n"));
  EXPECT_EQ(counter.total(), 12u);
}

TEST(CrlfSize, LfAtChunkStartAfterPlainChunkIsBare) {
  CrlfSizeCounter counter;
  counter.feed("a");
  counter.feed("\n");
  EXPECT_EQ(counter.total(), 3u);
}

}  // namespace
}  // namespace mailport::store
