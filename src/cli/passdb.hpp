// The user database of serve and deliver: a passwd file or PostgreSQL.
#pragma once

#include <memory>

#include "auth/passwd_file.hpp"
#include "config/config.hpp"

namespace mailport::cli {

// auth.passdb (PostgreSQL) if set, else the passwd file auth.passwd.
std::unique_ptr<auth::PassDb> open_passdb(const config::Config& config);

// Creates the process's PostgreSQL pools for auth.passdb and mail.location with
// postgres.pool_size connections, before anything else asks for them: a pool's size is fixed by
// whoever creates it first.
void size_postgres_pools(const config::Config& config);

}  // namespace mailport::cli
