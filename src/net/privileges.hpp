// Privilege separation. Started as root, the server binds its ports (and loads its certificate
// key) first, then becomes one unprivileged user for good: the virtual-mail user that owns every
// maildrop. Setting the uid is a property of the whole process (all threads share it), so a
// single process serving many users cannot switch to each mailbox owner in turn without keeping
// the capability to become root again; one mail user is the sound design. See docs/security.md.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

#include "auth/passwd_file.hpp"
#include "config/config.hpp"
#include "core/result.hpp"

namespace mailport::net {

struct Identity {
  uid_t uid = 0;
  gid_t gid = 0;
  std::string name;  // for messages
};

// `user` is a name or a numeric uid; `group` a name, a numeric gid, or empty for the user's
// primary group. Needs the user database, so call it before any chroot.
Result<Identity> resolve_identity(std::string_view user, std::string_view group);

// Optionally chroots (and changes to its "/"), then sets the supplementary groups to just `gid`
// and the real, effective and saved ids to `who`, and sets no_new_privs. Then checks that the
// way back is closed: root cannot be regained and no capability is left. Refuses uid 0.
Result<void> drop_privileges(const Identity& who, const std::filesystem::path& chroot);

// What the process runs as now, and whether it can still act as root.
bool running_as_root();
// Every uid (real, effective, saved) and gid is `who`'s, the only group is `who.gid`, no
// capability is left and setuid(0) fails.
Result<void> verify_dropped(const Identity& who);

// `path` as the process sees it after chroot(root): "/srv/mail/x" under "/srv/mail" -> "/x". A
// path outside `root` is returned unchanged (it will not be reachable).
std::filesystem::path inside_chroot(const std::filesystem::path& root,
                                    const std::filesystem::path& path);
// The configuration with the paths used after the drop (users file, mail location, certificates,
// the configuration file itself for reloads) rewritten by inside_chroot.
config::Config for_chroot(config::Config config, const std::filesystem::path& root);

// Wraps the user database so that a user whose passwd-file uid or gid names someone other than
// the user the server runs as is refused (logged, [SYS/TEMP]) instead of being served with the
// wrong owner - and an entry with uid 0 is always refused: mail is never served as root.
class MailOwnerCheck final : public auth::PassDb {
 public:
  explicit MailOwnerCheck(std::unique_ptr<auth::PassDb> inner);
  Result<std::optional<auth::UserRecord>> lookup(std::string_view user) override;

 private:
  std::unique_ptr<auth::PassDb> inner_;
};

}  // namespace mailport::net
