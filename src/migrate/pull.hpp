// `mailport migrate pull`: copies a live mailbox from any RFC 1939 server into a local Maildir and
// records each message's old UIDL in the Maildir's UIDL map, so that clients moved to mailport
// see the same UIDLs. Never deletes anything on the old server (no DELE is ever sent).
//
// Order that makes it resumable: a batch of messages first gets local file names, recorded in the
// map (written atomically); then each is fetched, its size checked against LIST, and written
// (tmp/ + fsync + link into new/ + fsync). A rerun skips every UIDL whose mapped file exists and
// fetches again those whose file is missing (a run stopped inside the batch), under the same name.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.hpp"
#include "migrate/old_server.hpp"

namespace mailport::migrate {

struct PullOptions {
  OldServerOptions server;
  std::filesystem::path maildir;
};

struct PullReport {
  std::size_t on_server = 0;      // messages the old server listed
  std::size_t copied = 0;         // fetched and stored in this run
  std::size_t already_local = 0;  // copied by an earlier run
  std::uint64_t bytes = 0;
  std::vector<std::string> failed;  // "message N (UIDL x): why"; not stored, retried next run
  std::vector<std::string> warnings;
};

using PullLog = std::function<void(std::string_view line)>;

// Errors: connection, login, or the local Maildir/map. Per-message problems (size mismatch,
// message gone) land in PullReport::failed and the run goes on.
Result<PullReport> pull_mailbox(const PullOptions& options, std::string_view password,
                                const PullLog& log);

}  // namespace mailport::migrate
