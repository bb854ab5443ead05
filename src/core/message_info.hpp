// What the protocol core knows about one message of a maildrop snapshot.
#pragma once

#include <cstdint>
#include <string>

namespace mailport {

struct MessageInfo {
  // Size as sent on the wire: line endings counted as CRLF, before dot-stuffing (RFC 1939 §11).
  std::uint64_t octets = 0;
  // Unique, stable id: 1-70 characters in 0x21-0x7E (RFC 1939 §7).
  std::string uidl;
};

}  // namespace mailport
