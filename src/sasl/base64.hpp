// Base64 for SASL exchanges (RFC 4648 §4 alphabet, padded), strict as RFC 5034 §4 requires:
// whitespace, garbage, missing or excess padding and non-zero trailing bits are all rejected.
#pragma once

#include <string>
#include <string_view>

#include "core/result.hpp"

namespace mailport::sasl {

std::string encode_base64(std::string_view bytes);
// errc::invalid_input unless `text` is canonical padded base64 ("" decodes to "").
Result<std::string> decode_base64(std::string_view text);

}  // namespace mailport::sasl
