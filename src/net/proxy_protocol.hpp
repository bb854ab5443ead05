// The PROXY protocol header (versions 1 and 2, as specified by HAProxy) that a load balancer sends
// ahead of the client's bytes to tell the server who the client is. Sans-I/O: the parser is fed
// the bytes received so far and says whether they hold a complete header, need more, or can never
// become a valid one. No Asio here; src/net/proxy_reader.hpp reads a header from a socket.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

namespace mailport::net {

// Longest version 1 line, CRLF included ("PROXY UNKNOWN" with two full IPv6 addresses).
inline constexpr std::size_t kProxyV1MaxLength = 107;
// The fixed part of a version 2 header: signature, version/command, family, length.
inline constexpr std::size_t kProxyV2FixedLength = 16;
inline constexpr std::size_t kProxyV2MaxLength = kProxyV2FixedLength + 0xffff;

struct ProxyAddress {
  bool v6 = false;
  std::array<std::uint8_t, 16> bytes{};  // network order; IPv4 uses the first four
  std::uint16_t port = 0;

  bool operator==(const ProxyAddress&) const = default;
};

// "192.0.2.7" or "2001:db8::7" (without the port).
std::string to_string(const ProxyAddress& address);

struct ProxyHeader {
  unsigned version = 0;  // 1 or 2
  // Version 2 LOCAL: the proxy opened the connection itself (a health check).
  bool local = false;
  // The client and the address it connected to. Absent for LOCAL, for version 1 UNKNOWN and for
  // version 2 families or transports that carry no TCP endpoint: the specification then says to
  // use the connection's own addresses.
  std::optional<ProxyAddress> source;
  std::optional<ProxyAddress> destination;
  std::size_t length = 0;  // bytes of the header; the client's data starts after them

  bool operator==(const ProxyHeader&) const = default;
};

// Every byte given so far belongs to the header (none of the client's data has been reached), so
// a reader may consume them all before it reads more.
struct ProxyNeedMore {
  bool operator==(const ProxyNeedMore&) const = default;
};

// The bytes can never start a valid header; `reason` is for the log.
struct ProxyError {
  std::string reason;
  bool operator==(const ProxyError&) const = default;
};

using ProxyParse = std::variant<ProxyNeedMore, ProxyHeader, ProxyError>;

// Parses the header at the start of `data` (which may continue with the client's data). Strict:
// anything that does not match the specification exactly is an error.
ProxyParse parse_proxy_header(std::string_view data);

// How many bytes a reader should look at next to complete the header that `data` starts: enough
// for the longest possible header, never more than the specification allows.
std::size_t proxy_header_window(std::string_view data);

}  // namespace mailport::net
