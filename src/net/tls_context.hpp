// Server-side TLS settings shared by STLS (port 110) and implicit TLS (port 995): several
// certificates chosen by SNI (an RSA and an ECDSA one may serve the same names), and session
// tickets whose keys rotate.
#pragma once

#include <openssl/evp.h>
#include <openssl/ssl.h>

#include <array>
#include <asio/ssl/context.hpp>
#include <chrono>
#include <deque>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "core/result.hpp"

namespace mailport::net {

// Keys that encrypt session tickets (RFC 5077, and TLS 1.3 resumption). A new key is made every
// `rotation`; the previous one still decrypts, so a ticket stays usable for one to two rotation
// periods and a stolen key exposes at most two periods of resumed sessions. Shared by every TLS
// context the server builds, so tickets survive a configuration reload. Thread-safe.
class TicketKeys {
 public:
  using Clock = std::chrono::steady_clock;
  explicit TicketKeys(std::chrono::seconds rotation,
                      std::function<Clock::time_point()> now = Clock::now);

  std::chrono::seconds rotation() const { return rotation_; }

  // OpenSSL's ticket callback (SSL_CTX_set_tlsext_ticket_key_evp_cb): 1 = use this key, 2 = the
  // key is old, issue a fresh ticket, 0 = unknown key (full handshake), -1 = error.
  int handle(unsigned char key_name[16], unsigned char iv[16], EVP_CIPHER_CTX* cipher,
             EVP_MAC_CTX* mac, bool encrypt);

  // Keys in use, newest first (for tests).
  std::size_t live_keys();

 private:
  struct Key {
    std::array<unsigned char, 16> name;
    std::array<unsigned char, 32> aes;
    std::array<unsigned char, 32> hmac;
    Clock::time_point created;
  };
  void rotate_locked(Clock::time_point now);

  std::chrono::seconds rotation_;
  std::function<Clock::time_point()> now_;
  std::mutex mutex_;
  std::deque<Key> keys_;  // newest first, at most two
};

struct CertificateFiles {
  std::filesystem::path cert;  // PEM chain, leaf first
  std::filesystem::path key;   // unencrypted PEM private key
};

struct TlsOptions {
  // The default certificate: for clients that send no server name or one no certificate lists.
  std::filesystem::path cert;
  std::filesystem::path key;
  std::string min_version = "TLSv1.2";  // "TLSv1.2" or "TLSv1.3"
  std::string ciphers;                  // TLS 1.2 list; empty = kDefaultCiphers
  // More certificates, chosen by the client's server name (SNI) against their DNS names. Those
  // naming the same host are offered together, so an RSA and an ECDSA certificate can serve it
  // side by side; OpenSSL picks the one the client supports.
  std::vector<CertificateFiles> certificates;
  // Null: no session tickets (resumption by session id only).
  std::shared_ptr<TicketKeys> ticket_keys;
};

// ECDHE with AEAD only: forward secrecy and no CBC/RC4/3DES (RFC 9325 recommendations).
inline constexpr const char* kDefaultCiphers =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";

// Builds the context: TLS 1.2+ (or 1.3 only), no compression, no renegotiation, server cipher
// preference, SNI, session tickets. The returned context owns everything SNI needs. Errors name
// the file that failed to load, or the host two certificates of one key type both claim.
Result<std::shared_ptr<asio::ssl::context>> make_server_tls_context(const TlsOptions& options);

// The DNS names a certificate file's leaf certificate serves (subjectAltName, else the CN),
// lower-case.
Result<std::vector<std::string>> certificate_names(const std::filesystem::path& cert);

// The negotiated protocol name ("TLSv1.3") of a live SSL object, for logs.
std::string tls_version_of(const SSL* ssl);

}  // namespace mailport::net
