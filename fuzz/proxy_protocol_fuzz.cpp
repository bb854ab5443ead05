// The PROXY protocol parser on arbitrary bytes (the whole input is what a trusted proxy sent,
// header and client data together) and aborts on any broken invariant: a header lies within the
// input and the version's bounds, parses the same from its own bytes, and every shorter prefix of
// it asks for more; asking for more always leaves room to read.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>
#include <variant>

#include "net/proxy_protocol.hpp"

namespace {

using namespace mailport::net;

void check(bool condition) {
  if (!condition) std::abort();
}

void check_header(std::string_view data, const ProxyHeader& header) {
  check(header.length <= data.size());
  check(header.version == 1 || header.version == 2);
  if (header.version == 1) {
    check(header.length >= 15 && header.length <= kProxyV1MaxLength);
    check(data.substr(header.length - 2, 2) == "\r\n");
    check(!header.local);
  } else {
    check(header.length >= kProxyV2FixedLength && header.length <= kProxyV2MaxLength);
  }
  check(header.source.has_value() == header.destination.has_value());
  if (header.local) check(!header.source);
  if (header.source) {
    check(header.source->v6 == header.destination->v6);
    check(!to_string(*header.source).empty());
  }
  const std::string_view own = data.substr(0, header.length);
  const ProxyParse again = parse_proxy_header(own);
  check(std::holds_alternative<ProxyHeader>(again) && std::get<ProxyHeader>(again) == header);
  // Every prefix for version 1; the interesting ones for a possibly 64 KiB version 2 header.
  const std::size_t step = header.version == 1 ? 1 : header.length;
  for (std::size_t n = 0; n < header.length; n += step) {
    check(std::holds_alternative<ProxyNeedMore>(parse_proxy_header(own.substr(0, n))));
  }
  for (std::size_t n : {std::size_t{15}, kProxyV2FixedLength, header.length - 1}) {
    if (n < header.length) {
      check(std::holds_alternative<ProxyNeedMore>(parse_proxy_header(own.substr(0, n))));
      check(proxy_header_window(own.substr(0, n)) > n);
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* bytes, std::size_t size) {
  const std::string_view data(reinterpret_cast<const char*>(bytes), size);
  const ProxyParse parsed = parse_proxy_header(data);
  if (const auto* header = std::get_if<ProxyHeader>(&parsed)) {
    check_header(data, *header);
  } else if (std::holds_alternative<ProxyNeedMore>(parsed)) {
    check(proxy_header_window(data) > data.size());
    check(data.size() < kProxyV2MaxLength);
  } else {
    check(!std::get<ProxyError>(parsed).reason.empty());
  }
  return 0;
}
