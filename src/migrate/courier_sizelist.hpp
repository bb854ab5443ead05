// Courier's POP3 state, "courierpop3dsizelist" in the Maildir:
//   /<version> <next uid> <uidvalidity>          version 2 or 3
//   <file name> <size> <uid>:<uidvalidity>[:<utf8 flag>]
// The UIDL Courier listed for such a message is "UID<uid>-<uidvalidity>" ("UID<uid>" when the
// uidvalidity is 0). Courier ignores files of other versions (and then numbers messages anew), so
// they are refused here instead of guessed at.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.hpp"

namespace mailport::migrate {

inline constexpr const char* kCourierSizelistName = "courierpop3dsizelist";

struct CourierEntry {
  std::string filename;  // may carry the ":2,flags" part
  std::uint64_t size = 0;
  std::string uidl;
};

struct CourierSizelist {
  unsigned version = 0;
  std::vector<CourierEntry> entries;
};

Result<CourierSizelist> parse_courier_sizelist(std::string_view text, std::string_view origin);

}  // namespace mailport::migrate
