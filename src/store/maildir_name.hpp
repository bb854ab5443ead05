// What mailport reads out of a Maildir file name ("<time>.<unique>.<host>,S=<n>,W=<n>:2,<flags>")
// without touching the file.
#pragma once

#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace mailport::store {

struct MaildirName {
  // Everything before the first ':' (the info part holds flags, which other MUAs change).
  std::string_view base;
  // ",W=<n>" from the base: the CRLF size, trusted as is. Absent when missing or malformed.
  std::optional<std::uint64_t> wire_size;
  // Leading decimal digits (delivery time in seconds). Absent when missing or overflowing.
  std::optional<std::uint64_t> timestamp;
};

MaildirName parse_maildir_name(std::string_view name);

// Compares runs of decimal digits by value and everything else byte by byte, so that
// "1700.M999P1" sorts before "1700.M1000P1": the microseconds and counters inside unique names
// then order deliveries of the same second. Equal values with different spellings ("07" and "7")
// compare equal here; the caller breaks such ties.
std::strong_ordering natural_compare(std::string_view a, std::string_view b);

// True for 1-70 characters in 0x21-0x7E, the range RFC 1939 allows for a unique-id.
bool is_valid_uidl(std::string_view text);

// The base name itself when it is a valid UIDL, otherwise kDigestUidlPrefix followed by hex
// SHA-256 of the base name (truncated): stable across flag changes and new/ -> cur/ moves.
std::string maildir_uidl(std::string_view base);
inline constexpr std::string_view kDigestUidlPrefix = "mp-sha256-";

// The name a file in new/ gets in cur/: ":2," appended unless it already carries an info part.
std::string cur_name_for(std::string_view new_name);

// Host name as it may appear in a unique name: '/', ':' and ',' (which would split the name into
// the wrong fields) are written as octal escapes "\057", "\072", "\054".
std::string encode_maildir_hostname(std::string_view host);

}  // namespace mailport::store
