// Endpoints, durations, enum names and secret masking: the value syntaxes, one table each.
#include <gtest/gtest.h>

#include <chrono>
#include <optional>
#include <string>

#include "config/config.hpp"

namespace mailport::config {
namespace {

using namespace std::chrono_literals;

struct EndpointCase {
  const char* text;
  std::optional<Endpoint> expected;
  const char* formatted;
};

class EndpointParse : public ::testing::TestWithParam<EndpointCase> {};

TEST_P(EndpointParse, ParsesAndFormatsBack) {
  const EndpointCase& c = GetParam();
  EXPECT_EQ(parse_endpoint(c.text), c.expected);
  EXPECT_EQ(format_endpoint(c.expected), c.formatted);
}

INSTANTIATE_TEST_SUITE_P(
    Good, EndpointParse,
    ::testing::Values(EndpointCase{"127.0.0.1:110", Endpoint{"127.0.0.1", 110}, "127.0.0.1:110"},
                      EndpointCase{"0.0.0.0:995", Endpoint{"0.0.0.0", 995}, "0.0.0.0:995"},
                      EndpointCase{"[::1]:110", Endpoint{"::1", 110}, "[::1]:110"},
                      EndpointCase{"[::]:995", Endpoint{"::", 995}, "[::]:995"},
                      EndpointCase{"[2001:db8::7]:65535", Endpoint{"2001:db8::7", 65535},
                                   "[2001:db8::7]:65535"},
                      EndpointCase{"127.0.0.1:0", Endpoint{"127.0.0.1", 0}, "127.0.0.1:0"},
                      EndpointCase{"off", std::nullopt, "off"}));

struct BadValue {
  const char* text;
  const char* message_part;
};

class EndpointReject : public ::testing::TestWithParam<BadValue> {};

TEST_P(EndpointReject, ThrowsWithPreciseMessage) {
  const BadValue& c = GetParam();
  try {
    parse_endpoint(c.text);
    FAIL() << "accepted " << c.text;
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find(c.message_part), std::string::npos) << e.what();
  }
}

INSTANTIATE_TEST_SUITE_P(
    Bad, EndpointReject,
    ::testing::Values(BadValue{"", "empty"}, BadValue{"127.0.0.1", "missing \":PORT\""},
                      BadValue{"127.0.0.1:", "port \"\""},
                      BadValue{"127.0.0.1:65536", "port \"65536\" is not a number from 0 to 65535"},
                      BadValue{"127.0.0.1:99999999999", "port"},
                      BadValue{"127.0.0.1:-1", "port \"-1\""}, BadValue{"127.0.0.1:1x", "port"},
                      BadValue{"localhost:110", "not a numeric IPv4 address"},
                      BadValue{"256.1.1.1:110", "not a numeric IPv4 address"},
                      BadValue{":110", "not a numeric IPv4 address"},
                      BadValue{"::1:110", "brackets"}, BadValue{"[::1:110", "missing ']'"},
                      BadValue{"[::1]110", "expected \":PORT\""},
                      BadValue{"[::1]", "expected \":PORT\""},
                      BadValue{"[127.0.0.1]:110", "not a numeric IPv6 address"},
                      BadValue{"[fe80::1%eth0]:110", "not a numeric IPv6 address"},
                      BadValue{"OFF", "missing \":PORT\""}));

struct DurationCase {
  const char* text;
  std::chrono::milliseconds value;
  const char* canonical;
};

class DurationParse : public ::testing::TestWithParam<DurationCase> {};

TEST_P(DurationParse, ParsesAndFormatsInTheLargestExactUnit) {
  const DurationCase& c = GetParam();
  EXPECT_EQ(parse_duration(c.text), c.value);
  EXPECT_EQ(format_duration(c.value), c.canonical);
  EXPECT_EQ(parse_duration(format_duration(c.value)), c.value);
}

INSTANTIATE_TEST_SUITE_P(
    Good, DurationParse,
    ::testing::Values(DurationCase{"500ms", 500ms, "500ms"}, DurationCase{"2000ms", 2s, "2s"},
                      DurationCase{"2s", 2s, "2s"}, DurationCase{"90s", 90s, "90s"},
                      DurationCase{"600s", 10min, "10m"}, DurationCase{"10m", 10min, "10m"},
                      DurationCase{"1h", 1h, "1h"}, DurationCase{"120m", 2h, "2h"},
                      DurationCase{"0s", 0ms, "0s"}, DurationCase{"0ms", 0ms, "0s"},
                      DurationCase{"8760h", 8760h, "8760h"}));

class DurationReject : public ::testing::TestWithParam<BadValue> {};

TEST_P(DurationReject, ThrowsWithPreciseMessage) {
  const BadValue& c = GetParam();
  try {
    parse_duration(c.text);
    FAIL() << "accepted " << c.text;
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find(c.message_part), std::string::npos) << e.what();
  }
}

INSTANTIATE_TEST_SUITE_P(
    Bad, DurationReject,
    ::testing::Values(BadValue{"", "not a duration"}, BadValue{"5", "not a duration"},
                      BadValue{"s", "not a duration"}, BadValue{"-2s", "must not be negative"},
                      BadValue{"+2s", "not a duration"}, BadValue{"2 s", "not a duration"},
                      BadValue{"1.5s", "not a duration"}, BadValue{"2d", "not a duration"},
                      BadValue{"2sec", "not a duration"}, BadValue{"8761h", "longer than 365 days"},
                      BadValue{"99999999999999999999999ms", "longer than 365 days"}));

TEST(PlaintextAuthNames, RoundTripAndRejectUnknown) {
  for (PlaintextAuth value :
       {PlaintextAuth::never, PlaintextAuth::loopback, PlaintextAuth::always}) {
    EXPECT_EQ(parse_plaintext_auth(to_string(value)), value);
  }
  EXPECT_EQ(to_string(PlaintextAuth::loopback), "loopback");
  EXPECT_EQ(parse_plaintext_auth("Never"), std::nullopt);
  EXPECT_EQ(parse_plaintext_auth("sometimes"), std::nullopt);
}

struct MaskCase {
  const char* text;
  const char* masked;
};

class SecretMask : public ::testing::TestWithParam<MaskCase> {};

TEST_P(SecretMask, HidesPasswordsOnly) {
  EXPECT_EQ(mask_secrets(GetParam().text), GetParam().masked);
}

INSTANTIATE_TEST_SUITE_P(
    Cases, SecretMask,
    ::testing::Values(MaskCase{"postgresql://mail:s3cret@db.example/mail",
                               "postgresql://mail:****@db.example/mail"},
                      MaskCase{"ldap://admin:p%40ss@10.0.0.1:389",
                               "ldap://admin:****@10.0.0.1:389"},
                      MaskCase{"https://user@host/path", "https://user@host/path"},
                      MaskCase{"host=db user=mail password=s3cret dbname=mail",
                               "host=db user=mail password=**** dbname=mail"},
                      MaskCase{"Server=db;Password=s3cret;Database=mail",
                               "Server=db;Password=****;Database=mail"},
                      MaskCase{"a=1&passwd=xyz&b=2", "a=1&passwd=****&b=2"},
                      MaskCase{"PWD = 'two words' next", "PWD = **** next"},
                      MaskCase{"secret=\"q\" x", "secret=**** x"},
                      MaskCase{"/srv/mail/%d/%n/Maildir", "/srv/mail/%d/%n/Maildir"},
                      MaskCase{"mailport ready.", "mailport ready."},
                      MaskCase{"password_file=/etc/x", "password_file=/etc/x"},
                      MaskCase{"mypassword=abc", "mypassword=abc"}));

}  // namespace
}  // namespace mailport::config
