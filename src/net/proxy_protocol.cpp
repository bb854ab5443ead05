#include "net/proxy_protocol.hpp"

#include <arpa/inet.h>
#include <sys/socket.h>

#include <algorithm>
#include <charconv>
#include <string>
#include <vector>

namespace mailport::net {
namespace {

constexpr std::string_view kV1Prefix = "PROXY ";
constexpr std::string_view kV2Signature("\r\n\r\n\0\r\nQUIT\n", 12);
constexpr std::string_view kCrlf = "\r\n";

constexpr unsigned kCommandLocal = 0x0;
constexpr unsigned kCommandProxy = 0x1;
constexpr unsigned kFamilyUnspec = 0x0;
constexpr unsigned kFamilyInet = 0x1;
constexpr unsigned kFamilyInet6 = 0x2;
constexpr unsigned kFamilyUnix = 0x3;
constexpr unsigned kTransportStream = 0x1;
constexpr unsigned kTransportDgram = 0x2;
constexpr std::size_t kTlvHeader = 3;  // type, length (2 bytes)

ProxyError fail(std::string reason) {
  return ProxyError{std::move(reason)};
}

bool is_prefix_of(std::string_view data, std::string_view whole) {
  return whole.substr(0, data.size()) == data.substr(0, whole.size());
}

std::uint8_t byte_at(std::string_view data, std::size_t i) {
  return static_cast<std::uint8_t>(data[i]);
}

std::uint16_t be16(std::string_view data, std::size_t i) {
  return static_cast<std::uint16_t>(byte_at(data, i) << 8 | byte_at(data, i + 1));
}

// Fields of a version 1 line are separated by exactly one space: an empty field is an error.
std::vector<std::string_view> split_fields(std::string_view line) {
  std::vector<std::string_view> fields;
  for (;;) {
    const std::size_t space = line.find(' ');
    fields.push_back(line.substr(0, space));
    if (space == std::string_view::npos) return fields;
    line.remove_prefix(space + 1);
  }
}

// Decimal 0..65535 without heading zeroes (the specification forbids them to avoid octal doubts).
std::optional<std::uint16_t> parse_port(std::string_view text) {
  if (text.empty() || text.size() > 5 || (text.size() > 1 && text[0] == '0')) return std::nullopt;
  unsigned value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || value > 0xffff) return std::nullopt;
  return static_cast<std::uint16_t>(value);
}

// inet_pton is strict about IPv4 (exactly four decimal parts, no heading zeroes); the character
// check keeps out what it would otherwise tolerate around the address.
std::optional<ProxyAddress> parse_v1_address(std::string_view text, bool v6) {
  const std::string_view allowed = v6 ? "0123456789abcdefABCDEF:." : "0123456789.";
  if (text.empty() || text.size() > 45 || text.find_first_not_of(allowed) != std::string::npos) {
    return std::nullopt;
  }
  ProxyAddress address;
  address.v6 = v6;
  const std::string zero_terminated(text);
  if (::inet_pton(v6 ? AF_INET6 : AF_INET, zero_terminated.c_str(), address.bytes.data()) != 1) {
    return std::nullopt;
  }
  return address;
}

// `line` is what follows "PROXY " up to (not including) the CRLF.
ProxyParse parse_v1_line(std::string_view line, std::size_t length) {
  ProxyHeader header;
  header.version = 1;
  header.length = length;
  if (line == "UNKNOWN" || line.starts_with("UNKNOWN ")) return header;  // the rest is ignored
  const std::vector<std::string_view> fields = split_fields(line);
  if (fields[0] != "TCP4" && fields[0] != "TCP6") {
    return fail("version 1: unknown protocol \"" + std::string(fields[0].substr(0, 16)) + "\"");
  }
  if (fields.size() != 5)
    return fail("version 1: expected 4 fields after " + std::string(fields[0]));
  const bool v6 = fields[0] == "TCP6";
  auto source = parse_v1_address(fields[1], v6);
  auto destination = parse_v1_address(fields[2], v6);
  if (!source || !destination) {
    return fail(std::string("version 1: malformed ") + (v6 ? "IPv6" : "IPv4") + " address");
  }
  auto source_port = parse_port(fields[3]);
  auto destination_port = parse_port(fields[4]);
  if (!source_port || !destination_port) return fail("version 1: malformed port");
  source->port = *source_port;
  destination->port = *destination_port;
  header.source = source;
  header.destination = destination;
  return header;
}

ProxyParse parse_v1(std::string_view data) {
  if (!is_prefix_of(data, kV1Prefix)) return fail("not a PROXY protocol header");
  const std::size_t limit = std::min(data.size(), kProxyV1MaxLength);
  for (std::size_t i = 0; i < limit; ++i) {
    if (data[i] == '\n') return fail("version 1: LF without CR");
    if (data[i] != '\r') continue;
    if (i + kCrlf.size() > kProxyV1MaxLength) break;
    if (i + 1 == data.size()) return ProxyNeedMore{};
    if (data[i + 1] != '\n') return fail("version 1: CR without LF");
    return parse_v1_line(data.substr(kV1Prefix.size(), i - kV1Prefix.size()), i + kCrlf.size());
  }
  if (data.size() >= kProxyV1MaxLength) return fail("version 1: no CRLF within 107 bytes");
  return ProxyNeedMore{};
}

ProxyAddress v2_address(std::string_view block, std::size_t offset, std::size_t size,
                        std::size_t port_offset) {
  ProxyAddress address;
  address.v6 = size == 16;
  std::copy_n(block.begin() + static_cast<std::ptrdiff_t>(offset), size, address.bytes.begin());
  address.port = be16(block, port_offset);
  return address;
}

// TLVs are not interpreted, but each must fit in the block exactly.
bool tlvs_well_formed(std::string_view tlvs) {
  while (!tlvs.empty()) {
    if (tlvs.size() < kTlvHeader) return false;
    const std::size_t value_length = be16(tlvs, 1);
    if (tlvs.size() < kTlvHeader + value_length) return false;
    tlvs.remove_prefix(kTlvHeader + value_length);
  }
  return true;
}

ProxyParse parse_v2(std::string_view data) {
  const unsigned version = byte_at(data, 12) >> 4;
  const unsigned command = byte_at(data, 12) & 0x0f;
  const unsigned family = byte_at(data, 13) >> 4;
  const unsigned transport = byte_at(data, 13) & 0x0f;
  if (version != 2) return fail("version 2 signature with version " + std::to_string(version));
  if (command != kCommandLocal && command != kCommandProxy) {
    return fail("version 2: unknown command " + std::to_string(command));
  }
  if (family > kFamilyUnix)
    return fail("version 2: unknown address family " + std::to_string(family));
  if (transport > kTransportDgram) {
    return fail("version 2: unknown transport " + std::to_string(transport));
  }
  const std::size_t length = kProxyV2FixedLength + be16(data, 14);
  if (data.size() < length) return ProxyNeedMore{};
  ProxyHeader header;
  header.version = 2;
  header.length = length;
  // LOCAL: the block, family included, is to be ignored.
  if (command == kCommandLocal) {
    header.local = true;
    return header;
  }
  const std::string_view block = data.substr(kProxyV2FixedLength, length - kProxyV2FixedLength);
  // Address information under AF_UNSPEC is to be ignored; it need not be TLVs either.
  if (family == kFamilyUnspec) return header;
  const std::size_t address_size = family == kFamilyInet ? 4 : family == kFamilyInet6 ? 16 : 108;
  const std::size_t address_block =
      family == kFamilyUnix ? 2 * address_size : 2 * address_size + 2 * sizeof(std::uint16_t);
  if (block.size() < address_block) {
    return fail("version 2: address block of " + std::to_string(block.size()) +
                " bytes is shorter than its family needs (" + std::to_string(address_block) + ")");
  }
  if (!tlvs_well_formed(block.substr(address_block))) return fail("version 2: malformed TLV");
  // UDP and Unix sockets have no TCP client to speak of: the connection's addresses stand.
  if (family != kFamilyUnix && transport == kTransportStream) {
    header.source = v2_address(block, 0, address_size, 2 * address_size);
    header.destination = v2_address(block, address_size, address_size, 2 * address_size + 2);
  }
  return header;
}

}  // namespace

std::string to_string(const ProxyAddress& address) {
  std::array<char, INET6_ADDRSTRLEN> text{};
  ::inet_ntop(address.v6 ? AF_INET6 : AF_INET, address.bytes.data(), text.data(), text.size());
  return text.data();
}

ProxyParse parse_proxy_header(std::string_view data) {
  if (data.empty()) return ProxyNeedMore{};
  if (data[0] == kV2Signature[0]) {
    if (!is_prefix_of(data, kV2Signature)) return fail("not a PROXY protocol header");
    if (data.size() < kProxyV2FixedLength) return ProxyNeedMore{};
    return parse_v2(data);
  }
  return parse_v1(data);
}

std::size_t proxy_header_window(std::string_view data) {
  if (data.empty() || data[0] != kV2Signature[0]) return kProxyV1MaxLength;
  if (data.size() < kProxyV2FixedLength) return kProxyV2FixedLength;
  return kProxyV2FixedLength + be16(data, 14);
}

}  // namespace mailport::net
