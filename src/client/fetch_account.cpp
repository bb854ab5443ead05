#include "client/fetch_account.hpp"

#include <fmt/format.h>

#include <ctime>
#include <set>

#include "client/connection.hpp"
#include "client/fetch_state.hpp"
#include "client/login_session.hpp"
#include "client/progress.hpp"
#include "client/sink.hpp"

namespace mailport::client {
namespace {

constexpr std::int64_t kSecondsPerDay = 86400;

struct ServerMessage {
  std::uint64_t number = 0;
  std::string uidl;
  std::uint64_t size = 0;
};

std::unique_ptr<Sink> make_sink(const Destination& destination) {
  switch (destination.kind) {
    case Destination::Kind::mbox:
      return make_mbox_sink(destination.target);
    case Destination::Kind::mda:
      return make_mda_sink(destination.target);
    case Destination::Kind::maildir:
      break;
  }
  return make_maildir_sink(destination.target);
}

class AccountRun {
 public:
  AccountRun(const AccountSettings& settings, std::string_view password, AccountProgress& progress,
             const LogFn& log)
      : settings_(settings),
        password_(password),
        progress_(progress),
        log_(log),
        account_(settings.url.display()) {}

  AccountReport run();

 private:
  enum class Fetched { stored, skipped, local_failure };

  std::int64_t now() const {
    return settings_.clock ? settings_.clock() : static_cast<std::int64_t>(std::time(nullptr));
  }
  void note(const std::string& text) const {
    if (log_) log_(text);
  }
  void warn(std::string text) {
    note("warning: " + text);
    report_.warnings.push_back(std::move(text));
  }
  std::optional<std::string> login_delay_wait() const;
  Result<void> session();
  Result<void> connect_and_login();
  Result<void> after_login();
  void check_expire(const Capabilities& caps);
  Result<std::vector<ServerMessage>> listing();
  Result<void> process(const std::vector<ServerMessage>& messages);
  Result<Fetched> fetch_one(const ServerMessage& message);
  Result<void> mark_deleted(const ServerMessage& message);
  Result<void> finish();

  const AccountSettings& settings_;
  std::string_view password_;
  AccountProgress& progress_;
  const LogFn& log_;
  const std::string account_;
  AccountReport report_;
  std::optional<FetchState> state_;
  std::unique_ptr<Sink> sink_;
  std::unique_ptr<Connection> connection_;
  std::unique_ptr<Pop3Client> client_;
  std::optional<Capabilities> caps_;
  std::vector<std::string> marked_;  // DELE accepted in this session
  std::optional<Error> local_error_;
  std::string body_;  // reused between messages
};

AccountReport AccountRun::run() {
  progress_.phase = AccountProgress::Phase::connecting;
  auto state = FetchState::open(settings_.state_file);
  if (!state) {
    report_.error = state.error();
    progress_.phase = AccountProgress::Phase::failed;
    return report_;
  }
  state_.emplace(std::move(*state));
  if (auto wait = login_delay_wait()) {
    report_.skipped = std::move(wait);
    progress_.phase = AccountProgress::Phase::done;
    return report_;
  }
  sink_ = make_sink(settings_.destination);
  auto done = session();
  if (!done) report_.error = done.error();
  if (local_error_) report_.error = local_error_;
  if (auto compacted = state_->compact(); !compacted) {
    warn("could not rewrite the state file: " + error_text(compacted.error()));
  }
  progress_.phase = report_.error ? AccountProgress::Phase::failed : AccountProgress::Phase::done;
  return report_;
}

// RFC 2449 LOGIN-DELAY: the server refuses logins closer together than this; asking anyway
// only earns an error, so a run that comes too early waits for the next one.
std::optional<std::string> AccountRun::login_delay_wait() const {
  const auto last = state_->last_login();
  const auto delay = state_->login_delay();
  if (!last || !delay) return std::nullopt;
  const std::int64_t next = *last + static_cast<std::int64_t>(*delay);
  if (now() >= next) return std::nullopt;
  return fmt::format("the server allows one login every {} s (LOGIN-DELAY); try again in {} s",
                     *delay, next - now());
}

Result<void> AccountRun::session() {
  if (auto r = connect_and_login(); !r) return r;
  if (auto r = after_login(); !r) return r;
  auto messages = listing();
  if (!messages) return messages.error();
  if (auto r = process(*messages); !r) return r;
  return finish();
}

Result<void> AccountRun::connect_and_login() {
  ServerAccess access;
  access.url = settings_.url;
  access.cafile = settings_.cafile;
  access.insecure_plaintext = settings_.insecure_plaintext;
  access.auth = settings_.auth;
  access.timeout = settings_.timeout;
  auto session = client::connect_and_login(access, password_,
                                           [this](std::string text) { warn(std::move(text)); });
  if (!session) return session.error();
  connection_ = std::move(session->connection);
  client_ = std::move(session->client);
  caps_ = std::move(session->caps);
  note(fmt::format("logged in ({})", to_string(session->method)));
  return {};
}

Result<void> AccountRun::after_login() {
  // RFC 2449: EXPIRE and LOGIN-DELAY may change after login; the values now are the user's.
  auto caps = client_->capa();
  if (!caps) return caps.error();
  if (*caps) caps_ = std::move(*caps);
  std::optional<std::uint64_t> delay;
  if (caps_) {
    delay = caps_->login_delay();
    check_expire(*caps_);
  }
  return state_->record_login(now(), delay);
}

void AccountRun::check_expire(const Capabilities& caps) {
  const auto expire = caps.expire();
  if (!expire || !expire->days) return;
  const std::uint64_t days = *expire->days;
  if (settings_.policy == DeletePolicy::keep) {
    warn(days == 0 ? "the server deletes every message once retrieved (EXPIRE 0): --keep "
                     "cannot keep them on the server"
                   : fmt::format("the server deletes retrieved messages after {} days "
                                 "(EXPIRE {}), whatever --keep says",
                                 days, days));
  } else if (settings_.policy == DeletePolicy::after_days && days < settings_.delete_after_days) {
    warn(
        fmt::format("the server deletes retrieved messages after {} days (EXPIRE {}), sooner "
                    "than --delete-after-days {}",
                    days, days, settings_.delete_after_days));
  }
}

Result<std::vector<ServerMessage>> AccountRun::listing() {
  auto uidls = client_->uidl();
  if (!uidls) {
    if (uidls.error().code.category() != mailport_category()) return uidls.error();
    return make_error(errc::permanent_failure,
                      "the server does not support UIDL, which mailport fetch needs to know "
                      "which messages it already has (" +
                          error_text(uidls.error()) + ")");
  }
  std::map<std::uint64_t, std::uint64_t> sizes;
  auto list = client_->list();
  if (list) {
    sizes.insert(list->begin(), list->end());
  } else if (list.error().code.category() != mailport_category()) {
    return list.error();
  }
  std::vector<ServerMessage> messages;
  std::set<std::string> seen;
  for (auto& entry : *uidls) {
    if (!seen.insert(entry.value).second) {
      warn(fmt::format("message {} repeats the unique-id {}; it is left on the server",
                       entry.number, entry.value));
      ++report_.on_server;
      continue;
    }
    messages.push_back({entry.number, std::move(entry.value), sizes[entry.number]});
  }
  // What the server no longer has will not come back (RFC 1939 §7: unique-ids are not reused).
  std::vector<std::string> vanished;
  for (auto& uidl : state_->known_uidls()) {
    if (!seen.contains(uidl)) vanished.push_back(std::move(uidl));
  }
  if (auto forgotten = state_->forget(vanished); !forgotten) return forgotten.error();
  return messages;
}

Result<void> AccountRun::process(const std::vector<ServerMessage>& messages) {
  std::size_t to_fetch = 0;
  std::uint64_t bytes_to_fetch = 0;
  for (const auto& m : messages) {
    if (!state_->fetched(m.uidl)) ++to_fetch, bytes_to_fetch += m.size;
  }
  progress_.to_fetch = to_fetch;
  progress_.bytes_to_fetch = bytes_to_fetch;
  progress_.phase = AccountProgress::Phase::fetching;
  note(fmt::format("{} messages on the server, {} new ({})", messages.size(), to_fetch,
                   format_bytes(bytes_to_fetch)));
  for (std::size_t i = 0; i < messages.size(); ++i) {
    const ServerMessage& m = messages[i];
    if (state_->fetched(m.uidl)) {
      ++report_.already_local;
      const auto first_seen = state_->first_seen(m.uidl).value_or(now());
      if (should_delete(settings_.policy, settings_.delete_after_days, first_seen, now())) {
        if (auto r = mark_deleted(m); !r) return r;
      } else {
        ++report_.on_server;
      }
      continue;
    }
    auto fetched = fetch_one(m);
    if (!fetched) return fetched.error();
    if (*fetched == Fetched::local_failure) {
      report_.on_server += messages.size() - i;
      break;  // QUIT still commits the deletions of what is safe
    }
    if (*fetched == Fetched::skipped ||
        !should_delete(settings_.policy, settings_.delete_after_days, now(), now())) {
      ++report_.on_server;
      continue;
    }
    if (auto r = mark_deleted(m); !r) return r;
  }
  return {};
}

Result<AccountRun::Fetched> AccountRun::fetch_one(const ServerMessage& message) {
  auto status =
      client_->retrieve(message.number, body_, [this](std::size_t n) { progress_.bytes += n; });
  if (!status) return status.error();
  if (!status->ok) {
    warn(fmt::format("RETR {} refused ({}); the message stays on the server", message.number,
                     status->text));
    return Fetched::skipped;
  }
  std::optional<std::string> previous;
  if (const std::string* token = state_->pending(message.uidl)) previous = *token;
  if (previous && !sink_->detects_previous()) {
    warn(fmt::format("an earlier delivery of {} to the MDA was interrupted; delivering it again",
                     message.uidl));
  }
  const Message local{message.uidl, account_, body_};
  auto outcome = sink_->deliver(
      local, previous ? &*previous : nullptr,
      [&](std::string_view token) { return state_->record_pending(message.uidl, token); });
  Result<void> recorded;
  if (outcome) recorded = state_->record_fetched(message.uidl, now());
  if (!outcome || !recorded) {
    const Error& error = outcome ? recorded.error() : outcome.error();
    local_error_ = make_error(errc::temporary_failure,
                              fmt::format("storing message {} in {} failed: {}", message.number,
                                          sink_->describe(), error_text(error)));
    return Fetched::local_failure;
  }
  ++report_.fetched;
  report_.bytes += body_.size();
  ++progress_.fetched;
  note(fmt::format("{} message {}/{} ({})",
                   *outcome == DeliveryOutcome::already_delivered ? "found complete" : "stored",
                   progress_.fetched.load(), progress_.to_fetch.load(),
                   format_bytes(body_.size())));
  return Fetched::stored;
}

Result<void> AccountRun::mark_deleted(const ServerMessage& message) {
  auto reply = client_->dele(message.number);
  if (!reply) return reply.error();
  if (!reply->ok) {
    warn(fmt::format("DELE {} refused ({}); the message stays on the server", message.number,
                     reply->text));
    ++report_.on_server;
    return {};
  }
  marked_.push_back(message.uidl);
  return {};
}

Result<void> AccountRun::finish() {
  progress_.phase = AccountProgress::Phase::finishing;
  // The server deletes the DELE'd messages at QUIT: every record must be on disk before.
  if (auto synced = state_->sync(); !synced) {
    local_error_ = synced.error();
    return {};  // no QUIT: the server keeps everything, the next run sorts it out
  }
  if (auto quit = client_->quit(); !quit) {
    report_.on_server += marked_.size();
    return quit.error();
  }
  report_.deleted = marked_.size();
  if (auto forgotten = state_->forget(marked_); !forgotten) {
    warn("could not record the deletions (they are pruned next time): " +
         error_text(forgotten.error()));
  }
  return {};
}

}  // namespace

bool should_delete(DeletePolicy policy, std::uint64_t days, std::int64_t first_seen,
                   std::int64_t now) {
  switch (policy) {
    case DeletePolicy::after_fetch:
      return true;
    case DeletePolicy::keep:
      return false;
    case DeletePolicy::after_days:
      return now - first_seen >= static_cast<std::int64_t>(days) * kSecondsPerDay;
  }
  return false;
}

AccountReport fetch_account(const AccountSettings& settings, std::string_view password,
                            AccountProgress& progress, const LogFn& log) {
  return AccountRun(settings, password, progress, log).run();
}

}  // namespace mailport::client
