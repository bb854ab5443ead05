#include "sasl/utf8.hpp"

#include <cstddef>

namespace mailport::sasl {

namespace {

bool continuation(unsigned char byte) {
  return (byte & 0xC0) == 0x80;
}

// Length of the sequence starting with `lead`, 0 if `lead` cannot start one.
std::size_t sequence_length(unsigned char lead) {
  if (lead < 0x80) return 1;
  if (lead >= 0xC2 && lead <= 0xDF) return 2;
  if (lead >= 0xE0 && lead <= 0xEF) return 3;
  if (lead >= 0xF0 && lead <= 0xF4) return 4;
  return 0;  // stray continuation byte, overlong 2-byte lead (C0, C1) or beyond U+10FFFF
}

// The second byte's range is what excludes overlongs, surrogates and > U+10FFFF (RFC 3629 §4).
bool valid_second_byte(unsigned char lead, unsigned char second) {
  switch (lead) {
    case 0xE0:
      return second >= 0xA0 && second <= 0xBF;
    case 0xED:
      return second >= 0x80 && second <= 0x9F;
    case 0xF0:
      return second >= 0x90 && second <= 0xBF;
    case 0xF4:
      return second >= 0x80 && second <= 0x8F;
    default:
      return continuation(second);
  }
}

}  // namespace

bool valid_utf8(std::string_view text) {
  std::size_t i = 0;
  while (i < text.size()) {
    const auto lead = static_cast<unsigned char>(text[i]);
    const std::size_t length = sequence_length(lead);
    if (length == 0 || text.size() - i < length) return false;
    if (length > 1 && !valid_second_byte(lead, static_cast<unsigned char>(text[i + 1]))) {
      return false;
    }
    for (std::size_t k = 2; k < length; ++k) {
      if (!continuation(static_cast<unsigned char>(text[i + k]))) return false;
    }
    i += length;
  }
  return true;
}

}  // namespace mailport::sasl
