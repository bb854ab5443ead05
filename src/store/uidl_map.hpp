// Imported UIDLs of a Maildir ("mailport-uidlmap" in the Maildir: a version line, then one
// "<base name> <uidl>" line per message) or of an mbox spool (".<spool>.mailport-uidlmap" beside
// it, keyed by the UIDL mailport itself gives the message, see mbox_store.hpp). It is written only
// by `mailport migrate` (import, pull), never by the server, and entries are only ever added: a
// UIDL that a client may have seen must never change. Read once per login; 100k entries are a few
// MB and load in tens of milliseconds.
#pragma once

#include <cstddef>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "core/result.hpp"

namespace mailport::store {

inline constexpr const char* kUidlMapFileName = "mailport-uidlmap";

class UidlMap {
 public:
  enum class AddResult { added, already_there, conflict };

  // A missing file is an empty map. An unreadable or malformed one is an error naming the line,
  // so that the caller can log it and carry on with its own UIDLs.
  static Result<UidlMap> load(int dir_fd, const std::string& file_name = kUidlMapFileName);
  static Result<UidlMap> load_file(const std::filesystem::path& maildir);

  std::optional<std::string_view> find(std::string_view base) const;
  std::size_t size() const { return entries_.size(); }
  bool empty() const { return entries_.empty(); }

  // Never replaces a mapping: a different UIDL for a mapped base name is a conflict. The base
  // must be free of whitespace and the UIDL valid for RFC 1939 (errc::invalid_input otherwise).
  Result<AddResult> add(std::string_view base, std::string_view uidl);

  // Written atomically: temporary file, fsync, rename, fsync of the directory.
  Result<void> save(int dir_fd, const std::string& file_name = kUidlMapFileName) const;
  Result<void> save_file(const std::filesystem::path& maildir) const;

  // Entries in file order, for listings.
  const std::vector<std::pair<std::string, std::string>>& entries() const { return entries_; }

 private:
  struct Hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view text) const {
      return std::hash<std::string_view>{}(text);
    }
  };

  std::vector<std::pair<std::string, std::string>> entries_;
  std::unordered_map<std::string, std::size_t, Hash, std::equal_to<>> index_;

  friend Result<UidlMap> parse_uidl_map(std::string_view text, std::string_view origin);
};

// Picks each message's UIDL in listing order: a mapped one wins, but a listing never shows one
// UIDL twice, so a message whose UIDL an earlier one already took falls back to its own scheme
// (and, should an imported UIDL have taken that too, to "<own>-2", "-3"...). The server and
// `migrate --dry-run` share it.
class UidlAssigner {
 public:
  explicit UidlAssigner(const UidlMap& map) : map_(map) {}

  struct Assigned {
    std::string uidl;
    bool from_map = false;
    bool collided = false;  // its mapped or own UIDL was taken by an earlier message
  };
  // `base` is the Maildir base name, `own` the UIDL mailport would give it without a map.
  Assigned assign(std::string_view base, std::string own);

 private:
  const UidlMap& map_;
  std::unordered_set<std::string> used_;
};

// Parses the file text; `origin` names the file in errors ("origin:line: message").
Result<UidlMap> parse_uidl_map(std::string_view text, std::string_view origin);

}  // namespace mailport::store
