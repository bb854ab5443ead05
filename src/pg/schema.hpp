// The database schema as numbered migrations, applied in order and recorded in the
// `mailport_schema` table: on first use by each instance and by `mailport db migrate`.
#pragma once

#include <span>
#include <string_view>
#include <vector>

#include "core/result.hpp"
#include "pg/connection.hpp"

namespace mailport::pg {

struct Migration {
  int version;
  std::string_view description;
  std::string_view sql;
};

std::span<const Migration> migrations();
int latest_version();

// The migrations a database at `current` still needs, in order. errc::permanent_failure if the
// database is newer than this binary knows (an older instance must not write to it).
Result<std::vector<Migration>> pending_migrations(int current);

struct SchemaState {
  int version_before = 0;
  int version_after = 0;
};

// Creates or upgrades the schema in one transaction, serialised across instances by an
// advisory lock, so several instances starting at once apply each migration exactly once.
Result<SchemaState> ensure_schema(Connection& connection);

}  // namespace mailport::pg
