#include "store/pg_store.hpp"

#include <algorithm>
#include <cstring>
#include <optional>

#include "store/crlf_size.hpp"

namespace mailport::store {
namespace {

// Large enough that a big message needs few round trips, small enough to bound memory per
// session.
constexpr std::size_t kBodyChunk = 256 * 1024;
// A login does not wait long for a connection: a client retrying later is better than a
// blocked pool thread.
constexpr std::chrono::milliseconds kOpenWait{1000};
constexpr std::chrono::milliseconds kDeliveryWait{10000};

struct StoredMessage {
  std::int64_t id = 0;
  std::optional<std::int64_t> retrieved_at;  // Unix seconds
};

// The mailbox id of `login`, created on first use.
Result<std::int64_t> mailbox_id(pg::Connection& connection, const std::string& login) {
  constexpr std::string_view kSelect = "SELECT id FROM mailboxes WHERE login = $1";
  for (int attempt = 0; attempt < 2; ++attempt) {
    auto found = connection.query(kSelect, {pg::Param{login}});
    if (!found) return found.error();
    if (found->size() == 1) return found->integer(0, 0);
    // ON CONFLICT: another instance may create it at the same moment.
    auto made = connection.query(
        "INSERT INTO mailboxes (login) VALUES ($1) ON CONFLICT (login) DO NOTHING RETURNING id",
        {pg::Param{login}});
    if (!made) return made.error();
    if (made->size() == 1) return made->integer(0, 0);
  }
  return make_error(errc::temporary_failure, "mailbox row for " + login + " keeps vanishing");
}

std::string id_array(std::span<const std::int64_t> ids) {
  std::string array = "{";
  for (std::size_t i = 0; i < ids.size(); ++i) {
    if (i > 0) array += ',';
    array += std::to_string(ids[i]);
  }
  return array + "}";
}

class PgMessageReader final : public MessageReader {
 public:
  PgMessageReader(pg::Connection& connection, std::int64_t id)
      : connection_(connection), id_(std::to_string(id)) {}

  // Fetches the first chunk, so a message deleted behind our back is reported at open time.
  Result<bool> fetch() {
    const std::string from = std::to_string(offset_ + 1);
    const std::string count = std::to_string(kBodyChunk);
    auto rows = connection_.query(
        "SELECT substring(body FROM $2::integer FOR $3::integer) FROM message_bodies "
        "WHERE message_id = $1",
        {pg::Param{id_}, pg::Param{from}, pg::Param{count}}, pg::Format::binary);
    if (!rows) return rows.error();
    if (rows->size() == 0) return false;
    const std::string_view bytes = rows->text(0, 0);
    chunk_.assign(bytes.begin(), bytes.end());
    position_ = 0;
    offset_ += bytes.size();
    last_ = bytes.size() < kBodyChunk;
    return true;
  }

  Result<std::size_t> read(std::span<char> buffer) override {
    if (position_ == chunk_.size()) {
      if (last_) return std::size_t{0};
      auto fetched = fetch();
      if (!fetched) return fetched.error();
      if (!*fetched) return make_error(errc::not_found, "message deleted while being read");
    }
    const std::size_t n = std::min(buffer.size(), chunk_.size() - position_);
    std::memcpy(buffer.data(), chunk_.data() + position_, n);
    position_ += n;
    return n;
  }

 private:
  pg::Connection& connection_;
  std::string id_;
  std::vector<char> chunk_;
  std::size_t position_ = 0;
  std::size_t offset_ = 0;  // bytes of the body fetched so far
  bool last_ = false;
};

class PgMailbox final : public Mailbox {
 public:
  PgMailbox(pg::Lease lease, std::int64_t mailbox_id) : lease_(std::move(lease)), id_(mailbox_id) {}

  Result<void> load() {
    auto rows = lease_->query(
        "SELECT id, uidl, octets, extract(epoch FROM retrieved_at)::bigint FROM messages "
        "WHERE mailbox_id = $1 ORDER BY id",
        {pg::Param{std::to_string(id_)}});
    if (!rows) return rows.error();
    infos_.reserve(static_cast<std::size_t>(rows->size()));
    stored_.reserve(static_cast<std::size_t>(rows->size()));
    for (int row = 0; row < rows->size(); ++row) {
      MessageInfo info;
      info.uidl = std::string(rows->text(row, 1));
      info.octets = static_cast<std::uint64_t>(rows->integer(row, 2));
      infos_.push_back(std::move(info));
      StoredMessage stored;
      stored.id = rows->integer(row, 0);
      if (!rows->is_null(row, 3)) stored.retrieved_at = rows->integer(row, 3);
      stored_.push_back(stored);
    }
    return {};
  }

  const std::vector<MessageInfo>& messages() const override { return infos_; }
  bool reads_block() const override { return true; }

  Result<std::unique_ptr<MessageReader>> open_message(std::size_t index) override {
    if (index >= stored_.size()) return make_error(errc::not_found, "no such message");
    auto reader = std::make_unique<PgMessageReader>(*lease_, stored_[index].id);
    auto fetched = reader->fetch();
    if (!fetched) return fetched.error();
    if (!*fetched) return make_error(errc::not_found, "message deleted by another session");
    return std::unique_ptr<MessageReader>(std::move(reader));
  }

  // One statement, so it is atomic: all of them go or none.
  Result<void> expunge(std::span<const std::size_t> indices) override {
    if (indices.empty()) return {};
    auto ids = ids_of(indices);
    if (!ids) return ids.error();
    return lease_->execute("DELETE FROM messages WHERE mailbox_id = $1 AND id = ANY($2::bigint[])",
                           {pg::Param{std::to_string(id_)}, pg::Param{id_array(*ids)}});
  }

  Result<void> mark_retrieved(std::span<const std::size_t> indices) override {
    if (indices.empty()) return {};
    auto ids = ids_of(indices);
    if (!ids) return ids.error();
    auto rows = lease_->query(
        "UPDATE messages SET retrieved_at = now() WHERE mailbox_id = $1 "
        "AND id = ANY($2::bigint[]) AND retrieved_at IS NULL "
        "RETURNING id, extract(epoch FROM retrieved_at)::bigint",
        {pg::Param{std::to_string(id_)}, pg::Param{id_array(*ids)}});
    if (!rows) return rows.error();
    for (int row = 0; row < rows->size(); ++row) {
      const std::int64_t id = rows->integer(row, 0);
      for (StoredMessage& stored : stored_) {
        if (stored.id == id) stored.retrieved_at = rows->integer(row, 1);
      }
    }
    return {};
  }

  Result<std::vector<std::size_t>> retrieved_before(
      std::chrono::system_clock::time_point cutoff) override {
    const std::int64_t cutoff_seconds = std::chrono::system_clock::to_time_t(cutoff);
    std::vector<std::size_t> old;
    for (std::size_t index = 0; index < stored_.size(); ++index) {
      const auto& at = stored_[index].retrieved_at;
      if (at && *at < cutoff_seconds) old.push_back(index);
    }
    return old;
  }

 private:
  Result<std::vector<std::int64_t>> ids_of(std::span<const std::size_t> indices) const {
    std::vector<std::int64_t> ids;
    for (const std::size_t index : indices) {
      if (index >= stored_.size()) return make_error(errc::invalid_input, "no such message");
      ids.push_back(stored_[index].id);
    }
    return ids;
  }

  pg::Lease lease_;  // holds the advisory lock for as long as the mailbox is open
  std::int64_t id_;
  std::vector<MessageInfo> infos_;
  std::vector<StoredMessage> stored_;
};

Result<void> insert_message(pg::Connection& connection, std::int64_t mailbox,
                            std::optional<std::string_view> uidl, std::string_view message,
                            bool& added) {
  const std::string octets = std::to_string(crlf_size(message));
  const std::string stored = std::to_string(message.size());
  const std::string box = std::to_string(mailbox);
  auto rows = uidl ? connection.query(
                         "INSERT INTO messages (mailbox_id, uidl, octets, stored_size) "
                         "VALUES ($1, $2, $3, $4) ON CONFLICT (mailbox_id, uidl) DO NOTHING "
                         "RETURNING id",
                         {pg::Param{box}, pg::Param{*uidl}, pg::Param{octets}, pg::Param{stored}})
                   : connection.query(
                         "INSERT INTO messages (mailbox_id, octets, stored_size) "
                         "VALUES ($1, $2, $3) RETURNING id",
                         {pg::Param{box}, pg::Param{octets}, pg::Param{stored}});
  if (!rows) return rows.error();
  added = rows->size() == 1;
  if (!added) return {};
  const std::string id(rows->text(0, 0));
  return connection.execute("INSERT INTO message_bodies (message_id, body) VALUES ($1, $2)",
                            {pg::Param{id}, pg::Param{message, true}});
}

}  // namespace

PgStore::PgStore(std::shared_ptr<pg::Pool> pool) : pool_(std::move(pool)) {}

Result<std::unique_ptr<Mailbox>> PgStore::open(const UserContext& user) {
  auto lease = pool_->acquire(kOpenWait);
  if (!lease) return lease.error();
  auto id = mailbox_id(**lease, user.login);
  if (!id) return id.error();
  auto locked =
      (*lease)->query("SELECT pg_try_advisory_lock($1)", {pg::Param{std::to_string(*id)}});
  if (!locked) return locked.error();
  if (locked->text(0, 0) != "t")
    return make_error(errc::in_use, "mailbox locked by another session");
  lease->holds_locks();
  auto mailbox = std::make_unique<PgMailbox>(std::move(*lease), *id);
  if (auto loaded = mailbox->load(); !loaded) return loaded.error();
  return std::unique_ptr<Mailbox>(std::move(mailbox));
}

std::vector<Result<void>> deliver_to_postgres(pg::Pool& pool, std::span<const UserContext> users,
                                              std::string_view message) {
  auto lease = pool.acquire(kDeliveryWait);
  if (!lease) return std::vector<Result<void>>(users.size(), lease.error());
  Result<void> done = pg::in_transaction(**lease, [&](pg::Connection& connection) -> Result<void> {
    for (const UserContext& user : users) {
      auto id = mailbox_id(connection, user.login);
      if (!id) return id.error();
      bool added = false;
      if (auto inserted = insert_message(connection, *id, std::nullopt, message, added);
          !inserted) {
        return inserted;
      }
    }
    return {};
  });
  return std::vector<Result<void>>(users.size(), done);
}

Result<std::set<std::string>> postgres_uidls(pg::Pool& pool, const std::string& login) {
  auto lease = pool.acquire(kDeliveryWait);
  if (!lease) return lease.error();
  auto rows = (*lease)->query(
      "SELECT m.uidl FROM messages m JOIN mailboxes b ON b.id = m.mailbox_id WHERE b.login = $1",
      {pg::Param{login}});
  if (!rows) return rows.error();
  std::set<std::string> uidls;
  for (int row = 0; row < rows->size(); ++row) uidls.emplace(rows->text(row, 0));
  return uidls;
}

Result<bool> import_to_postgres(pg::Pool& pool, const std::string& login, const std::string& uidl,
                                std::string_view message) {
  auto lease = pool.acquire(kDeliveryWait);
  if (!lease) return lease.error();
  bool added = false;
  Result<void> done = pg::in_transaction(**lease, [&](pg::Connection& connection) -> Result<void> {
    auto id = mailbox_id(connection, login);
    if (!id) return id.error();
    return insert_message(connection, *id, uidl, message, added);
  });
  if (!done) return done.error();
  return added;
}

}  // namespace mailport::store
