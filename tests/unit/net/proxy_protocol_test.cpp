#include "net/proxy_protocol.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

namespace mailport::net {
namespace {

using namespace std::string_literals;

const std::string kSignature("\r\n\r\n\0\r\nQUIT\n", 12);

std::string be16(unsigned value) {
  return {static_cast<char>(value >> 8), static_cast<char>(value & 0xff)};
}

std::string v2(unsigned ver_cmd, unsigned family, const std::string& block) {
  return kSignature + static_cast<char>(ver_cmd) + static_cast<char>(family) +
         be16(static_cast<unsigned>(block.size())) + block;
}

std::string ipv4_block(std::string src, std::string dst, unsigned sport, unsigned dport) {
  return src + dst + be16(sport) + be16(dport);
}

const std::string kClient4 = "\xc0\x00\x02\x07"s;                                    // 192.0.2.7
const std::string kServer4 = "\xc6\x33\x64\x01"s;                                    // 198.51.100.1
const std::string kClient6 = "\x20\x01\x0d\xb8"s + std::string(11, '\0') + "\x07"s;  // 2001:db8::7
const std::string kServer6 = "\x20\x01\x0d\xb8"s + std::string(11, '\0') + "\x01"s;
const std::string kTcp4Block = ipv4_block(kClient4, kServer4, 56324, 995);
const std::string kTcp6Block = kClient6 + kServer6 + be16(4000) + be16(110);

struct Valid {
  const char* name;
  std::string input;
  unsigned version;
  bool local;
  const char* source;  // nullptr: no address carried
  std::uint16_t source_port;
  const char* destination;
  std::uint16_t destination_port;
  std::size_t length;
};

std::vector<Valid> valid_cases() {
  const std::string worst_unknown =
      "PROXY UNKNOWN ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff ffff:ffff:ffff:ffff:ffff:ffff:ffff:"
      "ffff 65535 65535\r\n";
  return {
      {"V1Tcp4", "PROXY TCP4 192.0.2.7 198.51.100.1 56324 110\r\n", 1, false, "192.0.2.7", 56324,
       "198.51.100.1", 110, 45},
      {"V1Tcp4ThenClientData", "PROXY TCP4 192.0.2.7 198.51.100.1 56324 110\r\nCAPA\r\n", 1, false,
       "192.0.2.7", 56324, "198.51.100.1", 110, 45},
      {"V1Tcp4Extremes", "PROXY TCP4 255.255.255.255 0.0.0.0 65535 0\r\n", 1, false,
       "255.255.255.255", 65535, "0.0.0.0", 0, 44},
      {"V1Tcp6", "PROXY TCP6 2001:db8::7 2001:DB8::1 4000 995\r\n", 1, false, "2001:db8::7", 4000,
       "2001:db8::1", 995, 45},
      {"V1Tcp6Mapped", "PROXY TCP6 ::ffff:192.0.2.7 ::1 4000 110\r\n", 1, false, "::ffff:192.0.2.7",
       4000, "::1", 110, 42},
      {"V1UnknownShort", "PROXY UNKNOWN\r\n", 1, false, nullptr, 0, nullptr, 0, 15},
      {"V1UnknownWorstCase", worst_unknown, 1, false, nullptr, 0, nullptr, 0, 107},
      {"V2Tcp4", v2(0x21, 0x11, kTcp4Block), 2, false, "192.0.2.7", 56324, "198.51.100.1", 995, 28},
      {"V2Tcp4ThenTlsHello", v2(0x21, 0x11, kTcp4Block) + "\x16\x03\x01\x02\x00"s, 2, false,
       "192.0.2.7", 56324, "198.51.100.1", 995, 28},
      {"V2Tcp6", v2(0x21, 0x21, kTcp6Block), 2, false, "2001:db8::7", 4000, "2001:db8::1", 110, 52},
      {"V2Tcp4WithTlvs",
       v2(0x21, 0x11,
          kTcp4Block + "\x01"s + be16(3) + "pop" + "\x04"s + be16(0) + "\x20"s + be16(5) +
              "\x01\x00\x00\x00\x00"s),
       2, false, "192.0.2.7", 56324, "198.51.100.1", 995, 28 + 6 + 3 + 8},
      {"V2LocalEmpty", v2(0x20, 0x00, ""), 2, true, nullptr, 0, nullptr, 0, 16},
      // LOCAL must skip whatever block is announced, family and all.
      {"V2LocalWithBlock", v2(0x20, 0x11, kTcp4Block), 2, true, nullptr, 0, nullptr, 0, 28},
      {"V2ProxyUnspecIgnoresBlock", v2(0x21, 0x00, "not even TLVs"), 2, false, nullptr, 0, nullptr,
       0, 29},
      {"V2Udp4FallsBack", v2(0x21, 0x12, kTcp4Block), 2, false, nullptr, 0, nullptr, 0, 28},
      {"V2UnixFallsBack", v2(0x21, 0x31, std::string(216, 'x')), 2, false, nullptr, 0, nullptr, 0,
       232},
  };
}

class ProxyValid : public testing::TestWithParam<Valid> {};

TEST_P(ProxyValid, Parses) {
  const Valid& c = GetParam();
  const ProxyParse parsed = parse_proxy_header(c.input);
  const auto* header = std::get_if<ProxyHeader>(&parsed);
  ASSERT_NE(header, nullptr) << (std::holds_alternative<ProxyError>(parsed)
                                     ? std::get<ProxyError>(parsed).reason
                                     : "need more");
  EXPECT_EQ(header->version, c.version);
  EXPECT_EQ(header->local, c.local);
  EXPECT_EQ(header->length, c.length);
  ASSERT_EQ(header->source.has_value(), c.source != nullptr);
  ASSERT_EQ(header->destination.has_value(), c.destination != nullptr);
  if (c.source) {
    EXPECT_EQ(to_string(*header->source), c.source);
    EXPECT_EQ(header->source->port, c.source_port);
    EXPECT_EQ(to_string(*header->destination), c.destination);
    EXPECT_EQ(header->destination->port, c.destination_port);
  }
}

// A header arriving in pieces: every proper prefix asks for more (so a reader may consume it), and
// the window never lets a reader look short of the header's end.
TEST_P(ProxyValid, EveryPrefixNeedsMore) {
  const Valid& c = GetParam();
  for (std::size_t n = 0; n < c.length; ++n) {
    const std::string prefix = c.input.substr(0, n);
    EXPECT_TRUE(std::holds_alternative<ProxyNeedMore>(parse_proxy_header(prefix))) << n;
    EXPECT_GT(proxy_header_window(prefix), n) << n;
    if (c.version == 2 && n >= kProxyV2FixedLength) {
      EXPECT_EQ(proxy_header_window(prefix), c.length) << n;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Table, ProxyValid, testing::ValuesIn(valid_cases()),
                         [](const auto& info) { return std::string(info.param.name); });

struct Invalid {
  const char* name;
  std::string input;
  const char* reason_part;
};

std::vector<Invalid> invalid_cases() {
  return {
      {"PopCommand", "USER alice\r\n", "not a PROXY protocol header"},
      {"HttpRequest", "GET / HTTP/1.0\r\n", "not a PROXY protocol header"},
      {"TlsHello", "\x16\x03\x01\x02\x00\x01"s, "not a PROXY protocol header"},
      {"LowerCase", "proxy TCP4 192.0.2.7 198.51.100.1 1 2\r\n", "not a PROXY protocol header"},
      {"NoSpaceAfterProxy", "PROXY\r\n", "not a PROXY protocol header"},
      {"LfOnly", "PROXY TCP4 192.0.2.7 198.51.100.1 56324 110\n", "LF without CR"},
      {"CrOnly", "PROXY TCP4 192.0.2.7 198.51.100.1 56324 110\rX", "CR without LF"},
      {"UnknownProtocol", "PROXY TCP5 192.0.2.7 198.51.100.1 1 2\r\n", "unknown protocol"},
      {"EmptyProtocol", "PROXY \r\n", "unknown protocol"},
      {"TooFewFields", "PROXY TCP4 192.0.2.7 198.51.100.1 56324\r\n", "expected 4 fields"},
      {"TooManyFields", "PROXY TCP4 192.0.2.7 198.51.100.1 1 2 3\r\n", "expected 4 fields"},
      {"DoubleSpace", "PROXY TCP4 192.0.2.7  198.51.100.1 1 2\r\n", "expected 4 fields"},
      {"TrailingSpace", "PROXY TCP4 192.0.2.7 198.51.100.1 1 2 \r\n", "expected 4 fields"},
      {"HeadingZeroAddress", "PROXY TCP4 192.0.2.07 198.51.100.1 1 2\r\n", "malformed IPv4"},
      {"ThreePartAddress", "PROXY TCP4 192.0.2 198.51.100.1 1 2\r\n", "malformed IPv4"},
      {"HostName", "PROXY TCP4 localhost 198.51.100.1 1 2\r\n", "malformed IPv4"},
      {"V6AddressInTcp4", "PROXY TCP4 2001:db8::7 198.51.100.1 1 2\r\n", "malformed IPv4"},
      {"V4AddressInTcp6", "PROXY TCP6 192.0.2.7 2001:db8::1 1 2\r\n", "malformed IPv6"},
      {"V6ScopeId", "PROXY TCP6 fe80::1%eth0 2001:db8::1 1 2\r\n", "malformed IPv6"},
      {"HeadingZeroPort", "PROXY TCP4 192.0.2.7 198.51.100.1 0110 2\r\n", "malformed port"},
      {"PortTooLarge", "PROXY TCP4 192.0.2.7 198.51.100.1 65536 2\r\n", "malformed port"},
      {"SignedPort", "PROXY TCP4 192.0.2.7 198.51.100.1 +1 2\r\n", "malformed port"},
      {"EmptyPort", "PROXY TCP4 192.0.2.7 198.51.100.1 1 \r\n", "malformed port"},
      {"NoCrlfWithin107", "PROXY UNKNOWN " + std::string(93, 'f'), "no CRLF within 107"},
      {"CrlfAt108", "PROXY UNKNOWN " + std::string(92, 'f') + "\r\n", "no CRLF within 107"},
      {"V2SignatureTypo", kSignature.substr(0, 7) + "X", "not a PROXY protocol header"},
      {"V2Version1", v2(0x11, 0x11, kTcp4Block), "with version 1"},
      {"V2Version3", v2(0x31, 0x11, kTcp4Block), "with version 3"},
      {"V2UnknownCommand", v2(0x22, 0x11, kTcp4Block), "unknown command 2"},
      {"V2UnknownFamily", v2(0x21, 0x41, kTcp4Block), "unknown address family 4"},
      {"V2UnknownTransport", v2(0x21, 0x13, kTcp4Block), "unknown transport 3"},
      {"V2Tcp4BlockShort", v2(0x21, 0x11, kTcp4Block.substr(0, 8)), "shorter than its family"},
      {"V2Tcp6BlockShort", v2(0x21, 0x21, kTcp4Block), "shorter than its family"},
      {"V2UnixBlockShort", v2(0x21, 0x31, std::string(215, 'x')), "shorter than its family"},
      {"V2TlvOverruns", v2(0x21, 0x11, kTcp4Block + "\x01"s + be16(10) + "ab"), "malformed TLV"},
      {"V2TlvHeaderCut", v2(0x21, 0x11, kTcp4Block + "\x01\x00"s), "malformed TLV"},
  };
}

class ProxyInvalid : public testing::TestWithParam<Invalid> {};

TEST_P(ProxyInvalid, IsRejectedWithReason) {
  const Invalid& c = GetParam();
  const ProxyParse parsed = parse_proxy_header(c.input);
  const auto* error = std::get_if<ProxyError>(&parsed);
  ASSERT_NE(error, nullptr);
  EXPECT_NE(error->reason.find(c.reason_part), std::string::npos) << error->reason;
  // No prefix of it is ever taken for a header.
  for (std::size_t n = 0; n < c.input.size(); ++n) {
    EXPECT_FALSE(std::holds_alternative<ProxyHeader>(parse_proxy_header(c.input.substr(0, n))))
        << n;
  }
}

INSTANTIATE_TEST_SUITE_P(Table, ProxyInvalid, testing::ValuesIn(invalid_cases()),
                         [](const auto& info) { return std::string(info.param.name); });

TEST(ProxyProtocol, RejectsAsSoonAsThePrefixCannotMatch) {
  EXPECT_TRUE(std::holds_alternative<ProxyError>(parse_proxy_header("U")));
  EXPECT_TRUE(std::holds_alternative<ProxyError>(parse_proxy_header("PROXX")));
  EXPECT_TRUE(std::holds_alternative<ProxyError>(parse_proxy_header("\r\n\r\n\x01"s)));
  EXPECT_TRUE(std::holds_alternative<ProxyNeedMore>(parse_proxy_header("PROX")));
  EXPECT_TRUE(std::holds_alternative<ProxyNeedMore>(parse_proxy_header("\r\n\r\n\0"s)));
}

TEST(ProxyProtocol, WindowCoversTheLongestHeaderOfEachVersion) {
  EXPECT_EQ(proxy_header_window(""), kProxyV1MaxLength);
  EXPECT_EQ(proxy_header_window("PROXY TCP4 "), kProxyV1MaxLength);
  EXPECT_EQ(proxy_header_window("\r\n\r\n"), kProxyV2FixedLength);
  EXPECT_EQ(proxy_header_window(v2(0x21, 0x11, std::string(0xffff, '\0'))), kProxyV2MaxLength);
}

TEST(ProxyProtocol, LongestVersion2HeaderParses) {
  // The address block followed by one NOOP TLV filling the rest of the 64 KiB length field.
  const std::string padding = "\x04"s + be16(0xffff - 12 - 3) + std::string(0xffff - 12 - 3, 'p');
  const ProxyParse parsed = parse_proxy_header(v2(0x21, 0x11, kTcp4Block + padding));
  const auto* header = std::get_if<ProxyHeader>(&parsed);
  ASSERT_NE(header, nullptr);
  EXPECT_EQ(header->length, kProxyV2MaxLength);
  EXPECT_EQ(to_string(*header->source), "192.0.2.7");
}

}  // namespace
}  // namespace mailport::net
