#include "pg/schema.hpp"

#include <string>

namespace mailport::pg {
namespace {

// Two-int advisory keys live apart from the one-bigint keys that lock mailboxes.
constexpr std::string_view kSchemaLock = "SELECT pg_advisory_xact_lock(1836016752, 1)";

// Messages and their bodies are separate tables so that STAT, LIST and UIDL read only the small
// rows. Bodies are stored uncompressed out of line (STORAGE EXTERNAL), so substring() on a
// bytea reads only the chunks a RETR asks for. messages_mailbox_order covers the snapshot query,
// so a login reads the rows of one mailbox in order from the index alone.
constexpr std::string_view kVersion1 = R"sql(
CREATE TABLE users (
  login      text PRIMARY KEY,
  password   text NOT NULL,
  uid        bigint,
  gid        bigint,
  home       text NOT NULL DEFAULT '',
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE mailboxes (
  id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  login      text NOT NULL UNIQUE,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE messages (
  id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  mailbox_id   bigint NOT NULL REFERENCES mailboxes (id) ON DELETE CASCADE,
  uidl         text NOT NULL DEFAULT replace(gen_random_uuid()::text, '-', ''),
  octets       bigint NOT NULL,
  stored_size  bigint NOT NULL,
  delivered_at timestamptz NOT NULL DEFAULT now(),
  retrieved_at timestamptz,
  CONSTRAINT messages_uidl_unique UNIQUE (mailbox_id, uidl),
  CONSTRAINT messages_uidl_form CHECK (uidl ~ '^[!-~]{1,70}$')
);
CREATE INDEX messages_mailbox_order ON messages (mailbox_id, id) INCLUDE (uidl, octets, retrieved_at);
CREATE TABLE message_bodies (
  message_id bigint PRIMARY KEY REFERENCES messages (id) ON DELETE CASCADE,
  body       bytea NOT NULL
);
ALTER TABLE message_bodies ALTER COLUMN body SET STORAGE EXTERNAL;
)sql";

constexpr Migration kMigrations[] = {
    {1, "users, mailboxes, messages, message_bodies", kVersion1},
};

Result<int> current_version(Connection& connection) {
  auto rows = connection.query("SELECT coalesce(max(version), 0) FROM mailport_schema");
  if (!rows) return rows.error();
  return static_cast<int>(rows->integer(0, 0));
}

Result<void> apply(Connection& connection, SchemaState& state) {
  if (auto locked = connection.execute(kSchemaLock); !locked) return locked;
  if (auto made = connection.execute(
          "CREATE TABLE IF NOT EXISTS mailport_schema (version integer PRIMARY KEY, "
          "description text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())");
      !made) {
    return made;
  }
  auto version = current_version(connection);
  if (!version) return version.error();
  state.version_before = state.version_after = *version;
  auto to_apply = pending_migrations(*version);
  if (!to_apply) return to_apply.error();
  for (const Migration& migration : *to_apply) {
    if (auto applied = connection.execute_script(migration.sql); !applied) {
      return make_error(
          errc::permanent_failure,
          "schema migration " + std::to_string(migration.version) + ": " + applied.error().message);
    }
    const std::string number = std::to_string(migration.version);
    if (auto recorded =
            connection.execute("INSERT INTO mailport_schema (version, description) VALUES ($1, $2)",
                               {Param{number}, Param{migration.description}});
        !recorded) {
      return recorded;
    }
    state.version_after = migration.version;
  }
  return {};
}

}  // namespace

std::span<const Migration> migrations() {
  return kMigrations;
}

int latest_version() {
  return kMigrations[std::size(kMigrations) - 1].version;
}

Result<std::vector<Migration>> pending_migrations(int current) {
  if (current > latest_version()) {
    return make_error(errc::permanent_failure,
                      "database schema version " + std::to_string(current) +
                          " is newer than this mailport knows (" +
                          std::to_string(latest_version()) + "); upgrade mailport");
  }
  std::vector<Migration> to_apply;
  for (const Migration& migration : kMigrations) {
    if (migration.version > current) to_apply.push_back(migration);
  }
  return to_apply;
}

Result<SchemaState> ensure_schema(Connection& connection) {
  SchemaState state;
  // Fast path without a lock: an instance restarting against an up-to-date database.
  if (auto version = current_version(connection); version && *version == latest_version()) {
    state.version_before = state.version_after = *version;
    return state;
  }
  auto done = in_transaction(connection, [&state](Connection& c) { return apply(c, state); });
  if (!done) return done.error();
  return state;
}

}  // namespace mailport::pg
