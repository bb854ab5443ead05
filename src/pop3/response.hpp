// Everything the session writes goes through these functions, so the response rules live in one
// place: status lines stay within 512 octets (RFC 2449 §4) and never carry control bytes, and
// multi-line responses are dot-stuffed exactly like message bodies (RFC 1939 §3).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace mailport::pop3 {

inline constexpr std::size_t kMaxResponseLine = 512;  // octets including CRLF

// The dot-stuffing rule shared with BodyEncoder: such a line is sent with one more leading ".".
constexpr bool needs_dot_stuffing(std::string_view line) {
  return !line.empty() && line.front() == '.';
}

void append_ok(std::string& out, std::string_view text = {});  // "+OK text\r\n"
void append_err(std::string& out, std::string_view text);      // "-ERR text\r\n"
std::string ok_line(std::string_view text);

// One line of a multi-line response, then the terminating ".\r\n".
void append_listing_line(std::string& out, std::string_view line);
void append_end_of_listing(std::string& out);

// A SASL continuation "+ <base64>\r\n" (RFC 5034 §4). Not shortened: cutting base64 would only
// corrupt it, and the mechanisms' challenges are short.
void append_challenge(std::string& out, std::string_view base64);

}  // namespace mailport::pop3
