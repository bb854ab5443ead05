// mbox backend for classic Unix spools ("/var/mail/%u"). A POP3 session holds a mailport-only
// session lock; the MTA's locks (see mbox_lock.hpp) are taken only while reading the new part of
// the spool at login and while UPDATE rewrites it, so mail keeps arriving during a session.
// Message sizes and UIDLs live in an index next to the spool (".<name>.mailport-index"), so a
// login reads only mail that arrived since the last one.
#pragma once

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

#include "store/mail_store.hpp"

namespace mailport::store {

struct MboxOptions {
  // How long a login, an UPDATE or a delivery waits for the MTA's locks on the spool.
  std::chrono::milliseconds lock_timeout{10000};
};

class MboxStore final : public MailStore {
 public:
  explicit MboxStore(std::string path_template, MboxOptions options = {});
  Result<std::unique_ptr<Mailbox>> open(const UserContext& user) override;

 private:
  std::string path_template_;
  MboxOptions options_;
};

// What one open_mbox() call did, for tests that must prove old mail was not read again.
struct MboxOpenStats {
  std::size_t messages_from_index = 0;
  std::uint64_t bytes_scanned = 0;
  bool index_rebuilt = false;  // no usable index: the whole spool was read
};

// Opens the spool at `path` (a missing spool is an empty maildrop) and takes the session lock:
// errc::in_use while another session holds it. Exposed for tests.
Result<std::unique_ptr<Mailbox>> open_mbox(const std::filesystem::path& path,
                                           const MboxOptions& options, MboxOpenStats* stats);

// Appends one message (LF line ends) under the MTA's locks, with a From_ line for `sender`
// ("" = null sender) and ">From " quoting, then fsyncs. On any error the spool is cut back to
// its previous length, so no partial message is left behind. errc::in_use when the spool stayed
// locked for options.lock_timeout.
Result<void> deliver_to_mbox(const std::filesystem::path& path, std::string_view sender,
                             std::string_view message, const MboxOptions& options = {});

// ".<name>.mailport-index" beside the spool.
std::filesystem::path mbox_index_path(const std::filesystem::path& spool);

}  // namespace mailport::store
