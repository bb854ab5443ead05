// Protocol keywords are ASCII and case-insensitive; the C locale must not change that.
#pragma once

#include <algorithm>
#include <string_view>

namespace mailport::pop3 {

constexpr char ascii_upper(char c) {
  return c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c;
}

constexpr bool ascii_iequals(std::string_view a, std::string_view b) {
  return std::ranges::equal(a, b, [](char x, char y) { return ascii_upper(x) == ascii_upper(y); });
}

}  // namespace mailport::pop3
