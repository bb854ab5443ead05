// What `mailport fetch` remembers per account between runs: the UIDLs stored locally (with the
// time each was first fetched), the delivery that was in flight when a run stopped, and the last
// login (for LOGIN-DELAY).
//
// Two files: the state file, only ever replaced whole (temp + fsync + rename + fsync of the
// directory), and a journal next to it ("<state>.journal") to which every change is appended
// (and fdatasync'ed when a later step depends on it). Loading replays the journal over the state
// file; compact() folds it back in. Replaying a record twice changes nothing, so a crash between
// the rename and the truncation of the journal is harmless, and a record torn by a crash (no final
// newline) was never acknowledged and is dropped. Each change costs one small append instead
// of rewriting a file that grows with the maildrop.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.hpp"
#include "core/unique_fd.hpp"

namespace mailport::client {

class FetchState {
 public:
  // Loads (or starts) the state at `path`, creating its directory. Holds an exclusive lock until
  // destroyed: a second fetch of the same account fails with errc::in_use.
  static Result<FetchState> open(const std::filesystem::path& path);

  bool fetched(const std::string& uidl) const { return fetched_.contains(uidl); }
  std::optional<std::int64_t> first_seen(const std::string& uidl) const;
  // The token of a delivery that started but was not confirmed (see Sink), if any.
  const std::string* pending(const std::string& uidl) const;
  std::vector<std::string> known_uidls() const;  // fetched or pending
  std::size_t fetched_count() const { return fetched_.size(); }
  std::optional<std::int64_t> last_login() const { return last_login_; }
  std::optional<std::uint64_t> login_delay() const { return login_delay_; }

  // Durable when it returns: the sink writes nothing before.
  Result<void> record_pending(const std::string& uidl, std::string_view token);
  // Durable with the next record_pending() or sync(), whichever comes first. Waiting costs
  // nothing: until then the pending token still proves the copy complete, and the message is
  // only deleted on the server after a sync().
  Result<void> record_fetched(const std::string& uidl, std::int64_t now);
  Result<void> record_login(std::int64_t now, std::optional<std::uint64_t> delay);
  Result<void> forget(const std::vector<std::string>& uidls);
  // Makes every record so far durable.
  Result<void> sync();

  // Writes everything into the state file and empties the journal.
  Result<void> compact();

  const std::filesystem::path& path() const { return path_; }

 private:
  FetchState() = default;
  Result<void> load_snapshot();
  Result<void> load_journal();
  bool apply(std::string_view line);
  Result<void> append(const std::string& records, bool durable);

  std::filesystem::path path_;
  UniqueFd journal_;  // also carries the lock
  std::map<std::string, std::int64_t> fetched_;
  std::map<std::string, std::string> pending_;
  std::optional<std::int64_t> last_login_;
  std::optional<std::uint64_t> login_delay_;
};

// Where an account's state lives inside `dir`: the account name with every byte outside
// [A-Za-z0-9@._-] percent-encoded, so distinct accounts never share a file.
std::filesystem::path state_file_for(const std::filesystem::path& dir, std::string_view account);

// $XDG_STATE_HOME/mailport/fetch, else ~/.local/state/mailport/fetch.
Result<std::filesystem::path> default_state_dir();

// Durability helpers shared with the sinks.
Result<void> write_all_fd(int fd, std::string_view bytes, std::string_view what);
Result<void> fsync_directory(const std::filesystem::path& dir);
Result<void> make_private_dirs(const std::filesystem::path& dir);

}  // namespace mailport::client
