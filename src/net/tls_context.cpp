#include "net/tls_context.hpp"

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <system_error>

namespace mailport::net {
namespace {

std::string last_openssl_error() {
  unsigned long code = ERR_get_error();
  if (code == 0) return "unknown OpenSSL error";
  char text[256];
  ERR_error_string_n(code, text, sizeof text);
  ERR_clear_error();
  return text;
}

Error tls_error(std::string what) {
  return make_error(errc::invalid_input, std::move(what) + ": " + last_openssl_error());
}

}  // namespace

Result<std::shared_ptr<asio::ssl::context>> make_server_tls_context(const TlsOptions& options) {
  auto context = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_server);
  SSL_CTX* ctx = context->native_handle();
  int min_version = options.min_version == "TLSv1.3" ? TLS1_3_VERSION : TLS1_2_VERSION;
  if (options.min_version != "TLSv1.2" && options.min_version != "TLSv1.3") {
    return make_error(errc::invalid_input,
                      "tls min_version must be TLSv1.2 or TLSv1.3, not " + options.min_version);
  }
  SSL_CTX_set_min_proto_version(ctx, min_version);
  SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION |
                               SSL_OP_CIPHER_SERVER_PREFERENCE);
  // Idle connections should not pin 34 KB of OpenSSL buffers each.
  SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
  const std::string ciphers = options.ciphers.empty() ? kDefaultCiphers : options.ciphers;
  if (SSL_CTX_set_cipher_list(ctx, ciphers.c_str()) != 1) return tls_error("bad cipher list");
  if (SSL_CTX_use_certificate_chain_file(ctx, options.cert.c_str()) != 1) {
    return tls_error("cannot load certificate " + options.cert.string());
  }
  if (SSL_CTX_use_PrivateKey_file(ctx, options.key.c_str(), SSL_FILETYPE_PEM) != 1) {
    return tls_error("cannot load private key " + options.key.string());
  }
  if (SSL_CTX_check_private_key(ctx) != 1) {
    return tls_error("private key " + options.key.string() + " does not match certificate " +
                     options.cert.string());
  }
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_SERVER);
  static const unsigned char kSessionIdContext[] = "mailport";
  SSL_CTX_set_session_id_context(ctx, kSessionIdContext, sizeof kSessionIdContext - 1);
  return context;
}

std::string tls_version_of(const SSL* ssl) { return ssl ? SSL_get_version(ssl) : "none"; }

}  // namespace mailport::net
