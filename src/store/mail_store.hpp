// Storage interface: the server opens a locked snapshot of a maildrop, streams messages out of it
// and applies deletions at UPDATE time. Backends: Maildir, mbox, PostgreSQL, and an in-memory one
// for tests. All calls may block: run them off the I/O threads.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/message_info.hpp"
#include "core/result.hpp"

namespace mailport::store {

class MessageReader {
 public:
  virtual ~MessageReader() = default;
  // Raw stored bytes (LF or CRLF line ends). Returns 0 at end of message.
  virtual Result<std::size_t> read(std::span<char> buffer) = 0;
};

// An exclusively locked snapshot taken at open time. Mail that arrives later appears in the
// next session. The lock is released when the Mailbox is destroyed (or its process dies).
class Mailbox {
 public:
  virtual ~Mailbox() = default;
  virtual const std::vector<MessageInfo>& messages() const = 0;
  // True when open_message() and MessageReader::read() wait on the network (a database), so the
  // server runs them on the blocking pool rather than on its I/O thread.
  virtual bool reads_block() const { return false; }
  // errc::not_found if the message vanished behind our back.
  virtual Result<std::unique_ptr<MessageReader>> open_message(std::size_t index) = 0;
  // UPDATE state: removes these messages (0-based indices into messages()). Messages that are
  // already gone count as removed. On error, as few as possible were removed and the caller
  // reports [SYS/TEMP].
  virtual Result<void> expunge(std::span<const std::size_t> indices) = 0;
  // The session is about to wait for its client, possibly for minutes: give back descriptors
  // that only work needs (they are reopened on demand). The lock stays held.
  virtual void release_idle() {}

  // For the EXPIRE retention policy (RFC 2449): remember that these messages were retrieved,
  // and find the ones retrieved before `cutoff`. Backends that cannot record it keep the
  // defaults, and then only "EXPIRE 0" (delete once retrieved) takes effect.
  virtual Result<void> mark_retrieved(std::span<const std::size_t> indices) {
    (void)indices;
    return {};
  }
  virtual Result<std::vector<std::size_t>> retrieved_before(
      std::chrono::system_clock::time_point cutoff) {
    (void)cutoff;
    return std::vector<std::size_t>{};
  }
};

struct UserContext {
  std::string login;  // full login name as authenticated ("alice@example.org")
  std::string home;   // from the user database, may be empty
};

class MailStore {
 public:
  virtual ~MailStore() = default;
  // errc::in_use when another session holds the lock (caller may retry until its timeout).
  virtual Result<std::unique_ptr<Mailbox>> open(const UserContext& user) = 0;
};

// Expands a mail location template: %u login, %n local part, %d domain (empty without '@'),
// %h home, %% a literal '%'. Unknown %x is an error. Values containing '/' or equal to "." or
// ".." are rejected so that a login name cannot escape the mail root.
Result<std::string> expand_template(std::string_view tmpl, const UserContext& user);

}  // namespace mailport::store
