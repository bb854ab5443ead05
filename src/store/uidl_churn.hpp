// The UIDL churn alarm: the signature of a botched migration is a client that logs in and finds
// most UIDLs it saw last time gone although nobody deleted them. Each maildrop keeps the UIDLs its
// last session listed as 64-bit hashes (8 bytes each, sorted; 800 KB for 100k messages): a
// Maildir in "mailport-seen-uidls", an mbox spool in ".<spool>.mailport-seen-uidls" beside it.
// The file is rewritten only when the listing changed; deletions by a session are taken out at
// UPDATE, so only messages that vanished otherwise count as missing.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/message_info.hpp"
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

// Sorted, without duplicates, in the file `file_name` of the directory `dir_fd`. Missing,
// unreadable or malformed files are an empty set (the alarm is advice; it must never hold mail
// back). Saving goes through "<file_name>.tmp" and a rename, so a reader never sees half a file.
std::vector<std::uint64_t> load_seen_uidls(int dir_fd,
                                           const std::string& file_name = kSeenUidlsFileName);
Result<void> save_seen_uidls(int dir_fd, const std::vector<std::uint64_t>& sorted,
                             const std::string& file_name = kSeenUidlsFileName);

// The sorted, deduplicated hashes of a listing's UIDLs.
std::vector<std::uint64_t> seen_uidl_hashes(std::span<const MessageInfo> listing);

// nullopt unless `current` misses more than settings.percent of `previous`.
std::optional<ChurnFinding> check_churn(const std::vector<std::uint64_t>& previous,
                                        const std::vector<std::uint64_t>& current,
                                        const ChurnSettings& settings);

// Logs the event=uidl_churn warning for `login`, with `store_field` ("maildir", "mbox") naming
// the maildrop at `path`, then calls settings.on_alarm.
void report_churn(std::string_view login, const ChurnFinding& finding, std::string_view store_field,
                  const std::string& path, const ChurnSettings& settings);

}  // namespace mailport::store
