// `mailport migrate import --from pop3 URL`: for an mbox spool served in place by an old POP3
// server whose UIDLs are computed and stored nowhere (popa3d hashes a few header lines at every
// login), asks the live old server for its listing and records each message's old UIDL in the
// spool's UIDL map (store/mbox_store.hpp), keyed by the UIDL mailport gives the message itself.
//
// The old server and mailport read the same file, so the old listing's n-th message is the
// spool's n-th: every pair must agree on the size (octets with CRLF line ends), or the spool
// changed in between (a client deleted mail) and nothing is written. Messages after the old
// listing arrived since and keep mailport's own UIDL. Nothing is ever deleted on the old server.
#pragma once

#include <chrono>
#include <filesystem>
#include <string>
#include <string_view>

#include "core/result.hpp"
#include "migrate/importer.hpp"
#include "migrate/old_server.hpp"

namespace mailport::migrate {

struct Pop3ImportOptions {
  OldServerOptions server;
  std::filesystem::path spool;
  bool dry_run = false;
  std::chrono::milliseconds lock_timeout{10000};  // for the MTA's locks while reading the spool
};

// The plan names the spool as `maildir`; messages' `base` is the key (mailport's own UIDL).
// Errors: the old server (network, login), the spool, the map (unreadable: nothing is added to a
// map that may hold UIDLs clients have seen), errc::temporary_failure when the listings disagree
// (run again).
Result<UserPlan> import_from_pop3(const Pop3ImportOptions& options, std::string_view password,
                                  const NoteFn& note, const NoteFn& warn);

}  // namespace mailport::migrate
