// The MailStore contract, run against every backend.
#include <gtest/gtest.h>

#include <array>
#include <string>
#include <vector>

#include "store_harness.hpp"

namespace mailport::store::testing {
namespace {

const std::string kAlice = "alice@example.org";
const std::string kBob = "bob@example.org";

std::unique_ptr<Mailbox> open_ok(MailStore& store, const std::string& login) {
  auto box = store.open(UserContext{login, ""});
  EXPECT_TRUE(box.ok()) << (box.ok() ? "" : box.error().describe());
  return box.ok() ? std::move(*box) : nullptr;
}

std::vector<std::string> uidls_of(const Mailbox& box) {
  std::vector<std::string> out;
  for (const auto& message : box.messages()) out.push_back(message.uidl);
  return out;
}

// Reads through a small buffer so that several read() calls are needed.
std::string read_all(Mailbox& box, std::size_t index) {
  auto reader = box.open_message(index);
  EXPECT_TRUE(reader.ok());
  if (!reader.ok()) return {};
  std::string out;
  std::array<char, 3> buffer{};
  for (int round = 0; round < 10000; ++round) {
    auto n = (*reader)->read(buffer);
    EXPECT_TRUE(n.ok());
    if (!n.ok() || *n == 0) break;
    out.append(buffer.data(), *n);
  }
  return out;
}

template <class Harness>
class StoreContract : public ::testing::Test {
 protected:
  Harness harness_;
};

using Backends = ::testing::Types<MemoryHarness, MaildirHarness>;
TYPED_TEST_SUITE(StoreContract, Backends);

TYPED_TEST(StoreContract, NewUserGetsAnEmptyMaildrop) {
  auto box = open_ok(this->harness_.store(), kAlice);
  ASSERT_TRUE(box);
  EXPECT_TRUE(box->messages().empty());
}

TYPED_TEST(StoreContract, SnapshotListsMessagesInDeliveryOrderWithWireSizes) {
  const std::string first = this->harness_.deliver(kAlice, "Subject: a\n\nbody\n");
  const std::string second = this->harness_.deliver(kAlice, "Subject: b\r\n\r\nx");
  auto box = open_ok(this->harness_.store(), kAlice);
  ASSERT_TRUE(box);
  ASSERT_EQ(box->messages().size(), 2u);
  EXPECT_EQ(uidls_of(*box), (std::vector<std::string>{first, second}));
  EXPECT_EQ(box->messages()[0].octets, 20u);
  EXPECT_EQ(box->messages()[1].octets, 15u);
}

TYPED_TEST(StoreContract, OpenMessageStreamsTheStoredBytes) {
  const std::string content = "Subject: raw\n\nline one\nline two\r\nend";
  this->harness_.deliver(kAlice, content);
  auto box = open_ok(this->harness_.store(), kAlice);
  ASSERT_TRUE(box);
  EXPECT_EQ(read_all(*box, 0), content);
}

TYPED_TEST(StoreContract, MailDeliveredAfterOpenWaitsForTheNextSession) {
  const std::string early = this->harness_.deliver(kAlice, "early\n");
  {
    auto box = open_ok(this->harness_.store(), kAlice);
    ASSERT_TRUE(box);
    this->harness_.deliver(kAlice, "late\n");
    EXPECT_EQ(uidls_of(*box), std::vector<std::string>{early});
  }
  auto box = open_ok(this->harness_.store(), kAlice);
  ASSERT_TRUE(box);
  EXPECT_EQ(box->messages().size(), 2u);
}

TYPED_TEST(StoreContract, SecondSessionIsInUseUntilTheFirstEnds) {
  auto first = open_ok(this->harness_.store(), kAlice);
  ASSERT_TRUE(first);
  auto second = this->harness_.store().open(UserContext{kAlice, ""});
  ASSERT_FALSE(second.ok());
  EXPECT_TRUE(second.error().is(errc::in_use));
  first.reset();
  EXPECT_TRUE(open_ok(this->harness_.store(), kAlice));
}

TYPED_TEST(StoreContract, LockIsPerMaildrop) {
  auto alice = open_ok(this->harness_.store(), kAlice);
  auto bob = open_ok(this->harness_.store(), kBob);
  EXPECT_TRUE(alice);
  EXPECT_TRUE(bob);
}

TYPED_TEST(StoreContract, UidlsAreStableAcrossSessions) {
  this->harness_.deliver(kAlice, "one\n");
  this->harness_.deliver(kAlice, "two\n");
  std::vector<std::string> before;
  {
    auto box = open_ok(this->harness_.store(), kAlice);
    ASSERT_TRUE(box);
    before = uidls_of(*box);
  }
  auto box = open_ok(this->harness_.store(), kAlice);
  ASSERT_TRUE(box);
  EXPECT_EQ(uidls_of(*box), before);
  EXPECT_NE(before[0], before[1]);
}

TYPED_TEST(StoreContract, ExpungeRemovesExactlyTheGivenMessages) {
  this->harness_.deliver(kAlice, "one\n");
  const std::string keep = this->harness_.deliver(kAlice, "two\n");
  this->harness_.deliver(kAlice, "three\n");
  {
    auto box = open_ok(this->harness_.store(), kAlice);
    ASSERT_TRUE(box);
    const std::array<std::size_t, 3> doomed{2, 0, 2};
    EXPECT_TRUE(box->expunge(doomed).ok());
    auto gone = box->open_message(0);
    ASSERT_FALSE(gone.ok());
    EXPECT_TRUE(gone.error().is(errc::not_found));
  }
  EXPECT_EQ(this->harness_.stored(kAlice), 1u);
  auto box = open_ok(this->harness_.store(), kAlice);
  ASSERT_TRUE(box);
  EXPECT_EQ(uidls_of(*box), std::vector<std::string>{keep});
}

TYPED_TEST(StoreContract, ExpungeWithABadIndexRemovesNothing) {
  this->harness_.deliver(kAlice, "one\n");
  auto box = open_ok(this->harness_.store(), kAlice);
  ASSERT_TRUE(box);
  const std::array<std::size_t, 2> indices{0, 1};
  auto result = box->expunge(indices);
  ASSERT_FALSE(result.ok());
  EXPECT_TRUE(result.error().is(errc::invalid_input));
  EXPECT_EQ(this->harness_.stored(kAlice), 1u);
}

TYPED_TEST(StoreContract, VanishedMessageIsNotFoundAndCountsAsExpunged) {
  const std::string doomed = this->harness_.deliver(kAlice, "one\n");
  this->harness_.deliver(kAlice, "two\n");
  auto box = open_ok(this->harness_.store(), kAlice);
  ASSERT_TRUE(box);
  this->harness_.vanish(kAlice, doomed);
  auto reader = box->open_message(0);
  ASSERT_FALSE(reader.ok());
  EXPECT_TRUE(reader.error().is(errc::not_found));
  EXPECT_EQ(read_all(*box, 1), "two\n");
  const std::array<std::size_t, 2> all{0, 1};
  EXPECT_TRUE(box->expunge(all).ok());
  EXPECT_EQ(this->harness_.stored(kAlice), 0u);
}

TYPED_TEST(StoreContract, MessageWithChangedFlagsIsStillServedAndExpunged) {
  const std::string uidl = this->harness_.deliver(kAlice, "flagged\n");
  auto box = open_ok(this->harness_.store(), kAlice);
  ASSERT_TRUE(box);
  this->harness_.change_flags(kAlice, uidl);
  EXPECT_EQ(read_all(*box, 0), "flagged\n");
  this->harness_.change_flags(kAlice, uidl);
  const std::array<std::size_t, 1> first{0};
  EXPECT_TRUE(box->expunge(first).ok());
  EXPECT_EQ(this->harness_.stored(kAlice), 0u);
}

TYPED_TEST(StoreContract, OpenMessageOutOfRangeIsInvalid) {
  auto box = open_ok(this->harness_.store(), kAlice);
  ASSERT_TRUE(box);
  auto reader = box->open_message(0);
  ASSERT_FALSE(reader.ok());
  EXPECT_TRUE(reader.error().is(errc::invalid_input));
}

}  // namespace
}  // namespace mailport::store::testing
