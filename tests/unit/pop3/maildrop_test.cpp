#include "pop3/maildrop.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>

namespace mailport::pop3 {
namespace {

TEST(ParseDecimal, DigitsOnly) {
  EXPECT_EQ(parse_decimal("0"), 0U);
  EXPECT_EQ(parse_decimal("42"), 42U);
  EXPECT_EQ(parse_decimal("007"), 7U);
  for (auto bad : {"", "-1", "+1", " 1", "1 ", "1a", "0x10", "1.0", "\xd9\xa1"}) {
    EXPECT_FALSE(parse_decimal(bad)) << bad;
  }
}

TEST(ParseDecimal, HugeValuesSaturate) {
  constexpr auto kMax = std::numeric_limits<std::uint64_t>::max();
  EXPECT_EQ(parse_decimal("18446744073709551615"), kMax);
  EXPECT_EQ(parse_decimal("18446744073709551616"), kMax);
  EXPECT_EQ(parse_decimal(std::string(5000, '9')), kMax);
}

Maildrop sample() {
  return Maildrop({{100, "a"}, {200, "b"}, {300, "c"}});
}

TEST(Maildrop, FindMapsNumbersToIndices) {
  const auto drop = sample();
  EXPECT_EQ(*drop.find("1"), 0U);
  EXPECT_EQ(*drop.find("3"), 2U);
  EXPECT_TRUE(drop.find("0").error().is(errc::not_found));
  EXPECT_TRUE(drop.find("4").error().is(errc::not_found));
  EXPECT_TRUE(drop.find("99999999999999999999999").error().is(errc::not_found));
  EXPECT_TRUE(drop.find("x").error().is(errc::invalid_input));
  EXPECT_EQ(drop.find("4").error().message, "No such message.");
}

TEST(Maildrop, DeletionMarksAndTotals) {
  auto drop = sample();
  EXPECT_EQ(drop.live_count(), 3U);
  EXPECT_EQ(drop.live_octets(), 600U);
  drop.mark_deleted(1);
  drop.mark_deleted(1);  // marking twice changes nothing
  EXPECT_EQ(drop.live_count(), 2U);
  EXPECT_EQ(drop.live_octets(), 400U);
  EXPECT_EQ(drop.deleted_count(), 1U);
  EXPECT_EQ(drop.find("2").error().message, "Message is marked deleted.");
  EXPECT_EQ(drop.deleted_indices(), (std::vector<std::size_t>{1}));
  drop.mark_deleted(0);
  EXPECT_EQ(drop.deleted_indices(), (std::vector<std::size_t>{0, 1}));
  drop.unmark_all();
  EXPECT_EQ(drop.live_count(), 3U);
  EXPECT_EQ(drop.live_octets(), 600U);
  EXPECT_TRUE(drop.deleted_indices().empty());
  EXPECT_EQ(*drop.find("2"), 1U);
}

TEST(Maildrop, TotalsBeyondFourGibibytes) {
  constexpr std::uint64_t kThreeGiB = 3ULL << 30;
  Maildrop drop({{kThreeGiB, "a"}, {kThreeGiB, "b"}});
  EXPECT_EQ(drop.live_octets(), 2 * kThreeGiB);
  drop.mark_deleted(0);
  EXPECT_EQ(drop.live_octets(), kThreeGiB);
}

TEST(Maildrop, EmptySnapshot) {
  Maildrop drop;
  EXPECT_EQ(drop.size(), 0U);
  EXPECT_EQ(drop.live_count(), 0U);
  EXPECT_TRUE(drop.find("1").error().is(errc::not_found));
}

}  // namespace
}  // namespace mailport::pop3
