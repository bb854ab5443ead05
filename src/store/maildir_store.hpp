// Maildir backend (cur/ new/ tmp/). Sizes come from ",W=" in file names, else are computed once
// and cached in a small per-maildir file; UIDLs are the message base names (before ":2,").
#pragma once

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>

#include "store/mail_store.hpp"

namespace mailport::store {

class MaildirStore final : public MailStore {
 public:
  explicit MaildirStore(std::string path_template);
  Result<std::unique_ptr<Mailbox>> open(const UserContext& user) override;

 private:
  std::string path_template_;
};

// Opens (creating it if missing) the Maildir at `path`, locks it, moves new/ to cur/ and returns
// the snapshot. Exposed for tests and for `deliver`.
Result<std::unique_ptr<Mailbox>> open_maildir(const std::filesystem::path& path);

// Delivers one message atomically: tmp/ + fsync + rename into new/ + fsync of new/. The name
// carries ,S=<bytes> and ,W=<CRLF size>. Returns the file name used.
Result<std::string> deliver_to_maildir(const std::filesystem::path& path, std::string_view message);

}  // namespace mailport::store
