#include "net/tls_context.hpp"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <set>

namespace mailport::net {
namespace {

template <class T, void (*Free)(T*)>
struct OpenSslDeleter {
  void operator()(T* p) const { Free(p); }
};
using SslCtxPtr = std::unique_ptr<SSL_CTX, OpenSslDeleter<SSL_CTX, SSL_CTX_free>>;
using X509Ptr = std::unique_ptr<X509, OpenSslDeleter<X509, X509_free>>;
using BioPtr = std::unique_ptr<BIO, OpenSslDeleter<BIO, BIO_free_all>>;

void free_general_names(GENERAL_NAMES* names) {
  GENERAL_NAMES_free(names);
}
using GeneralNamesPtr =
    std::unique_ptr<GENERAL_NAMES, OpenSslDeleter<GENERAL_NAMES, free_general_names>>;

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

std::string lower(std::string_view text) {
  std::string out(text);
  std::ranges::transform(out, out.begin(), [](unsigned char c) {
    return static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
  });
  return out;
}

Result<X509Ptr> read_leaf(const std::filesystem::path& path) {
  BioPtr bio(BIO_new_file(path.c_str(), "r"));
  if (!bio) return tls_error("cannot open certificate " + path.string());
  X509Ptr leaf(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
  if (!leaf) return tls_error("no PEM certificate in " + path.string());
  return leaf;
}

std::vector<std::string> dns_names(X509* leaf) {
  std::vector<std::string> names;
  GeneralNamesPtr alt(
      static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(leaf, NID_subject_alt_name, nullptr, nullptr)));
  for (int i = 0; alt && i < sk_GENERAL_NAME_num(alt.get()); ++i) {
    const GENERAL_NAME* name = sk_GENERAL_NAME_value(alt.get(), i);
    if (name->type != GEN_DNS) continue;
    const ASN1_STRING* text = name->d.dNSName;
    names.push_back(
        lower(std::string_view(reinterpret_cast<const char*>(ASN1_STRING_get0_data(text)),
                               static_cast<std::size_t>(ASN1_STRING_length(text)))));
  }
  if (!names.empty()) return names;
  // RFC 6125 lets clients fall back to the CN only without DNS subjectAltNames.
  X509_NAME* subject = X509_get_subject_name(leaf);
  const int index = X509_NAME_get_index_by_NID(subject, NID_commonName, -1);
  if (index < 0) return names;
  const ASN1_STRING* cn = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, index));
  names.push_back(lower(std::string_view(reinterpret_cast<const char*>(ASN1_STRING_get0_data(cn)),
                                         static_cast<std::size_t>(ASN1_STRING_length(cn)))));
  return names;
}

struct Certificate {
  CertificateFiles files;
  std::vector<std::string> names;
  int key_type = 0;  // EVP_PKEY_RSA, EVP_PKEY_EC, ...
};

Result<Certificate> inspect(const CertificateFiles& files) {
  auto leaf = read_leaf(files.cert);
  if (!leaf) return leaf.error();
  Certificate certificate{files, dns_names(leaf->get()), 0};
  EVP_PKEY* key = X509_get0_pubkey(leaf->get());
  if (key == nullptr) return tls_error("unreadable public key in " + files.cert.string());
  certificate.key_type = EVP_PKEY_get_base_id(key);
  return certificate;
}

// Which certificates (indices) a client naming a host gets: every certificate listing it.
using Group = std::vector<std::size_t>;

Result<std::map<std::string, Group>> group_by_name(const std::vector<Certificate>& certificates) {
  std::map<std::string, Group> groups;
  for (std::size_t i = 0; i < certificates.size(); ++i) {
    for (const std::string& name : certificates[i].names) {
      Group& group = groups[name];
      for (std::size_t other : group) {
        if (certificates[other].key_type == certificates[i].key_type) {
          return make_error(errc::invalid_input, "two certificates with the same key type serve " +
                                                     name + ": " +
                                                     certificates[other].files.cert.string() +
                                                     " and " + certificates[i].files.cert.string());
        }
      }
      if (std::ranges::find(group, i) == group.end()) group.push_back(i);
    }
  }
  return groups;
}

int ticket_data_index() {
  static const int index = SSL_CTX_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return index;
}

int on_ticket_key(SSL* ssl, unsigned char key_name[16], unsigned char iv[16],
                  EVP_CIPHER_CTX* cipher, EVP_MAC_CTX* mac, int encrypt) {
  auto* keys =
      static_cast<TicketKeys*>(SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), ticket_data_index()));
  if (keys == nullptr) return encrypt ? -1 : 0;
  return keys->handle(key_name, iv, cipher, mac, encrypt != 0);
}

Result<void> configure(SSL_CTX* ctx, const TlsOptions& options) {
  if (options.min_version != "TLSv1.2" && options.min_version != "TLSv1.3") {
    return make_error(errc::invalid_input,
                      "tls min_version must be TLSv1.2 or TLSv1.3, not " + options.min_version);
  }
  SSL_CTX_set_min_proto_version(ctx,
                                options.min_version == "TLSv1.3" ? TLS1_3_VERSION : TLS1_2_VERSION);
  SSL_CTX_set_options(
      ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
  // Idle connections should not pin 34 KB of OpenSSL buffers each.
  SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
  const std::string ciphers = options.ciphers.empty() ? kDefaultCiphers : options.ciphers;
  if (SSL_CTX_set_cipher_list(ctx, ciphers.c_str()) != 1) return tls_error("bad cipher list");
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_SERVER);
  static const unsigned char kSessionIdContext[] = "mailport";
  SSL_CTX_set_session_id_context(ctx, kSessionIdContext, sizeof kSessionIdContext - 1);
  if (!options.ticket_keys) {
    SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
    return {};
  }
  // A session outlives its ticket key by no more than the key's own lifetime.
  SSL_CTX_set_timeout(ctx, static_cast<long>(2 * options.ticket_keys->rotation().count()));
  SSL_CTX_set_ex_data(ctx, ticket_data_index(), options.ticket_keys.get());
  SSL_CTX_set_tlsext_ticket_key_evp_cb(ctx, on_ticket_key);
  return {};
}

Result<void> load_certificates(SSL_CTX* ctx, const std::vector<Certificate>& certificates,
                               const Group& group) {
  for (std::size_t index : group) {
    const CertificateFiles& files = certificates[index].files;
    if (SSL_CTX_use_certificate_chain_file(ctx, files.cert.c_str()) != 1) {
      return tls_error("cannot load certificate " + files.cert.string());
    }
    if (SSL_CTX_use_PrivateKey_file(ctx, files.key.c_str(), SSL_FILETYPE_PEM) != 1) {
      return tls_error("cannot load private key " + files.key.string());
    }
    if (SSL_CTX_check_private_key(ctx) != 1) {
      return tls_error("private key " + files.key.string() + " does not match certificate " +
                       files.cert.string());
    }
  }
  return {};
}

// The certificates for each server name a client may send, and the contexts that hold them.
struct SniTable {
  std::vector<SslCtxPtr> contexts;
  std::map<std::string, SSL_CTX*, std::less<>> by_name;  // null: the default context

  SSL_CTX* find(std::string name) const {
    if (!name.empty() && name.back() == '.') name.pop_back();
    name = lower(name);
    if (auto it = by_name.find(name); it != by_name.end()) return it->second;
    // A wildcard covers exactly one label.
    const std::size_t dot = name.find('.');
    if (dot == std::string::npos || dot == 0) return nullptr;
    auto it = by_name.find("*" + name.substr(dot));
    return it == by_name.end() ? nullptr : it->second;
  }
};

int on_server_name(SSL* ssl, int*, void* arg) {
  const char* name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
  if (name == nullptr) return SSL_TLSEXT_ERR_OK;
  // An unknown name gets the default certificate rather than an alert, as clients that verify
  // will refuse it anyway and the others get a working connection.
  if (SSL_CTX* chosen = static_cast<const SniTable*>(arg)->find(name)) {
    SSL_set_SSL_CTX(ssl, chosen);
  }
  return SSL_TLSEXT_ERR_OK;
}

// The front context and what its callbacks point at, released together.
struct TlsBundle {
  asio::ssl::context front{asio::ssl::context::tls_server};
  SniTable sni;
  std::shared_ptr<TicketKeys> ticket_keys;
};

Result<void> build_sni(TlsBundle& bundle, const TlsOptions& options,
                       const std::vector<Certificate>& certificates,
                       const std::map<std::string, Group>& groups, const Group& default_group) {
  std::map<Group, SSL_CTX*> made;
  for (const auto& [name, group] : groups) {
    if (group == default_group) {
      bundle.sni.by_name[name] = nullptr;
      continue;
    }
    auto [it, fresh] = made.try_emplace(group, nullptr);
    if (fresh) {
      SslCtxPtr ctx(SSL_CTX_new(TLS_server_method()));
      if (!ctx) return tls_error("cannot create a TLS context");
      if (auto done = configure(ctx.get(), options); !done) return done;
      if (auto done = load_certificates(ctx.get(), certificates, group); !done) return done;
      it->second = ctx.get();
      bundle.sni.contexts.push_back(std::move(ctx));
    }
    bundle.sni.by_name[name] = it->second;
  }
  return {};
}

}  // namespace

TicketKeys::TicketKeys(std::chrono::seconds rotation, std::function<Clock::time_point()> now)
    : rotation_(std::max(rotation, std::chrono::seconds(1))), now_(std::move(now)) {}

void TicketKeys::rotate_locked(Clock::time_point now) {
  std::erase_if(keys_, [&](const Key& key) { return now - key.created >= 2 * rotation_; });
  if (!keys_.empty() && now - keys_.front().created < rotation_) return;
  Key key{};
  key.created = now;
  // Without randomness there is no safe key; the caller then issues no ticket.
  if (RAND_priv_bytes(key.name.data(), key.name.size()) != 1 ||
      RAND_priv_bytes(key.aes.data(), key.aes.size()) != 1 ||
      RAND_priv_bytes(key.hmac.data(), key.hmac.size()) != 1) {
    return;
  }
  keys_.push_front(key);
}

int TicketKeys::handle(unsigned char key_name[16], unsigned char iv[16], EVP_CIPHER_CTX* cipher,
                       EVP_MAC_CTX* mac, bool encrypt) {
  std::lock_guard lock(mutex_);
  rotate_locked(now_());
  const Key* key = nullptr;
  bool current = true;
  if (encrypt) {
    // No usable key (no randomness): issue no ticket rather than fail the handshake.
    if (keys_.empty() || now_() - keys_.front().created >= rotation_) return 0;
    key = &keys_.front();
    std::memcpy(key_name, key->name.data(), key->name.size());
    if (RAND_bytes(iv, 16) != 1) return -1;
  } else {
    for (std::size_t i = 0; i < keys_.size() && key == nullptr; ++i) {
      if (CRYPTO_memcmp(key_name, keys_[i].name.data(), keys_[i].name.size()) == 0) {
        key = &keys_[i];
        current = i == 0;
      }
    }
    if (key == nullptr) return 0;
  }
  char digest[] = "SHA256";
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_octet_string(
          OSSL_MAC_PARAM_KEY, const_cast<unsigned char*>(key->hmac.data()), key->hmac.size()),
      OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
      OSSL_PARAM_construct_end()};
  if (EVP_MAC_CTX_set_params(mac, params) != 1) return -1;
  const int ok = encrypt
                     ? EVP_EncryptInit_ex(cipher, EVP_aes_256_cbc(), nullptr, key->aes.data(), iv)
                     : EVP_DecryptInit_ex(cipher, EVP_aes_256_cbc(), nullptr, key->aes.data(), iv);
  if (ok != 1) return -1;
  return current ? 1 : 2;
}

std::size_t TicketKeys::live_keys() {
  std::lock_guard lock(mutex_);
  rotate_locked(now_());
  return keys_.size();
}

Result<std::vector<std::string>> certificate_names(const std::filesystem::path& cert) {
  auto leaf = read_leaf(cert);
  if (!leaf) return leaf.error();
  return dns_names(leaf->get());
}

Result<std::shared_ptr<asio::ssl::context>> make_server_tls_context(const TlsOptions& options) {
  std::vector<Certificate> certificates;
  std::vector<CertificateFiles> all{{options.cert, options.key}};
  all.insert(all.end(), options.certificates.begin(), options.certificates.end());
  for (const CertificateFiles& files : all) {
    auto certificate = inspect(files);
    if (!certificate) return certificate.error();
    certificates.push_back(std::move(*certificate));
  }
  auto groups = group_by_name(certificates);
  if (!groups) return groups.error();
  // The default certificate comes with any other certificate for its first name (its RSA or
  // ECDSA sibling).
  const std::vector<std::string>& default_names = certificates.front().names;
  const Group default_group = default_names.empty() ? Group{0} : (*groups)[default_names.front()];

  auto bundle = std::make_shared<TlsBundle>();
  bundle->ticket_keys = options.ticket_keys;
  SSL_CTX* front = bundle->front.native_handle();
  if (auto done = configure(front, options); !done) return done.error();
  if (auto done = load_certificates(front, certificates, default_group); !done) {
    return done.error();
  }
  if (auto done = build_sni(*bundle, options, certificates, *groups, default_group); !done) {
    return done.error();
  }
  SSL_CTX_set_tlsext_servername_callback(front, on_server_name);
  SSL_CTX_set_tlsext_servername_arg(front, &bundle->sni);
  // Aliasing: connections hold the front context, which keeps the SNI contexts alive with it.
  return std::shared_ptr<asio::ssl::context>(bundle, &bundle->front);
}

std::string tls_version_of(const SSL* ssl) {
  return ssl ? SSL_get_version(ssl) : "none";
}

}  // namespace mailport::net
