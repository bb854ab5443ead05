// One run of `mailport fetch` for one account: log in, fetch what the state does not know yet
// into the sink, delete on the server what the policy says, QUIT. The order that makes it safe:
//
//   1. RETR, then the sink stores the message durably (its attempt token on disk first);
//   2. the UIDL is recorded as fetched;
//   3. DELE; deletions take effect only at QUIT (RFC 1939 UPDATE state), and QUIT is sent
//      only once every record is on disk.
//
// Stopping anywhere leaves either a message that is still on the server (fetched again unless
// its token shows the earlier copy is complete) or a message stored locally whose UIDL is
// recorded (never fetched again). See docs/fetch.md.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "client/pop3_client.hpp"
#include "client/url.hpp"
#include "core/result.hpp"

namespace mailport::client {

enum class DeletePolicy {
  after_fetch,  // default: delete once stored locally
  keep,         // never delete
  after_days,   // delete once the message was first fetched `delete_after_days` days ago
};

// Whether a message first fetched at `first_seen` is to be deleted at `now` (Unix seconds).
bool should_delete(DeletePolicy policy, std::uint64_t days, std::int64_t first_seen,
                   std::int64_t now);

struct Destination {
  enum class Kind { maildir, mbox, mda };
  Kind kind = Kind::maildir;
  std::string target;  // directory, file or command
};

struct AccountSettings {
  ServerUrl url;
  std::optional<std::filesystem::path> cafile;
  bool insecure_plaintext = false;  // pop3:// may log in without TLS when STLS is missing
  AuthMethod auth = AuthMethod::automatic;
  DeletePolicy policy = DeletePolicy::after_fetch;
  std::uint64_t delete_after_days = 0;
  Destination destination;
  std::filesystem::path state_file;
  std::chrono::milliseconds timeout{std::chrono::seconds(60)};
  std::function<std::int64_t()> clock;  // Unix seconds; the system clock when empty
};

// Shared with a progress display on another thread.
struct AccountProgress {
  enum class Phase { waiting, connecting, fetching, finishing, done, failed };
  std::atomic<Phase> phase{Phase::waiting};
  std::atomic<std::size_t> to_fetch{0};
  std::atomic<std::size_t> fetched{0};
  std::atomic<std::uint64_t> bytes_to_fetch{0};
  std::atomic<std::uint64_t> bytes{0};
};

struct AccountReport {
  std::size_t fetched = 0;        // stored locally in this run
  std::size_t already_local = 0;  // on the server, stored locally by an earlier run
  std::size_t deleted = 0;        // deleted on the server (committed by QUIT)
  std::size_t on_server = 0;      // left on the server
  std::uint64_t bytes = 0;
  std::optional<std::string> skipped;  // why nothing was attempted (LOGIN-DELAY)
  std::optional<Error> error;
  std::vector<std::string> warnings;
};

using LogFn = std::function<void(std::string_view line)>;

AccountReport fetch_account(const AccountSettings& settings, std::string_view password,
                            AccountProgress& progress, const LogFn& log);

}  // namespace mailport::client
