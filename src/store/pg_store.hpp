// Maildrops in PostgreSQL ("postgres:CONNINFO"): message rows without bodies for the snapshot,
// bodies streamed in chunks on RETR, and the POP3 exclusive lock as a session-level advisory
// lock on the mailbox id, held by the session's connection, so a crashed instance's locks go
// with its connections.
#pragma once

#include <memory>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "pg/pool.hpp"
#include "store/mail_store.hpp"

namespace mailport::store {

class PgStore final : public MailStore {
 public:
  explicit PgStore(std::shared_ptr<pg::Pool> pool);
  Result<std::unique_ptr<Mailbox>> open(const UserContext& user) override;

 private:
  std::shared_ptr<pg::Pool> pool_;
};

// One message to every user, in one transaction: every result is ok only after COMMIT.
std::vector<Result<void>> deliver_to_postgres(pg::Pool& pool, std::span<const UserContext> users,
                                              std::string_view message);

// The UIDLs of the messages `login`'s mailbox holds (empty if it has none yet).
Result<std::set<std::string>> postgres_uidls(pg::Pool& pool, const std::string& login);

// Adds a message with a given UIDL (for migrations) unless the mailbox already has one with
// that UIDL. Returns whether it was added.
Result<bool> import_to_postgres(pg::Pool& pool, const std::string& login, const std::string& uidl,
                                std::string_view message);

}  // namespace mailport::store
