// Client-side TLS with OpenSSL: certificate and host name verification on by default, and the
// knobs `mailport check` needs to probe a server (one protocol version at a time, legacy
// versions, resumption).
#pragma once

#include <openssl/ssl.h>

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "core/result.hpp"

namespace mailport::client {

enum class TlsVersion { tls1_0, tls1_1, tls1_2, tls1_3 };
std::string_view to_string(TlsVersion version);  // "TLS 1.2"

struct SslCtxFree {
  void operator()(SSL_CTX* ctx) const { SSL_CTX_free(ctx); }
};
struct SslFree {
  void operator()(SSL* ssl) const { SSL_free(ssl); }
};
struct SslSessionFree {
  void operator()(SSL_SESSION* session) const { SSL_SESSION_free(session); }
};
using SslCtxPtr = std::unique_ptr<SSL_CTX, SslCtxFree>;
using SslPtr = std::unique_ptr<SSL, SslFree>;
using SslSessionPtr = std::shared_ptr<SSL_SESSION>;

struct TlsClientConfig {
  std::string server_name;                      // SNI, and the name the certificate must carry
  std::optional<std::filesystem::path> cafile;  // trust these CAs instead of the system's
  // Off only for `check` probes: they complete the handshake to inspect what they got.
  bool verify = true;
  // Off for `check` probes, which match the name themselves so that a wrong name and an
  // expired certificate are both reported.
  bool check_name = true;
  TlsVersion min_version = TlsVersion::tls1_2;
  std::optional<TlsVersion> max_version;
  // Security level 0 and every cipher OpenSSL has: needed to even offer TLS 1.0/1.1.
  bool legacy = false;
  std::string cipher_list;  // TLS 1.2 and older; empty = OpenSSL's default
  SslSessionPtr session;    // offered for resumption
};

// A configured SSL object for `fd` (client mode, SNI and host check set, not yet connected).
Result<SslPtr> make_client_ssl(const TlsClientConfig& config, int fd);

// The handshake on a blocking socket whose timeouts are set. A failed verification names the
// reason ("certificate has expired") and how to trust a private CA.
Result<void> client_handshake(SSL* ssl, const TlsClientConfig& config);

// True for "127.0.0.1" or "::1": such names are matched against IP SANs and never sent as SNI.
bool is_ip_literal(const std::string& host);

// The OpenSSL error queue as one line (emptied), for messages.
std::string take_openssl_errors();

// What the handshake negotiated, for logs and `check`.
struct TlsSummary {
  std::string version;  // "TLS 1.3"
  std::string cipher;   // "TLS_AES_256_GCM_SHA384"
  std::string group;    // key exchange group ("X25519"), empty if unknown
  bool aead = false;
  bool forward_secret = false;
  bool resumed = false;
};
TlsSummary summarize(SSL* ssl);

// The system trust store plus `cafile`; used by the handshake and by `check` to judge chains.
Result<void> load_trust(SSL_CTX* ctx, const std::optional<std::filesystem::path>& cafile);

}  // namespace mailport::client
