#include "client/login_session.hpp"

namespace mailport::client {

Result<LoggedIn> connect_and_login(const ServerAccess& access, std::string_view password,
                                   const std::function<void(std::string)>& warn) {
  const ServerUrl& url = access.url;
  TlsClientConfig tls;
  tls.server_name = url.host;
  tls.cafile = access.cafile;
  auto connection = Connection::open(url.host, url.port, access.timeout, std::move(tls));
  if (!connection) return connection.error();
  LoggedIn session;
  session.connection = std::move(*connection);
  session.client = std::make_unique<Pop3Client>(*session.connection);
  Pop3Client& pop3 = *session.client;
  if (url.implicit_tls) {
    if (auto started = session.connection->start_tls(); !started) return started.error();
  }
  if (auto greeting = pop3.greeting(); !greeting) return greeting.error();
  auto caps = pop3.capa();
  if (!caps) return caps.error();
  session.caps = std::move(*caps);
  if (!url.implicit_tls) {
    if (session.caps && session.caps->stls()) {
      if (auto secured = pop3.stls(); !secured) return secured.error();
      // RFC 2595 §4: what the server said before TLS may have been forged; ask again.
      auto again = pop3.capa();
      if (!again) return again.error();
      session.caps = std::move(*again);
    } else if (!access.insecure_plaintext) {
      return make_error(errc::permanent_failure,
                        url.host +
                            " offers no STLS, so the password would cross the network in clear "
                            "text; use pop3s:// if the server has port 995, or accept the risk "
                            "with --insecure-plaintext");
    } else if (warn) {
      warn("the server offers no STLS: logging in without encryption (--insecure-plaintext)");
    }
  }
  auto method = pop3.login(access.auth, session.caps, url.user, password);
  if (!method) return method.error();
  session.method = *method;
  return session;
}

}  // namespace mailport::client
