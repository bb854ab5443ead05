// UTF-8 well-formedness (RFC 3629): SASL identities and passwords must be valid UTF-8.
#pragma once

#include <string_view>

namespace mailport::sasl {

// Rejects overlong forms, surrogates, code points above U+10FFFF and truncated sequences.
bool valid_utf8(std::string_view text);

}  // namespace mailport::sasl
