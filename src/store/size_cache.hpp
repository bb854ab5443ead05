// Wire sizes of messages whose names carry no ",W=", computed once and kept in a small file in
// the Maildir ("mailport-sizes": a version line, then "<base name> <size>" lines) so that later
// sessions do not read the bodies again. Keyed by base name, which survives flag changes; message
// files are immutable under the Maildir rules, so an entry never goes stale while its file exists.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "core/result.hpp"

namespace mailport::store {

inline constexpr const char* kSizeCacheFileName = "mailport-sizes";

class SizeCache {
 public:
  // A missing, unreadable or foreign file is an empty cache: everything is recomputed.
  static SizeCache load(int maildir_fd);

  std::optional<std::uint64_t> find(std::string_view base) const;
  // Records a size for the next save(); only recorded entries are written, so entries of
  // vanished messages drop out.
  void record(std::string_view base, std::uint64_t size);
  std::size_t loaded_count() const { return loaded_.size(); }

  // Writes the recorded entries atomically (temporary file, fsync, rename).
  Result<void> save(int maildir_fd) const;

 private:
  std::unordered_map<std::string, std::uint64_t> loaded_;
  std::unordered_map<std::string, std::uint64_t> recorded_;
};

}  // namespace mailport::store
