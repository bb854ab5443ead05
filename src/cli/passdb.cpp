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

}  // namespace mailport::cli
