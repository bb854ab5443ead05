#include "store/store_factory.hpp"

#include <filesystem>

#include "store/maildir_store.hpp"
#include "store/mbox_store.hpp"
#include "store/pg_store.hpp"

namespace mailport::store {
namespace {

constexpr std::string_view kMaildirPrefix = "maildir:";
constexpr std::string_view kMboxPrefix = "mbox:";
constexpr std::string_view kPostgresPrefix = "postgres:";

std::vector<Result<void>> deliver_to_maildir_users(std::span<const UserContext> users,
                                                   const std::string& path_template,
                                                   std::string_view message) {
  std::vector<Result<void>> results(users.size());
  std::vector<std::filesystem::path> paths;
  std::vector<std::size_t> positions;  // user index of each path
  for (std::size_t i = 0; i < users.size(); ++i) {
    auto path = expand_template(path_template, users[i]);
    if (!path) {
      results[i] = path.error();
      continue;
    }
    paths.emplace_back(*path);
    positions.push_back(i);
  }
  std::vector<Result<std::string>> delivered = deliver_to_maildirs(paths, message);
  for (std::size_t j = 0; j < delivered.size(); ++j) {
    if (!delivered[j]) results[positions[j]] = delivered[j].error();
  }
  return results;
}

}  // namespace

MailLocation parse_mail_location(std::string_view location) {
  if (location.starts_with(kPostgresPrefix)) {
    return {StoreKind::postgres, std::string(location.substr(kPostgresPrefix.size()))};
  }
  if (location.starts_with(kMboxPrefix)) {
    return {StoreKind::mbox, std::string(location.substr(kMboxPrefix.size()))};
  }
  if (location.starts_with(kMaildirPrefix)) location.remove_prefix(kMaildirPrefix.size());
  return {StoreKind::maildir, std::string(location)};
}

std::unique_ptr<MailStore> make_store(const MailLocation& location, const StoreOptions& options,
                                      std::optional<ChurnSettings> churn) {
  if (location.kind == StoreKind::postgres) {
    return std::make_unique<PgStore>(pg::shared_pool(location.path_template));
  }
  if (location.kind == StoreKind::mbox) {
    return std::make_unique<MboxStore>(location.path_template,
                                       MboxOptions{.lock_timeout = options.lock_timeout}, churn);
  }
  return std::make_unique<MaildirStore>(location.path_template, churn);
}

std::vector<Result<void>> deliver_message(const MailLocation& location,
                                          std::span<const UserContext> users,
                                          std::string_view sender, std::string_view message,
                                          const StoreOptions& options) {
  if (location.kind == StoreKind::maildir) {
    return deliver_to_maildir_users(users, location.path_template, message);
  }
  if (location.kind == StoreKind::postgres) {
    return deliver_to_postgres(*pg::shared_pool(location.path_template), users, message);
  }
  std::vector<Result<void>> results;
  for (const UserContext& user : users) {
    auto path = expand_template(location.path_template, user);
    if (!path) {
      results.emplace_back(path.error());
      continue;
    }
    results.push_back(
        deliver_to_mbox(*path, sender, message, MboxOptions{.lock_timeout = options.lock_timeout}));
  }
  return results;
}

}  // namespace mailport::store
