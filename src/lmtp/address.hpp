// The path argument of MAIL FROM and RCPT TO (RFC 5321 §4.1.2): "<local@domain>", "<>", a
// quoted local part, or an obsolete source route that is dropped.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace mailport::lmtp {

struct ParsedPath {
  std::string address;    // without the angle brackets and the source route
  std::string_view rest;  // what follows the closing '>' (the ESMTP parameters)
};

// nullopt when `text` does not start with a well-formed "<...>": unbalanced quotes, control
// characters, unquoted spaces, or more than 256 octets inside the brackets.
std::optional<ParsedPath> parse_path(std::string_view text);

// The part of a mailbox before the last '@' and the domain after it (empty without '@').
std::string_view local_part(std::string_view address);
std::string_view domain_part(std::string_view address);

}  // namespace mailport::lmtp
