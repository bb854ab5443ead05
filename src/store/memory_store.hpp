// In-memory MailStore for the tests of other modules (session, server, CLI). It keeps the Maildir
// store's contract: one exclusive session per login, a snapshot taken at open, messages that can
// vanish behind a session's back, plus failure injection for the error paths.
#pragma once

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "store/mail_store.hpp"

namespace mailport::store {

class MemoryStore final : public MailStore {
 public:
  // Each error, when set, is returned by every matching call until cleared.
  struct Faults {
    std::optional<Error> open = std::nullopt;          // open() of any login (after the lock check)
    std::optional<Error> open_message = std::nullopt;  // Mailbox::open_message()
    std::optional<Error> read = std::nullopt;          // MessageReader::read(), once it returned
    std::size_t read_fails_after = 0;                  // ... this many bytes
    std::optional<Error> expunge = std::nullopt;       // Mailbox::expunge(), once it removed
    std::size_t expunge_fails_after = 0;               // ... this many messages
  };

  MemoryStore();
  ~MemoryStore() override;
  MemoryStore(const MemoryStore&) = delete;
  MemoryStore& operator=(const MemoryStore&) = delete;

  // Appends a message to the login's maildrop; sessions opened afterwards see it. An empty uidl
  // is replaced by a generated one. Returns the uidl.
  std::string deliver(const std::string& login, std::string content, std::string uidl = {});
  // Deletes a message as another client would. False if there was none with that uidl.
  bool remove(const std::string& login, std::string_view uidl);
  // UIDLs currently stored for the login, in delivery order.
  std::vector<std::string> uidls(const std::string& login) const;
  std::optional<std::string> content(const std::string& login, std::string_view uidl) const;
  bool is_locked(const std::string& login) const;
  void set_faults(Faults faults);

  Result<std::unique_ptr<Mailbox>> open(const UserContext& user) override;

  struct State;  // shared with open mailboxes, which may outlive the store

 private:
  std::shared_ptr<State> state_;
};

}  // namespace mailport::store
