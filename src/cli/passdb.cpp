#include "cli/passdb.hpp"

#include <string>

#include "auth/pg_passdb.hpp"
#include "pg/conninfo.hpp"
#include "pg/pool.hpp"

namespace mailport::cli {

std::unique_ptr<auth::PassDb> open_passdb(const config::Config& config) {
  if (auto conninfo = pg::strip_prefix(config.auth.passdb)) {
    return std::make_unique<auth::PgPassDb>(pg::shared_pool(std::string(*conninfo)));
  }
  return std::make_unique<auth::PasswdFileDb>(config.auth.passwd);
}

void size_postgres_pools(const config::Config& config) {
  for (const std::string& spec : {config.auth.passdb, config.mail.location}) {
    if (auto conninfo = pg::strip_prefix(spec)) {
      pg::shared_pool(std::string(*conninfo), config.postgres.pool_size);
    }
  }
}

}  // namespace mailport::cli
