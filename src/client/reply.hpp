// The server side of POP3 as a client reads it: status lines, CAPA (RFC 2449), UIDL/LIST
// listings and byte-stuffed multi-line bodies. Pure parsing, no I/O.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.hpp"

namespace mailport::client {

struct Reply {
  bool ok = false;
  std::string code;  // RFC 2449 response code without brackets ("AUTH", "SYS/TEMP"), or empty
  std::string text;  // what follows the status indicator and the code
};

// "+OK ..." or "-ERR ..."; anything else is errc::invalid_input.
Result<Reply> parse_reply(std::string_view line);

// The error a -ERR reply stands for: RFC 2449/3206 codes choose the errc (AUTH -> auth_failed,
// IN-USE -> in_use, SYS/TEMP and LOGIN-DELAY -> temporary_failure, SYS/PERM ->
// permanent_failure); without a code, `fallback`. The message quotes the server.
Error reply_error(const Reply& reply, std::string_view command, errc fallback);

// RFC 2449 EXPIRE: "NEVER", or days after which the site deletes retrieved mail.
struct ExpirePolicy {
  std::optional<std::uint64_t> days;  // nullopt = NEVER
  bool per_user = false;              // "USER" suffix: the value may change after login
};

class Capabilities {
 public:
  Capabilities() = default;
  // The lines of a CAPA listing (already unstuffed). Tags are case-insensitive.
  static Capabilities parse(const std::vector<std::string>& lines);

  bool has(std::string_view tag) const;
  // Everything after the tag and one space, or "" for a tag without arguments.
  std::optional<std::string> argument(std::string_view tag) const;

  bool stls() const { return has("STLS"); }
  bool user() const { return has("USER"); }
  bool uidl() const { return has("UIDL"); }
  std::vector<std::string> sasl_mechanisms() const;  // upper-case
  bool sasl(std::string_view mechanism) const;
  std::optional<ExpirePolicy> expire() const;
  std::optional<std::uint64_t> login_delay() const;  // seconds
  std::optional<std::string> implementation() const { return argument("IMPLEMENTATION"); }
  const std::vector<std::string>& lines() const { return lines_; }

 private:
  std::vector<std::string> lines_;
  std::map<std::string, std::string> tags_;  // upper-case tag -> argument text
};

struct ListingEntry {
  std::uint64_t number = 0;
  std::string value;  // the unique-id (UIDL) or the size in octets (LIST)
};

// One "n value" line of a UIDL or LIST listing. UIDLs must be 1-70 characters 0x21-0x7E.
Result<ListingEntry> parse_uidl_line(std::string_view line);
Result<std::pair<std::uint64_t, std::uint64_t>> parse_list_line(std::string_view line);

// RFC 1939 §3: a line of a multi-line response without its CRLF. nullopt for the terminating
// ".", otherwise the line with one leading '.' removed if there was one.
std::optional<std::string_view> unstuff_line(std::string_view line);

// The APOP timestamp ("<...>") of a greeting text, if it offers one.
std::optional<std::string> apop_timestamp(std::string_view greeting_text);

std::string to_upper_ascii(std::string_view text);

}  // namespace mailport::client
