// Final delivery into the users' maildrops, shared by `mailport deliver` and the LMTP listener:
// recipient address -> passwd entry, trace fields, then the store named by mail.location. Every
// call blocks (file system, fsync): run it off the I/O threads.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "auth/passwd_file.hpp"
#include "lmtp/session.hpp"
#include "store/store_factory.hpp"

namespace mailport::lmtp {

struct DeliverySettings {
  store::MailLocation location;
  store::StoreOptions store_options;
  std::string recipient_delimiter;  // characters that start an address extension ("+")
  std::string hostname;             // for Received fields
};

class LocalDelivery {
 public:
  LocalDelivery(auth::PassDb& passdb, DeliverySettings settings);

  // The user an address names: the address as given, then without its extension, then its
  // local part alone. nullopt: no such user; an error: the user database is unreadable.
  Result<std::optional<store::UserContext>> resolve(std::string_view address);
  Outcome check(std::string_view address);

  // One message to every recipient of the envelope, one Outcome each; written once per store
  // where the store allows. Success means the message is on disk (fsynced).
  std::vector<Outcome> deliver(const Envelope& envelope, std::string_view message);

  // For `mailport deliver`: `address` is the Delivered-To value, no Received field.
  Outcome deliver_local(const store::UserContext& user, std::string_view sender,
                        std::string_view address, std::string_view message);

 private:
  auth::PassDb& passdb_;
  DeliverySettings settings_;
};

// How a store error looks to the MTA.
Outcome outcome_of(const Error& error);

}  // namespace mailport::lmtp
