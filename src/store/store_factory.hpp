// Picks the backend a mail location names: "maildir:TEMPLATE" or a plain TEMPLATE is a Maildir,
// "mbox:TEMPLATE" a Unix spool file, "postgres:CONNINFO" a PostgreSQL database. Both the server
// (reading) and local delivery (writing) go through here, so they always agree on where a user's
// mail is.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "store/mail_store.hpp"
#include "store/uidl_churn.hpp"

namespace mailport::store {

enum class StoreKind { maildir, mbox, postgres };

struct MailLocation {
  StoreKind kind = StoreKind::maildir;
  std::string path_template;  // without the backend prefix; for postgres the CONNINFO
};

MailLocation parse_mail_location(std::string_view location);

struct StoreOptions {
  // mbox only: how long to wait for the MTA's locks on a spool.
  std::chrono::milliseconds lock_timeout{10000};
};

// `churn`: Maildir and mbox, the UIDL churn alarm (the server sets it from [mail]; off when unset).
std::unique_ptr<MailStore> make_store(const MailLocation& location,
                                      const StoreOptions& options = {},
                                      std::optional<ChurnSettings> churn = std::nullopt);

// Delivers one message (LF line ends, trace headers already added) to each user, fsynced before
// success is reported; one result per user, in order. In Maildirs the message is written once
// and hard-linked into the other recipients' Maildirs on the same filesystem. `sender` ("" for
// the null sender) goes on the mbox From_ line.
std::vector<Result<void>> deliver_message(const MailLocation& location,
                                          std::span<const UserContext> users,
                                          std::string_view sender, std::string_view message,
                                          const StoreOptions& options = {});

}  // namespace mailport::store
