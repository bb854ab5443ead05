#include "client/tls.hpp"

#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>

namespace mailport::client {
namespace {

int openssl_version(TlsVersion version) {
  switch (version) {
    case TlsVersion::tls1_0:
      return TLS1_VERSION;
    case TlsVersion::tls1_1:
      return TLS1_1_VERSION;
    case TlsVersion::tls1_2:
      return TLS1_2_VERSION;
    case TlsVersion::tls1_3:
      return TLS1_3_VERSION;
  }
  return TLS1_2_VERSION;
}

Error tls_error(std::string context) {
  const std::string detail = take_openssl_errors();
  return make_error(errc::permanent_failure,
                    detail.empty() ? std::move(context) : context + ": " + detail);
}

Result<SslCtxPtr> make_context(const TlsClientConfig& config) {
  SslCtxPtr ctx(SSL_CTX_new(TLS_client_method()));
  if (!ctx) return tls_error("cannot create a TLS context");
  if (config.legacy) {
    SSL_CTX_set_security_level(ctx.get(), 0);
    if (SSL_CTX_set_cipher_list(ctx.get(), "ALL:@SECLEVEL=0") != 1) {
      return tls_error("cannot enable legacy ciphers");
    }
  }
  if (!config.cipher_list.empty() &&
      SSL_CTX_set_cipher_list(ctx.get(), config.cipher_list.c_str()) != 1) {
    return tls_error("no usable cipher in '" + config.cipher_list + "'");
  }
  SSL_CTX_set_min_proto_version(ctx.get(), openssl_version(config.min_version));
  if (config.max_version) {
    SSL_CTX_set_max_proto_version(ctx.get(), openssl_version(*config.max_version));
  }
  // POP3 ends every response itself (".\r\n"), so a peer closing without close_notify cannot
  // truncate data undetected; treat it as an ordinary end of stream.
  SSL_CTX_set_options(ctx.get(), SSL_OP_IGNORE_UNEXPECTED_EOF | SSL_OP_NO_COMPRESSION);
  if (auto trust = load_trust(ctx.get(), config.cafile); !trust) return trust.error();
  SSL_CTX_set_verify(ctx.get(), config.verify ? SSL_VERIFY_PEER : SSL_VERIFY_NONE, nullptr);
  return ctx;
}

}  // namespace

std::string_view to_string(TlsVersion version) {
  switch (version) {
    case TlsVersion::tls1_0:
      return "TLS 1.0";
    case TlsVersion::tls1_1:
      return "TLS 1.1";
    case TlsVersion::tls1_2:
      return "TLS 1.2";
    case TlsVersion::tls1_3:
      return "TLS 1.3";
  }
  return "TLS";
}

bool is_ip_literal(const std::string& host) {
  unsigned char buffer[sizeof(in6_addr)];
  return ::inet_pton(AF_INET, host.c_str(), buffer) == 1 ||
         ::inet_pton(AF_INET6, host.c_str(), buffer) == 1;
}

std::string take_openssl_errors() {
  std::string text;
  while (const unsigned long code = ERR_get_error()) {
    char buffer[256];
    ERR_error_string_n(code, buffer, sizeof buffer);
    if (!text.empty()) text += "; ";
    // Only the reason: "error:0A000086:SSL routines::certificate verify failed" -> last part.
    std::string_view line(buffer);
    const auto colon = line.rfind(':');
    text += colon == std::string_view::npos ? line : line.substr(colon + 1);
  }
  return text;
}

Result<void> load_trust(SSL_CTX* ctx, const std::optional<std::filesystem::path>& cafile) {
  if (cafile) {
    if (SSL_CTX_load_verify_locations(ctx, cafile->c_str(), nullptr) != 1) {
      return tls_error("cannot load CA file " + cafile->string());
    }
    return {};
  }
  if (SSL_CTX_set_default_verify_paths(ctx) != 1) return tls_error("cannot load the system CAs");
  return {};
}

Result<SslPtr> make_client_ssl(const TlsClientConfig& config, int fd) {
  auto ctx = make_context(config);
  if (!ctx) return ctx.error();
  SslPtr ssl(SSL_new(ctx->get()));  // holds its own reference to the context
  if (!ssl) return tls_error("cannot create a TLS connection");
  if (SSL_set_fd(ssl.get(), fd) != 1) return tls_error("cannot attach TLS to the socket");
  const std::string& name = config.server_name;
  if (!name.empty()) {
    // SNI carries host names only (RFC 6066 §3); addresses are matched against IP SANs.
    const bool ip = is_ip_literal(name);
    if (!ip && SSL_set_tlsext_host_name(ssl.get(), name.c_str()) != 1) {
      return tls_error("cannot send the host name " + name);
    }
    if (config.check_name) {
      const int set = ip ? X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl.get()), name.c_str())
                         : SSL_set1_host(ssl.get(), name.c_str());
      if (set != 1) return tls_error("cannot set the expected name " + name);
    }
  }
  if (config.session && SSL_set_session(ssl.get(), config.session.get()) != 1) {
    return tls_error("cannot offer the saved TLS session");
  }
  return ssl;
}

Result<void> client_handshake(SSL* ssl, const TlsClientConfig& config) {
  ERR_clear_error();
  if (SSL_connect(ssl) == 1) return {};
  const long verdict = SSL_get_verify_result(ssl);
  if (config.verify && verdict != X509_V_OK) {
    take_openssl_errors();
    std::string message = "certificate of " + config.server_name +
                          " rejected: " + X509_verify_cert_error_string(verdict);
    if (!config.cafile) message += " (for a private CA, pass its certificate with --cafile)";
    return make_error(errc::permanent_failure, std::move(message));
  }
  const int saved_errno = errno;
  const std::string detail = take_openssl_errors();
  if (detail.empty()) {
    if (saved_errno == EAGAIN || saved_errno == EWOULDBLOCK) {
      return Error::from_errno(ETIMEDOUT, "TLS handshake timed out");
    }
    return make_error(errc::temporary_failure, "TLS handshake failed: connection closed");
  }
  return make_error(errc::permanent_failure, "TLS handshake failed: " + detail);
}

TlsSummary summarize(SSL* ssl) {
  TlsSummary summary;
  switch (SSL_version(ssl)) {
    case TLS1_VERSION:
      summary.version = to_string(TlsVersion::tls1_0);
      break;
    case TLS1_1_VERSION:
      summary.version = to_string(TlsVersion::tls1_1);
      break;
    case TLS1_2_VERSION:
      summary.version = to_string(TlsVersion::tls1_2);
      break;
    case TLS1_3_VERSION:
      summary.version = to_string(TlsVersion::tls1_3);
      break;
    default:
      summary.version = SSL_get_version(ssl);
  }
  const SSL_CIPHER* cipher = SSL_get_current_cipher(ssl);
  if (cipher != nullptr) {
    summary.cipher = SSL_CIPHER_get_name(cipher);
    summary.aead = SSL_CIPHER_is_aead(cipher) == 1;
    const int kx = SSL_CIPHER_get_kx_nid(cipher);
    // TLS 1.3 (kx "any") always uses an ephemeral (EC)DHE exchange.
    summary.forward_secret = kx == NID_kx_ecdhe || kx == NID_kx_dhe || kx == NID_kx_any ||
                             kx == NID_kx_ecdhe_psk || kx == NID_kx_dhe_psk;
  }
  const int group = SSL_get_negotiated_group(ssl);
  if (group != 0) {
    if (const char* name = SSL_group_to_name(ssl, group)) summary.group = name;
  }
  summary.resumed = SSL_session_reused(ssl) == 1;
  return summary;
}

}  // namespace mailport::client
