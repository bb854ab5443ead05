// The UIDL churn alarm: the signature of a botched migration is a client that logs in and finds
// most UIDLs it saw last time gone although nobody deleted them. Each Maildir keeps the UIDLs its
// last session listed as 64-bit hashes ("mailport-seen-uidls": 8 bytes each, sorted; 800 KB for
// 100k messages), rewritten only when the listing changed; deletions by a session are taken out
// at UPDATE, so only messages that vanished otherwise count as missing.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string_view>
#include <vector>

#include "core/result.hpp"

namespace mailport::store {

inline constexpr const char* kSeenUidlsFileName = "mailport-seen-uidls";

struct ChurnSettings {
  unsigned percent = 50;      // alarm when more than this share of the seen UIDLs is missing
  std::size_t min_seen = 20;  // ... and the last session listed at least this many; 0% = off
  // Called after the warning is logged; the server counts alarms in its metrics through it, since
  // the store knows nothing of them.
  std::function<void()> on_alarm;
};

struct ChurnFinding {
  std::size_t seen = 0;
  std::size_t missing = 0;
};

std::uint64_t uidl_hash(std::string_view uidl);  // FNV-1a: stable across runs and builds

// Sorted, without duplicates. Missing, unreadable or malformed files are an empty set (the
// alarm is advice; it must never hold mail back).
std::vector<std::uint64_t> load_seen_uidls(int maildir_fd);
Result<void> save_seen_uidls(int maildir_fd, const std::vector<std::uint64_t>& sorted);

// nullopt unless `current` misses more than settings.percent of `previous`.
std::optional<ChurnFinding> check_churn(const std::vector<std::uint64_t>& previous,
                                        const std::vector<std::uint64_t>& current,
                                        const ChurnSettings& settings);

}  // namespace mailport::store
