// Maildir backend (cur/ new/ tmp/). Sizes come from ",W=" in file names, else are computed once
// and cached in a small per-maildir file; UIDLs are the message base names (before ":2,").
#pragma once

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "store/mail_store.hpp"
#include "store/uidl_churn.hpp"

namespace mailport::store {

class MaildirStore final : public MailStore {
 public:
  // With `churn`, each open compares the listing with the previous session's and logs
  // event=uidl_churn when most of what a client saw has vanished (store/uidl_churn.hpp).
  explicit MaildirStore(std::string path_template,
                        std::optional<ChurnSettings> churn = std::nullopt);
  Result<std::unique_ptr<Mailbox>> open(const UserContext& user) override;

 private:
  std::string path_template_;
  std::optional<ChurnSettings> churn_;
};

// Opens (creating it if missing) the Maildir at `path`, locks it, moves new/ to cur/ and returns
// the snapshot. Exposed for tests and for `deliver`.
Result<std::unique_ptr<Mailbox>> open_maildir(const std::filesystem::path& path);

// What one open_maildir() call did, for logs and for tests that must prove a body was not read.
struct MaildirOpenStats {
  std::size_t moved_from_new = 0;
  std::size_t sizes_from_names = 0;    // ",W=" in the file name
  std::size_t sizes_from_cache = 0;    // the mailport-sizes file
  std::size_t sizes_computed = 0;      // message bodies read
  std::size_t skipped_duplicates = 0;  // same UIDL as a message earlier in order
  std::size_t skipped_unreadable = 0;  // could not be read to compute its size
  bool cache_written = false;
  std::size_t uidls_from_map = 0;     // UIDLs taken from the imported map (mailport-uidlmap)
  std::size_t uidl_collisions = 0;    // UIDL already listed: fell back to the own scheme
  std::vector<std::string> collided;  // base names of those messages, for the log
  std::optional<std::string> uidl_map_error;  // the map could not be used (own UIDLs served)
  std::optional<ChurnFinding> churn;          // set when the churn alarm fired
};
Result<std::unique_ptr<Mailbox>> open_maildir(const std::filesystem::path& path,
                                              MaildirOpenStats& stats,
                                              const ChurnSettings* churn = nullptr);

// Delivers one message atomically: tmp/ + fsync + link into new/ (rename where the filesystem has
// no hard links) + fsync of new/, creating the Maildir if missing. The name carries ,S=<bytes>
// and ,W=<CRLF size>. Returns the file name used (in new/).
Result<std::string> deliver_to_maildir(const std::filesystem::path& path, std::string_view message);

// The same message into several Maildirs, written and fsynced once: the first Maildir that
// accepts it gets the file, the others a hard link to it (a copy of their own where a link is
// impossible, e.g. across filesystems). One result (the name in new/) per path, in order.
std::vector<Result<std::string>> deliver_to_maildirs(std::span<const std::filesystem::path> paths,
                                                     std::string_view message);

}  // namespace mailport::store
