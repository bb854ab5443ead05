// `mailport migrate import`: reads an old server's per-message UIDLs from where it left them (the
// Maildir in place, or a CSV) and adds them to each user's UIDL map (store/uidl_map.hpp), so that
// clients see the same UIDLs after the switch and download nothing again.
#pragma once

#include <cstddef>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/result.hpp"
#include "migrate/uidl_template.hpp"

namespace mailport::store {
class UidlAssigner;
class UidlMap;
}  // namespace mailport::store

namespace mailport::migrate {

enum class ImportSource { dovecot, courier, xuidl, csv };

struct ImportOptions {
  ImportSource source = ImportSource::dovecot;
  UidlTemplate uidl_format;  // dovecot only
  bool dry_run = false;
};

// One message as the server will list it after the import.
struct PlannedMessage {
  std::string base;
  std::string uidl;            // what the server will list
  std::string old_uidl;        // what the old server listed; empty when unknown
  bool from_map = false;       // served from the map (imported now or before)
  bool collision = false;      // old UIDL already taken by an earlier message: own UIDL served
  bool kept_existing = false;  // the map already had a different UIDL; it stays (never rewritten)
};

// What the server will list for one message whose map key is `base`: the mapped UIDL, else
// `own_uidl`; flags whether the old UIDL could be kept. Shared by every import source.
PlannedMessage plan_message(std::string base, std::string old_uidl, std::string own_uidl,
                            store::UidlAssigner& assigner, const store::UidlMap& map);

struct UserPlan {
  std::string user;
  std::filesystem::path maildir;
  std::vector<PlannedMessage> messages;
  std::size_t added = 0;  // new map entries (written unless dry-run)
  std::size_t without_old_uidl() const;
  std::size_t collisions() const;
};

// UIDLs from a CSV file "user,message-file,uidl" (message-file: a file name in cur/ or new/, with
// or without its flags, or a path ending in one); errors name "file:line".
using CsvUidls = std::map<std::string, std::map<std::string, std::string>>;  // user -> base -> uidl
Result<CsvUidls> parse_uidl_csv(std::string_view text, std::string_view origin);

// Plans (and unless dry-run, writes) one user's map. `csv` is used by ImportSource::csv.
Result<UserPlan> import_user(const std::string& user, const std::filesystem::path& maildir,
                             const ImportOptions& options, const CsvUidls* csv);

}  // namespace mailport::migrate
