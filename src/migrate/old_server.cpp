#include "migrate/old_server.hpp"

#include <map>

#include "client/progress.hpp"

namespace mailport::migrate {

Result<OldServer> OldServer::open(const OldServerOptions& options, std::string_view password,
                                  const NoteFn& note, const NoteFn& warn) {
  const client::ServerUrl& url = options.url;
  client::TlsClientConfig tls;
  tls.server_name = url.host;
  tls.cafile = options.cafile;
  auto connection = client::Connection::open(url.host, url.port, options.timeout, std::move(tls));
  if (!connection) return connection.error();
  OldServer server;
  server.connection_ = std::move(*connection);
  server.client_ = std::make_unique<client::Pop3Client>(*server.connection_);
  client::Pop3Client& pop3 = *server.client_;
  if (url.implicit_tls) {
    if (auto started = server.connection_->start_tls(); !started) return started.error();
  }
  if (auto greeting = pop3.greeting(); !greeting) return greeting.error();
  auto caps = pop3.capa();
  if (!caps) return caps.error();
  if (!url.implicit_tls) {
    if (*caps && (*caps)->stls()) {
      if (auto secured = pop3.stls(); !secured) return secured.error();
      auto again = pop3.capa();  // RFC 2595 §4: what came before TLS may have been forged
      if (!again) return again.error();
      caps = std::move(again);
    } else if (!options.insecure_plaintext) {
      return make_error(errc::permanent_failure,
                        url.host +
                            " offers no STLS, so the password would cross the network in "
                            "clear text; use pop3s:// or --insecure-plaintext");
    } else if (warn) {
      warn("the server offers no STLS: logging in without encryption (--insecure-plaintext)");
    }
  }
  auto method = pop3.login(options.auth, *caps, url.user, password);
  if (!method) return method.error();
  if (note) note("logged in (" + std::string(client::to_string(*method)) + ")");
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
