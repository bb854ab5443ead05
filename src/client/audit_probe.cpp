// The I/O half of `check`: connects to the server in the ways a client would (and in a few ways a
// careful attacker would) and records what happened. Nothing here sends a real password.
#include <arpa/inet.h>
#include <openssl/x509v3.h>

#include <array>
#include <ctime>
#include <memory>

#include "client/audit_facts.hpp"
#include "client/connection.hpp"
#include "client/pop3_client.hpp"
#include "client/progress.hpp"

namespace mailport::client {
namespace {

constexpr auto kCleartextWait = std::chrono::seconds(3);
constexpr std::string_view kProbeUser = "mailport-check-probe";
// Ciphers no server should agree to: RSA key exchange (no forward secrecy), 3DES, RC4, NULL
// and anonymous suites. Whatever this OpenSSL still implements of them is offered.
constexpr const char* kWeakCiphers = "kRSA:3DES:RC4:eNULL:aNULL:@SECLEVEL=0";

struct GeneralNamesFree {
  void operator()(GENERAL_NAMES* names) const { GENERAL_NAMES_free(names); }
};

struct Session {
  std::unique_ptr<Connection> connection;
  std::unique_ptr<Pop3Client> client;
  Reply greeting;

  void quit() const { (void)client->command("QUIT"); }
};

TlsFacts failed_tls(const Error& error) {
  TlsFacts tls;
  tls.handshake_error = error_text(error);
  return tls;
}

TlsClientConfig probe_config(const CheckOptions& options) {
  TlsClientConfig config;
  config.server_name = options.host;
  config.cafile = options.cafile;
  config.verify = false;      // the chain is judged from the verify result instead
  config.check_name = false;  // matched separately, so expiry and name are both reported
  return config;
}

// A connection on which POP3 runs over TLS: handshake + greeting (implicit TLS), or greeting +
// STLS + handshake.
Result<Session> open_tls(const CheckOptions& options, std::uint16_t port, bool implicit,
                         TlsClientConfig config) {
  auto connection = Connection::open(options.host, port, options.timeout, std::move(config));
  if (!connection) return connection.error();
  Session session{std::move(*connection), nullptr, {}};
  session.client = std::make_unique<Pop3Client>(*session.connection);
  if (implicit) {
    if (auto started = session.connection->start_tls(); !started) return started.error();
  }
  auto greeting = session.client->greeting();
  if (!greeting) return greeting.error();
  session.greeting = *greeting;
  if (!implicit) {
    if (auto upgraded = session.client->stls(); !upgraded) return upgraded.error();
  }
  return session;
}

std::int64_t to_unix(const ASN1_TIME* time) {
  std::tm tm{};
  if (time == nullptr || ASN1_TIME_to_tm(time, &tm) != 1) return 0;
  return static_cast<std::int64_t>(::timegm(&tm));
}

std::string ip_text(const ASN1_OCTET_STRING* ip) {
  char text[INET6_ADDRSTRLEN] = {};
  const int len = ASN1_STRING_length(ip);
  const int family = len == 4 ? AF_INET : len == 16 ? AF_INET6 : 0;
  if (family == 0 || ::inet_ntop(family, ASN1_STRING_get0_data(ip), text, sizeof text) == nullptr) {
    return "?";
  }
  return text;
}

std::string certificate_names(X509* cert) {
  std::string out;
  std::unique_ptr<GENERAL_NAMES, GeneralNamesFree> names(
      static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr)));
  for (int i = 0; names && i < sk_GENERAL_NAME_num(names.get()); ++i) {
    const GENERAL_NAME* name = sk_GENERAL_NAME_value(names.get(), i);
    std::string item;
    if (name->type == GEN_DNS) {
      const auto* data = ASN1_STRING_get0_data(name->d.dNSName);
      item.assign(reinterpret_cast<const char*>(data), ASN1_STRING_length(name->d.dNSName));
    } else if (name->type == GEN_IPADD) {
      item = ip_text(name->d.iPAddress);
    } else {
      continue;
    }
    out += (out.empty() ? "" : ", ") + item;
  }
  if (out.empty()) {
    char cn[256] = {};
    if (X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, cn, sizeof cn) > 0) {
      out = cn;
    }
  }
  return out;
}

std::string issuer_name(X509* cert) {
  char text[256] = {};
  if (X509_NAME_get_text_by_NID(X509_get_issuer_name(cert), NID_commonName, text, sizeof text) >
      0) {
    return text;
  }
  return "unnamed issuer";
}

void key_facts(X509* cert, CertFacts& facts) {
  EVP_PKEY* key = X509_get0_pubkey(cert);
  if (key == nullptr) return;
  facts.key_bits = EVP_PKEY_get_bits(key);
  switch (EVP_PKEY_get_base_id(key)) {
    case EVP_PKEY_RSA:
      facts.key_type = "RSA";
      break;
    case EVP_PKEY_EC: {
      facts.key_type = "EC";
      char group[80] = {};
      std::size_t len = 0;
      if (EVP_PKEY_get_group_name(key, group, sizeof group, &len) == 1) facts.curve = group;
      break;
    }
    case EVP_PKEY_ED25519:
      facts.key_type = "ED25519";
      break;
    case EVP_PKEY_ED448:
      facts.key_type = "ED448";
      break;
    case EVP_PKEY_DSA:
      facts.key_type = "DSA";
      break;
    default:
      facts.key_type = OBJ_nid2sn(EVP_PKEY_get_base_id(key));
  }
}

std::optional<CertFacts> certificate_facts(SSL* ssl, const std::string& host) {
  X509* cert = SSL_get0_peer_certificate(ssl);
  if (cert == nullptr) return std::nullopt;
  CertFacts facts;
  facts.chain_error = SSL_get_verify_result(ssl);
  facts.chain_error_text = X509_verify_cert_error_string(facts.chain_error);
  facts.name_matches = is_ip_literal(host)
                           ? X509_check_ip_asc(cert, host.c_str(), 0) == 1
                           : X509_check_host(cert, host.data(), host.size(), 0, nullptr) == 1;
  facts.names = certificate_names(cert);
  facts.not_before = to_unix(X509_get0_notBefore(cert));
  facts.not_after = to_unix(X509_get0_notAfter(cert));
  key_facts(cert, facts);
  facts.signature = OBJ_nid2ln(X509_get_signature_nid(cert));
  facts.issuer = issuer_name(cert);
  return facts;
}

bool version_accepted(const CheckOptions& options, std::uint16_t port, bool implicit,
                      TlsVersion version) {
  auto config = probe_config(options);
  config.min_version = version;
  config.max_version = version;
  config.legacy = version < TlsVersion::tls1_2;
  auto session = open_tls(options, port, implicit, std::move(config));
  if (session) session->quit();
  return session.ok();
}

std::optional<std::string> weak_cipher(const CheckOptions& options, std::uint16_t port,
                                       bool implicit) {
  auto config = probe_config(options);
  config.max_version = TlsVersion::tls1_2;
  config.min_version = TlsVersion::tls1_0;
  config.legacy = true;
  config.cipher_list = kWeakCiphers;
  auto session = open_tls(options, port, implicit, std::move(config));
  if (!session) return std::nullopt;
  std::string name = SSL_CIPHER_get_name(SSL_get_current_cipher(session->connection->ssl()));
  session->quit();
  return name;
}

std::optional<bool> resumption(const CheckOptions& options, std::uint16_t port, bool implicit,
                               SslSessionPtr saved) {
  if (!saved) return std::nullopt;
  auto config = probe_config(options);
  config.session = std::move(saved);
  auto session = open_tls(options, port, implicit, std::move(config));
  if (!session) return std::nullopt;
  const bool reused = SSL_session_reused(session->connection->ssl()) == 1;
  session->quit();
  return reused;
}

// Everything about TLS on this port, starting from an established session (greeting read).
TlsFacts inspect_tls(const CheckOptions& options, std::uint16_t port, bool implicit, Session& first,
                     std::optional<Capabilities>& caps) {
  TlsFacts tls;
  tls.handshake_ok = true;
  SSL* ssl = first.connection->ssl();
  tls.negotiated = summarize(ssl);
  tls.cert = certificate_facts(ssl, options.host);
  if (auto got = first.client->capa(); got) caps = std::move(*got);
  // TLS 1.3 tickets arrive after the handshake; by now the greeting and CAPA brought them in.
  SslSessionPtr saved(SSL_get1_session(ssl), SSL_SESSION_free);
  if (saved && SSL_SESSION_is_resumable(saved.get()) != 1) saved.reset();
  first.quit();
  for (auto version :
       {TlsVersion::tls1_0, TlsVersion::tls1_1, TlsVersion::tls1_2, TlsVersion::tls1_3}) {
    tls.versions[version] = version_accepted(options, port, implicit, version);
  }
  tls.weak_cipher = weak_cipher(options, port, implicit);
  tls.resumed = resumption(options, port, implicit, std::move(saved));
  return tls;
}

// After a failed handshake on the implicit-TLS port: does it talk POP3 in clear text instead?
void detect_cleartext(const CheckOptions& options, PortFacts& facts) {
  const auto wait = std::min<std::chrono::milliseconds>(options.timeout, kCleartextWait);
  auto connection = Connection::open(options.host, facts.port, wait, probe_config(options));
  if (!connection) return;
  Pop3Client client(**connection);
  auto greeting = client.greeting();
  if (!greeting) return;
  facts.cleartext = true;
  facts.greeting = greeting->text;
  (void)client.command("QUIT");
}

// Would the server take a password before TLS? Start each plaintext mechanism and cancel it,
// then send a USER with a made-up name; PASS is never sent.
void probe_plaintext_logins(Pop3Client& client, PortFacts& facts) {
  for (std::string_view mechanism : {"PLAIN", "LOGIN"}) {
    auto line = client.exchange("AUTH " + std::string(mechanism));
    if (!line) return;
    if (*line == "+" || line->starts_with("+ ")) {
      facts.sasl_before_tls.emplace_back(mechanism);
      if (auto cancelled = client.command("*"); !cancelled) return;
    }
  }
  auto user = client.command("USER " + std::string(kProbeUser));
  facts.user_before_tls = user && user->ok;
}

}  // namespace

PortFacts probe_pop3s(const CheckOptions& options) {
  PortFacts facts;
  facts.port = options.pop3s_port;
  facts.implicit_tls = true;
  auto connection =
      Connection::open(options.host, facts.port, options.timeout, probe_config(options));
  if (!connection) {
    facts.connect_error = error_text(connection.error());
    return facts;
  }
  facts.reachable = true;
  if (auto started = (*connection)->start_tls(); !started) {
    connection->reset();
    detect_cleartext(options, facts);
    if (!facts.cleartext) facts.tls = failed_tls(started.error());
    return facts;
  }
  Session session{std::move(*connection), nullptr, {}};
  session.client = std::make_unique<Pop3Client>(*session.connection);
  auto greeting = session.client->greeting();
  if (!greeting) {
    facts.greeting = error_text(greeting.error());
    facts.tls.emplace();
    facts.tls->handshake_ok = true;
    facts.tls->negotiated = summarize(session.connection->ssl());
    return facts;
  }
  facts.greeting_ok = true;
  facts.greeting = greeting->text;
  facts.tls = inspect_tls(options, facts.port, true, session, facts.caps);
  return facts;
}

PortFacts probe_pop3(const CheckOptions& options) {
  PortFacts facts;
  facts.port = options.pop3_port;
  auto connection =
      Connection::open(options.host, facts.port, options.timeout, probe_config(options));
  if (!connection) {
    facts.connect_error = error_text(connection.error());
    return facts;
  }
  facts.reachable = true;
  {
    Pop3Client client(**connection);
    auto greeting = client.greeting();
    if (!greeting) {
      facts.greeting = error_text(greeting.error());
      return facts;
    }
    facts.greeting_ok = true;
    facts.greeting = greeting->text;
    if (auto caps = client.capa(); caps) facts.caps = std::move(*caps);
    facts.stls_offered = facts.caps && facts.caps->stls();
    probe_plaintext_logins(client, facts);
    (void)client.command("QUIT");
  }
  if (facts.caps && !facts.stls_offered) return facts;
  auto session = open_tls(options, facts.port, false, probe_config(options));
  if (!session) {
    // Without CAPA, STLS was tried blindly; a refusal just means it is not offered.
    if (facts.stls_offered) facts.tls = failed_tls(session.error());
    return facts;
  }
  facts.stls_offered = true;
  facts.tls = inspect_tls(options, facts.port, false, *session, facts.caps_tls);
  return facts;
}

}  // namespace mailport::client
