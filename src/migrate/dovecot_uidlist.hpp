// Dovecot's "dovecot-uidlist" (UID <-> Maildir file name). Version 3 (Dovecot 1.1 and later):
//   3 V<uidvalidity> N<next uid> G<mailbox guid> [other fields]
//   <uid> [<key><value> ...] :<base file name>
// where the per-message fields include W<size> S<size> G<guid> and P<pop3 uidl> (the UIDL
// remembered by pop3_save_uidl). Version 1 (Courier-compatible):
//   1 <uidvalidity> <next uid>
//   <uid> <base file name>
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.hpp"

namespace mailport::migrate {

struct UidlistEntry {
  std::uint32_t uid = 0;
  std::string filename;
  std::map<char, std::string> fields;  // extension fields by key letter

  std::optional<std::string_view> field(char key) const;
};

struct Uidlist {
  unsigned version = 0;
  std::uint32_t uidvalidity = 0;
  std::uint32_t next_uid = 0;
  std::string guid;
  std::vector<UidlistEntry> entries;
};

// Errors name "origin:line".
Result<Uidlist> parse_dovecot_uidlist(std::string_view text, std::string_view origin);

}  // namespace mailport::migrate
