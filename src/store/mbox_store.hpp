// mbox backend for classic Unix spools ("/var/mail/%u"). A POP3 session holds a mailport-only
// session lock; the MTA's locks (see mbox_lock.hpp) are taken only while reading the new part of
// the spool at login and while UPDATE rewrites it, so mail keeps arriving during a session.
// Message sizes and UIDLs live in an index next to the spool (".<name>.mailport-index"), so a
// login reads only mail that arrived since the last one.
//
// UIDLs taken over from an old server (`mailport migrate import --from pop3`) live in a UIDL map
// beside the spool (".<name>.mailport-uidlmap", store/uidl_map.hpp) keyed by the UIDL mailport
// gives the message on its own (X-UIDL header, else a digest of its From_ line and headers), so
// that a login maps each message with one hash lookup and reads nothing more of the spool.
//
// The UIDL churn alarm (store/uidl_churn.hpp) keeps the UIDLs the last session listed in
// ".<name>.mailport-seen-uidls" beside the spool.
#pragma once

#include <chrono>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "store/mail_store.hpp"
#include "store/uidl_churn.hpp"

namespace mailport::store {

struct MboxOptions {
  // How long a login, an UPDATE or a delivery waits for the MTA's locks on the spool.
  std::chrono::milliseconds lock_timeout{10000};
};

class MboxStore final : public MailStore {
 public:
  // With `churn`, each open compares the listing with the previous session's and logs
  // event=uidl_churn when most of what a client saw has vanished.
  explicit MboxStore(std::string path_template, MboxOptions options = {},
                     std::optional<ChurnSettings> churn = std::nullopt);
  Result<std::unique_ptr<Mailbox>> open(const UserContext& user) override;

 private:
  std::string path_template_;
  MboxOptions options_;
  std::optional<ChurnSettings> churn_;
};

// What one open_mbox() call did, for tests that must prove old mail was not read again.
struct MboxOpenStats {
  std::size_t messages_from_index = 0;
  std::uint64_t bytes_scanned = 0;
  bool index_rebuilt = false;         // no usable index: the whole spool was read
  std::size_t uidls_from_map = 0;     // UIDLs taken from the spool's UIDL map
  std::size_t uidl_collisions = 0;    // mapped UIDL already listed: fell back to the own one
  std::vector<std::string> collided;  // own UIDLs of those messages, for the log
  std::optional<std::string> uidl_map_error;  // the map could not be used (own UIDLs served)
  std::optional<ChurnFinding> churn;          // set when the churn alarm fired
};

// Which UIDLs open_mbox lists: the map's where it has one (what the server does), or mailport's
// own for every message (what `migrate import` records as the map's keys).
enum class MboxUidls { mapped, own };

// Opens the spool at `path` (a missing spool is an empty maildrop) and takes the session lock:
// errc::in_use while another session holds it. With `churn`, the listing is compared with the
// previous session's (the finding lands in stats->churn; nothing is logged). Exposed for tests.
Result<std::unique_ptr<Mailbox>> open_mbox(const std::filesystem::path& path,
                                           const MboxOptions& options, MboxOpenStats* stats,
                                           MboxUidls uidls = MboxUidls::mapped,
                                           const ChurnSettings* churn = nullptr);

// Appends one message (LF line ends) under the MTA's locks, with a From_ line for `sender`
// ("" = null sender) and ">From " quoting, then fsyncs. On any error the spool is cut back to
// its previous length, so no partial message is left behind. errc::in_use when the spool stayed
// locked for options.lock_timeout.
Result<void> deliver_to_mbox(const std::filesystem::path& path, std::string_view sender,
                             std::string_view message, const MboxOptions& options = {});

// ".<name>.mailport-index" beside the spool.
std::filesystem::path mbox_index_path(const std::filesystem::path& spool);
// ".<name>.mailport-uidlmap" beside the spool (a file name in the spool's directory).
std::string mbox_uidl_map_name(const std::filesystem::path& spool);
// ".<name>.mailport-seen-uidls" beside the spool (a file name in the spool's directory).
std::string mbox_seen_uidls_name(const std::filesystem::path& spool);

}  // namespace mailport::store
