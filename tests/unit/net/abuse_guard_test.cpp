#include "net/abuse_guard.hpp"

#include <gtest/gtest.h>

#include <vector>

namespace mailport::net {
namespace {

using namespace std::chrono_literals;
asio::ip::address ip(const char* text) {
  return asio::ip::make_address(text);
}

AbuseSettings small_settings() {
  AbuseSettings settings;
  settings.max_connections = 5;
  settings.max_connections_per_ip = 2;
  settings.failure_delay = 100ms;
  settings.max_failure_delay = 700ms;
  settings.ban_after_failures = 4;
  settings.failure_window = 60s;
  settings.ban_duration = 60s;
  return settings;
}

TEST(Cidr, ParsesAndMatches) {
  struct Case {
    const char* cidr;
    const char* address;
    bool inside;
  } cases[] = {
      {"10.0.0.0/8", "10.200.3.4", true},
      {"10.0.0.0/8", "11.0.0.1", false},
      {"127.0.0.1", "127.0.0.1", true},
      {"127.0.0.1", "127.0.0.2", false},
      {"192.168.1.0/25", "192.168.1.127", true},
      {"192.168.1.0/25", "192.168.1.128", false},
      {"::1", "::1", true},
      {"2001:db8::/32", "2001:db8:1::5", true},
      {"2001:db8::/32", "2001:db9::1", false},
      {"10.0.0.0/8", "::ffff:10.1.1.1", true},
      {"0.0.0.0/0", "203.0.113.9", true},
      {"10.0.0.0/8", "2001:db8::1", false},
  };
  for (const auto& c : cases) {
    auto cidr = parse_cidr(c.cidr);
    ASSERT_TRUE(cidr) << c.cidr;
    EXPECT_EQ(cidr->contains(ip(c.address)), c.inside) << c.cidr << " " << c.address;
  }
}

TEST(Cidr, RejectsMalformed) {
  for (const char* bad :
       {"", "10.0.0.0/", "10.0.0.0/33", "::1/129", "host.example", "10.0.0.0/8x", "1.2.3.4/-1"}) {
    EXPECT_FALSE(parse_cidr(bad)) << bad;
  }
}

TEST(AbuseGuard, CapsConnectionsPerAddressAndInTotal) {
  AbuseGuard guard(small_settings());
  std::vector<AbuseGuard::Ticket> held;
  held.push_back(guard.admit(ip("192.0.2.1")));
  held.push_back(guard.admit(ip("192.0.2.1")));
  EXPECT_TRUE(held[0] && held[1]);
  EXPECT_FALSE(guard.admit(ip("192.0.2.1")));
  EXPECT_FALSE(guard.admit(ip("::ffff:192.0.2.1"))) << "a v4-mapped address shares the budget";
  held.push_back(guard.admit(ip("192.0.2.2")));
  held.push_back(guard.admit(ip("192.0.2.3")));
  held.push_back(guard.admit(ip("192.0.2.4")));
  EXPECT_EQ(guard.open_connections(), 5u);
  EXPECT_FALSE(guard.admit(ip("192.0.2.5"))) << "global cap";
  held.pop_back();
  EXPECT_TRUE(guard.admit(ip("192.0.2.5"))) << "a released ticket frees its slot";
}

TEST(AbuseGuard, GroupsIpv6ByPrefix64) {
  AbuseGuard guard(small_settings());
  auto a = guard.admit(ip("2001:db8:1:2::1"));
  auto b = guard.admit(ip("2001:db8:1:2::ffff"));
  EXPECT_TRUE(a && b);
  EXPECT_FALSE(guard.admit(ip("2001:db8:1:2:abcd::9")));
  EXPECT_TRUE(guard.admit(ip("2001:db8:1:3::1")));
}

TEST(AbuseGuard, DelayDoublesPerFailureUpToTheCap) {
  AbuseGuard guard(small_settings());
  const auto addr = ip("198.51.100.7");
  EXPECT_EQ(guard.record_failure(addr), 100ms);
  EXPECT_EQ(guard.record_failure(addr), 200ms);
  EXPECT_EQ(guard.record_failure(addr), 400ms);
  EXPECT_EQ(guard.record_failure(addr), 700ms);
  EXPECT_EQ(guard.record_failure(addr), 700ms);
  EXPECT_EQ(guard.record_failure(ip("198.51.100.8")), 100ms) << "other addresses are unaffected";
}

TEST(AbuseGuard, BansAfterTooManyFailuresAndSuccessDoesNotLiftABan) {
  AbuseGuard guard(small_settings());
  const auto addr = ip("198.51.100.7");
  for (int i = 0; i < 3; ++i) guard.record_failure(addr);
  EXPECT_FALSE(guard.banned(addr));
  guard.record_failure(addr);
  EXPECT_TRUE(guard.banned(addr));
  guard.record_success(addr);
  EXPECT_TRUE(guard.banned(addr));
  EXPECT_FALSE(guard.banned(ip("198.51.100.9")));
}

TEST(AbuseGuard, SuccessClearsTheHistory) {
  AbuseGuard guard(small_settings());
  const auto addr = ip("203.0.113.1");
  guard.record_failure(addr);
  guard.record_failure(addr);
  guard.record_success(addr);
  EXPECT_EQ(guard.record_failure(addr), 100ms);
}

TEST(AbuseGuard, TrustedNetworksAreExempt) {
  AbuseSettings settings = small_settings();
  settings.trusted_networks.push_back(*parse_cidr("10.0.0.0/8"));
  AbuseGuard guard(settings);
  const auto addr = ip("10.1.2.3");
  EXPECT_TRUE(guard.trusted(addr));
  for (int i = 0; i < 10; ++i) EXPECT_EQ(guard.record_failure(addr), 0ms);
  EXPECT_FALSE(guard.banned(addr));
  std::vector<AbuseGuard::Ticket> held;
  for (int i = 0; i < 4; ++i) held.push_back(guard.admit(addr));
  EXPECT_TRUE(held.back()) << "no per-address cap for trusted clients";
}

TEST(AbuseGuard, TrackedAddressesStayBounded) {
  AbuseSettings settings = small_settings();
  settings.max_tracked_addresses = 100;
  settings.ban_after_failures = 0;
  AbuseGuard guard(settings);
  for (int i = 0; i < 1000; ++i) {
    guard.record_failure(asio::ip::address_v4(0x0A000000u + static_cast<unsigned>(i)));
  }
  EXPECT_LE(guard.penalized_addresses(), 100u);
}

}  // namespace
}  // namespace mailport::net

namespace mailport::net {
namespace {

TEST(AbuseGuard, CountsPenaltiesInForce) {
  AbuseGuard guard(small_settings());
  EXPECT_EQ(guard.penalties_in_force().delayed, 0u);
  guard.record_failure(ip("192.0.2.1"));
  for (int i = 0; i < 4; ++i) guard.record_failure(ip("192.0.2.2"));
  const AbuseGuard::PenaltyCounts counts = guard.penalties_in_force();
  EXPECT_EQ(counts.delayed, 1u);
  EXPECT_EQ(counts.banned, 1u);
  guard.record_success(ip("192.0.2.1"));
  EXPECT_EQ(guard.penalties_in_force().delayed, 0u);
}

}  // namespace
}  // namespace mailport::net
