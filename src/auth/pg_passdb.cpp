#include "auth/pg_passdb.hpp"

#include <string>

namespace mailport::auth {
namespace {

constexpr std::string_view kColumns = "login, password, uid, gid, home";

UserRecord record_of(const pg::Rows& rows, int row) {
  UserRecord user;
  user.name = std::string(rows.text(row, 0));
  user.password = std::string(rows.text(row, 1));
  if (!rows.is_null(row, 2)) user.uid = static_cast<uid_t>(rows.integer(row, 2));
  if (!rows.is_null(row, 3)) user.gid = static_cast<gid_t>(rows.integer(row, 3));
  user.home = std::string(rows.text(row, 4));
  return user;
}

pg::Param optional_id(const std::optional<unsigned>& id, std::string& text) {
  if (!id) return pg::Param{{}, false, true};
  text = std::to_string(*id);
  return pg::Param{text};
}

}  // namespace

PgPassDb::PgPassDb(std::shared_ptr<pg::Pool> pool) : pool_(std::move(pool)) {}

Result<std::optional<UserRecord>> PgPassDb::lookup(std::string_view user) {
  auto lease = pool_->acquire();
  if (!lease) return lease.error();
  auto rows = (*lease)->query("SELECT " + std::string(kColumns) + " FROM users WHERE login = $1",
                              {pg::Param{user}});
  if (!rows) return rows.error();
  if (rows->size() == 0) return std::optional<UserRecord>();
  return std::optional<UserRecord>(record_of(*rows, 0));
}

Result<void> pg_add_user(pg::Pool& pool, const UserRecord& user) {
  if (!valid_user_name(user.name)) {
    return make_error(errc::invalid_input, "invalid user name '" + user.name + "'");
  }
  if (user.password.empty()) return make_error(errc::invalid_input, "empty password hash");
  auto lease = pool.acquire();
  if (!lease) return lease.error();
  std::string uid, gid;
  auto rows = (*lease)->query(
      "INSERT INTO users (login, password, uid, gid, home) VALUES ($1, $2, $3, $4, $5) "
      "ON CONFLICT (login) DO NOTHING",
      {pg::Param{user.name}, pg::Param{user.password},
       optional_id(user.uid ? std::optional<unsigned>(*user.uid) : std::nullopt, uid),
       optional_id(user.gid ? std::optional<unsigned>(*user.gid) : std::nullopt, gid),
       pg::Param{user.home}});
  if (!rows) return rows.error();
  if (rows->affected() == 0) {
    return make_error(errc::invalid_input, "user '" + user.name + "' already exists");
  }
  return {};
}

Result<void> pg_set_password(pg::Pool& pool, std::string_view user, std::string_view hash) {
  auto lease = pool.acquire();
  if (!lease) return lease.error();
  auto rows = (*lease)->query("UPDATE users SET password = $2 WHERE login = $1",
                              {pg::Param{user}, pg::Param{hash}});
  if (!rows) return rows.error();
  if (rows->affected() == 0) {
    return make_error(errc::not_found, "user '" + std::string(user) + "' not found");
  }
  return {};
}

Result<void> pg_replace_password(pg::Pool& pool, std::string_view user, std::string_view expected,
                                 std::string_view hash) {
  auto lease = pool.acquire();
  if (!lease) return lease.error();
  auto rows = (*lease)->query("UPDATE users SET password = $3 WHERE login = $1 AND password = $2",
                              {pg::Param{user}, pg::Param{expected}, pg::Param{hash}});
  if (!rows) return rows.error();
  if (rows->affected() == 0) {
    return make_error(errc::temporary_failure,
                      "the password of '" + std::string(user) + "' changed meanwhile");
  }
  return {};
}

Result<void> pg_delete_user(pg::Pool& pool, std::string_view user) {
  auto lease = pool.acquire();
  if (!lease) return lease.error();
  auto rows = (*lease)->query("DELETE FROM users WHERE login = $1", {pg::Param{user}});
  if (!rows) return rows.error();
  if (rows->affected() == 0) {
    return make_error(errc::not_found, "user '" + std::string(user) + "' not found");
  }
  return {};
}

Result<std::vector<UserRecord>> pg_list_users(pg::Pool& pool) {
  auto lease = pool.acquire();
  if (!lease) return lease.error();
  auto rows = (*lease)->query("SELECT " + std::string(kColumns) + " FROM users ORDER BY login");
  if (!rows) return rows.error();
  std::vector<UserRecord> users;
  for (int row = 0; row < rows->size(); ++row) users.push_back(record_of(*rows, row));
  return users;
}

}  // namespace mailport::auth
