#include "lmtp/local_delivery.hpp"

#include <cerrno>
#include <ctime>
#include <map>

#include "lmtp/address.hpp"
#include "lmtp/trace_headers.hpp"

namespace mailport::lmtp {
namespace {

// "alice+lists@example.org" -> "alice@example.org" for the delimiter "+".
std::string without_extension(std::string_view address, std::string_view delimiters) {
  const std::string_view local = local_part(address);
  const std::size_t cut =
      delimiters.empty() ? std::string_view::npos : local.find_first_of(delimiters);
  if (cut == std::string_view::npos || cut == 0) return std::string(address);
  return std::string(local.substr(0, cut)) + std::string(address.substr(local.size()));
}

}  // namespace

Outcome outcome_of(const Error& error) {
  if (error.is(errc::in_use)) return Outcome::mailbox_busy;
  if (error.is(errc::invalid_input) || error.is(errc::permanent_failure)) {
    return Outcome::permanent_failure;
  }
  const int value = error.code.value();
  if (error.code.category() == std::generic_category() &&
      (value == ENOSPC || value == EDQUOT || value == EFBIG)) {
    return Outcome::storage_full;
  }
  return Outcome::temporary_failure;
}

LocalDelivery::LocalDelivery(auth::PassDb& passdb, DeliverySettings settings)
    : passdb_(passdb), settings_(std::move(settings)) {}

Result<std::optional<store::UserContext>> LocalDelivery::resolve(std::string_view address) {
  const std::string base = without_extension(address, settings_.recipient_delimiter);
  std::vector<std::string> candidates = {std::string(address)};
  if (base != address) candidates.push_back(base);
  if (base.find('@') != std::string::npos) candidates.emplace_back(local_part(base));
  for (const std::string& name : candidates) {
    if (name.empty()) continue;
    auto found = passdb_.lookup(name);
    if (!found) return found.error();
    if (*found)
      return std::optional<store::UserContext>(store::UserContext{(*found)->name, (*found)->home});
  }
  return std::optional<store::UserContext>();
}

Outcome LocalDelivery::check(std::string_view address) {
  auto user = resolve(address);
  if (!user) return outcome_of(user.error());
  return *user ? Outcome::ok : Outcome::no_such_user;
}

std::vector<Outcome> LocalDelivery::deliver(const Envelope& envelope, std::string_view message) {
  std::vector<Outcome> outcomes(envelope.recipients.size(), Outcome::temporary_failure);
  std::vector<store::UserContext> users;
  std::vector<std::size_t> user_of(envelope.recipients.size(), SIZE_MAX);
  std::map<std::string, std::size_t> seen;  // one copy per user, however many addresses
  for (std::size_t i = 0; i < envelope.recipients.size(); ++i) {
    auto user = resolve(envelope.recipients[i]);
    if (!user) {
      outcomes[i] = outcome_of(user.error());
      continue;
    }
    if (!*user) {
      outcomes[i] = Outcome::no_such_user;
      continue;
    }
    auto [it, added] = seen.emplace((*user)->login, users.size());
    if (added) users.push_back(**user);
    user_of[i] = it->second;
  }
  if (users.empty()) return outcomes;
  TraceFields fields{envelope.sender, std::nullopt,
                     received_value(envelope.client, settings_.hostname, std::time(nullptr))};
  // A shared copy cannot name each recipient; a single one can.
  if (envelope.recipients.size() == 1) fields.delivered_to = envelope.recipients.front();
  const std::string traced = add_trace_fields(message, fields);
  const std::vector<Result<void>> results = store::deliver_message(
      settings_.location, users, envelope.sender, traced, settings_.store_options);
  for (std::size_t i = 0; i < outcomes.size(); ++i) {
    if (user_of[i] == SIZE_MAX) continue;
    const Result<void>& result = results[user_of[i]];
    outcomes[i] = result ? Outcome::ok : outcome_of(result.error());
  }
  return outcomes;
}

Outcome LocalDelivery::deliver_local(const store::UserContext& user, std::string_view sender,
                                     std::string_view address, std::string_view message) {
  const std::string traced =
      add_trace_fields(message, TraceFields{std::string(sender), std::string(address), {}});
  const std::vector<store::UserContext> users = {user};
  const std::vector<Result<void>> results =
      store::deliver_message(settings_.location, users, sender, traced, settings_.store_options);
  return results.front() ? Outcome::ok : outcome_of(results.front().error());
}

}  // namespace mailport::lmtp
