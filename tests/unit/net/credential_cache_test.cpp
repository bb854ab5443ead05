#include "net/credential_cache.hpp"

#include <gtest/gtest.h>

namespace mailport::net {
namespace {

using namespace std::chrono_literals;
using Clock = CredentialCache::Clock;

constexpr std::string_view kRecord = "alice:{SHA512-CRYPT}$6$abc$def::::/home/alice::";

TEST(CredentialCache, DisabledCacheRemembersNothing) {
  CredentialCache cache(0s, 10);
  const auto now = Clock::now();
  cache.remember("alice", "secret", kRecord, 1, now);
  EXPECT_FALSE(cache.enabled());
  EXPECT_FALSE(cache.verified("alice", "secret", kRecord, 1, now));
  EXPECT_EQ(cache.size(), 0u);
}

TEST(CredentialCache, RemembersAVerifiedPasswordUntilTheTtl) {
  CredentialCache cache(60s, 10);
  const auto now = Clock::now();
  EXPECT_FALSE(cache.verified("alice", "secret", kRecord, 1, now)) << "nothing verified yet";
  cache.remember("alice", "secret", kRecord, 1, now);
  EXPECT_TRUE(cache.verified("alice", "secret", kRecord, 1, now + 59s));
  EXPECT_FALSE(cache.verified("alice", "secret", kRecord, 1, now + 60s));
  EXPECT_EQ(cache.size(), 0u) << "the expired entry is dropped";
}

TEST(CredentialCache, AnotherPasswordOrUserIsNotAHit) {
  CredentialCache cache(60s, 10);
  const auto now = Clock::now();
  cache.remember("alice", "secret", kRecord, 1, now);
  EXPECT_FALSE(cache.verified("alice", "secreT", kRecord, 1, now));
  EXPECT_FALSE(cache.verified("alice", "", kRecord, 1, now));
  EXPECT_FALSE(cache.verified("bob", "secret", kRecord, 1, now));
  EXPECT_FALSE(cache.verified("alicesecret", "", kRecord, 1, now));
  EXPECT_TRUE(cache.verified("alice", "secret", kRecord, 1, now))
      << "wrong guesses do not evict the owner's entry";
}

TEST(CredentialCache, AChangedRecordDropsTheEntry) {
  CredentialCache cache(60s, 10);
  const auto now = Clock::now();
  cache.remember("alice", "secret", kRecord, 1, now);
  EXPECT_FALSE(cache.verified("alice", "secret", "alice:{ARGON2ID}new::::/home/alice::", 1, now));
  EXPECT_FALSE(cache.verified("alice", "secret", kRecord, 1, now))
      << "gone for good, even if the old record came back";
}

TEST(CredentialCache, ANewUsersFileGenerationDropsEverything) {
  CredentialCache cache(60s, 10);
  const auto now = Clock::now();
  cache.remember("alice", "secret", kRecord, 1, now);
  cache.remember("bob", "hunter2", "bob:x", 1, now);
  EXPECT_FALSE(cache.verified("bob", "hunter2", "bob:x", 2, now));
  EXPECT_EQ(cache.size(), 0u);
  EXPECT_FALSE(cache.verified("alice", "secret", kRecord, 1, now));
}

TEST(CredentialCache, SizeIsBoundedAndExpiredEntriesGoFirst) {
  CredentialCache cache(60s, 3);
  const auto now = Clock::now();
  cache.remember("old", "pw", "old:x", 1, now - 61s);
  cache.remember("a", "pw", "a:x", 1, now - 2s);
  cache.remember("b", "pw", "b:x", 1, now - 1s);
  cache.remember("c", "pw", "c:x", 1, now);
  EXPECT_EQ(cache.size(), 3u);
  EXPECT_TRUE(cache.verified("a", "pw", "a:x", 1, now));
  cache.remember("d", "pw", "d:x", 1, now);
  EXPECT_EQ(cache.size(), 3u);
  EXPECT_FALSE(cache.verified("a", "pw", "a:x", 1, now)) << "closest to expiry made room";
  EXPECT_TRUE(cache.verified("d", "pw", "d:x", 1, now));
}

}  // namespace
}  // namespace mailport::net
