// Users in PostgreSQL ("--passdb postgres:CONNINFO"): the `users` table holds the same
// "{SCHEME}hash" values as a passwd file, so `mailport user` and the server treat both alike.
#pragma once

#include <memory>
#include <optional>
#include <string_view>
#include <vector>

#include "auth/passwd_file.hpp"
#include "pg/pool.hpp"

namespace mailport::auth {

class PgPassDb final : public PassDb {
 public:
  explicit PgPassDb(std::shared_ptr<pg::Pool> pool);
  // Blocking (a query): the server calls it from the blocking pool.
  Result<std::optional<UserRecord>> lookup(std::string_view user) override;

 private:
  std::shared_ptr<pg::Pool> pool_;
};

// The edits of `mailport user`, as single statements (so concurrent edits cannot interleave).
// add: errc::invalid_input if the user exists; passwd/del: errc::not_found if not.
Result<void> pg_add_user(pg::Pool& pool, const UserRecord& user);
Result<void> pg_set_password(pg::Pool& pool, std::string_view user, std::string_view hash);
// Like pg_set_password, but only while the stored hash is still `expected` (compare-and-swap),
// so an automatic upgrade never overwrites a password changed meanwhile: errc::temporary_failure
// then.
Result<void> pg_replace_password(pg::Pool& pool, std::string_view user, std::string_view expected,
                                 std::string_view hash);
Result<void> pg_delete_user(pg::Pool& pool, std::string_view user);
Result<std::vector<UserRecord>> pg_list_users(pg::Pool& pool);

}  // namespace mailport::auth
