#include "migrate/old_server.hpp"

#include <map>

#include "client/progress.hpp"

namespace mailport::migrate {

Result<OldServer> OldServer::open(const OldServerOptions& options, std::string_view password,
                                  const NoteFn& note, const NoteFn& warn) {
  auto session = client::connect_and_login(options, password, [&warn](std::string text) {
    if (warn) warn(text);
  });
  if (!session) return session.error();
  if (note) note("logged in (" + std::string(client::to_string(session->method)) + ")");
  OldServer server;
  server.connection_ = std::move(session->connection);
  server.client_ = std::move(session->client);
  return server;
}

Result<std::vector<OldMessage>> OldServer::listing() {
  auto uidls = client_->uidl();
  if (!uidls) {
    if (uidls.error().code.category() != mailport_category()) return uidls.error();
    return make_error(errc::permanent_failure,
                      "the server does not support UIDL, so there are no old UIDLs to keep (" +
                          client::error_text(uidls.error()) + ")");
  }
  auto list = client_->list();
  if (!list) return list.error();
  const std::map<std::uint64_t, std::uint64_t> sizes(list->begin(), list->end());
  std::vector<OldMessage> messages;
  messages.reserve(uidls->size());
  for (auto& entry : *uidls) {
    const auto size = sizes.find(entry.number);
    if (size == sizes.end()) {
      return make_error(
          errc::permanent_failure,
          "LIST does not show message " + std::to_string(entry.number) + " that UIDL listed");
    }
    messages.push_back({entry.number, std::move(entry.value), size->second});
  }
  if (sizes.size() != messages.size()) {
    return make_error(errc::permanent_failure, "LIST shows " + std::to_string(sizes.size()) +
                                                   " messages but UIDL " +
                                                   std::to_string(messages.size()));
  }
  return messages;
}

}  // namespace mailport::migrate
