// Server-side TLS settings shared by STLS (port 110) and implicit TLS (port 995).
#pragma once

#include <asio/ssl/context.hpp>
#include <filesystem>
#include <memory>
#include <string>

#include "core/result.hpp"

namespace mailport::net {

struct TlsOptions {
  std::filesystem::path cert;
  std::filesystem::path key;
  std::string min_version = "TLSv1.2";  // "TLSv1.2" or "TLSv1.3"
  std::string ciphers;                  // TLS 1.2 list; empty = kDefaultCiphers
};

// ECDHE with AEAD only: forward secrecy and no CBC/RC4/3DES (RFC 9325 recommendations).
inline constexpr const char* kDefaultCiphers =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";

// Builds the context: TLS 1.2+ (or 1.3 only), no compression, no renegotiation, server cipher
// preference, session tickets for resumption. Errors name the file that failed to load.
Result<std::shared_ptr<asio::ssl::context>> make_server_tls_context(const TlsOptions& options);

// The negotiated protocol name ("TLSv1.3") of a live SSL object, for logs.
std::string tls_version_of(const SSL* ssl);

}  // namespace mailport::net
