#include "migrate/pop3_import.hpp"

#include <vector>

#include "client/progress.hpp"
#include "store/dir_util.hpp"
#include "store/mail_store.hpp"
#include "store/maildir_name.hpp"
#include "store/mbox_store.hpp"
#include "store/uidl_map.hpp"

namespace mailport::migrate {
namespace {

struct LocalMessage {
  std::string own_uidl;
  std::uint64_t size = 0;
};

// mailport's own UIDLs (the map's keys) and sizes, in file order. The session lock is held only
// while reading: a mailport already serving the user answers errc::in_use.
Result<std::vector<LocalMessage>> read_spool(const Pop3ImportOptions& options) {
  store::MboxOptions mbox;
  mbox.lock_timeout = options.lock_timeout;
  auto box = store::open_mbox(options.spool, mbox, nullptr, store::MboxUidls::own);
  if (!box) return box.error();
  std::vector<LocalMessage> messages;
  for (const auto& info : (*box)->messages()) messages.push_back({info.uidl, info.octets});
  return messages;
}

Result<void> check_alignment(const std::vector<OldMessage>& old,
                             const std::vector<LocalMessage>& local, const std::string& spool) {
  const std::string rerun =
      ": the spool changed between the two listings (mail deleted or "
      "rewritten); nothing was written, run the import again";
  if (local.size() < old.size()) {
    return make_error(errc::temporary_failure, spool + " holds " + std::to_string(local.size()) +
                                                   " messages, the old server listed " +
                                                   std::to_string(old.size()) + rerun);
  }
  for (std::size_t i = 0; i < old.size(); ++i) {
    if (old[i].size != local[i].size) {
      return make_error(errc::temporary_failure,
                        spool + ": message " + std::to_string(old[i].number) + " is " +
                            std::to_string(local[i].size) + " octets, the old server said " +
                            std::to_string(old[i].size) + rerun);
    }
  }
  return {};
}

}  // namespace

Result<UserPlan> import_from_pop3(const Pop3ImportOptions& options, std::string_view password,
                                  const NoteFn& note, const NoteFn& warn) {
  auto server = OldServer::open(options.server, password, note, warn);
  if (!server) return server.error();
  auto old = server->listing();
  if (!old) return old.error();
  if (auto quit = server->client().quit(); !quit && warn) {
    warn("QUIT failed: " + client::error_text(quit.error()));
  }
  // Read after the old listing: mail that arrives in between is appended, so it only adds
  // messages after the ones the old server listed.
  auto local = read_spool(options);
  if (!local) return local.error();
  if (auto aligned = check_alignment(*old, *local, options.spool.string()); !aligned) {
    return aligned.error();
  }
  auto dir = store::open_directory(options.spool.parent_path());
  if (!dir) return dir.error();
  const std::string map_name = store::mbox_uidl_map_name(options.spool);
  auto map = store::UidlMap::load(dir->get(), map_name);
  if (!map) {
    Error error = map.error();
    error.message = (options.spool.parent_path() / error.message).string();
    return error;
  }

  UserPlan plan;
  plan.user = options.server.url.user;
  plan.maildir = options.spool;
  std::vector<std::string> old_uidls(local->size());
  for (std::size_t i = 0; i < old->size(); ++i) {
    const OldMessage& message = (*old)[i];
    if (!store::is_valid_uidl(message.uidl)) {
      if (warn) {
        warn("message " + std::to_string(message.number) + " has the invalid UIDL \"" +
             message.uidl + "\"; it keeps mailport's own");
      }
      continue;
    }
    old_uidls[i] = message.uidl;
    auto added = map->add((*local)[i].own_uidl, message.uidl);
    if (!added) return added.error();
    plan.added += *added == store::UidlMap::AddResult::added ? 1 : 0;
  }
  store::UidlAssigner assigner(*map);
  for (std::size_t i = 0; i < local->size(); ++i) {
    // An mbox message's map key is the UIDL mailport gives it on its own.
    const std::string& own = (*local)[i].own_uidl;
    plan.messages.push_back(plan_message(own, old_uidls[i], own, assigner, *map));
  }
  if (!options.dry_run && plan.added > 0) {
    if (auto saved = map->save(dir->get(), map_name); !saved) return saved.error();
  }
  return plan;
}

}  // namespace mailport::migrate
