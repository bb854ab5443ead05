// Taking a maildrop snapshot: new/ -> cur/ moves, the cur/ listing, ordering, UIDLs and sizes.
// Runs with the session lock held.
#pragma once

#include <string>
#include <vector>

#include "core/message_info.hpp"
#include "core/result.hpp"
#include "store/maildir_store.hpp"

namespace mailport::store {

enum class MaildirFolder { cur, fresh };  // cur/ and new/

struct StoredFile {
  std::string name;
  MaildirFolder folder = MaildirFolder::cur;
  bool removed = false;
};

struct MaildirSnapshot {
  std::vector<MessageInfo> messages;
  std::vector<StoredFile> files;  // parallel to messages
};

// Moves every regular file of new/ to cur/ with ":2," appended, never replacing an existing file
// (a name clash leaves the message in new/ for a later session). Returns the number moved.
Result<std::size_t> move_new_to_cur(int new_fd, int cur_fd);

// File names (of cur/ and new/) in the order a session numbers them, one per base name: what
// `migrate import --dry-run` lists without touching the Maildir.
std::vector<std::string> listing_order(std::vector<std::string> names);

Result<MaildirSnapshot> scan_cur(int maildir_fd, int cur_fd, MaildirOpenStats& stats);

}  // namespace mailport::store
