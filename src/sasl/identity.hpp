// Rules shared by the mechanisms for the identities and passwords clients send.
#pragma once

#include <cstddef>
#include <string_view>

namespace mailport::sasl {

// RFC 4616 §2 requires accepting 255 octets; nothing legitimate needs more.
inline constexpr std::size_t kMaxFieldOctets = 255;

// 1..kMaxFieldOctets octets of valid UTF-8 without NUL.
bool valid_field(std::string_view field);

}  // namespace mailport::sasl
