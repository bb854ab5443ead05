#include "test_support.hpp"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <cstdlib>
#include <fstream>
#include <memory>
#include <stdexcept>
#include <string>

namespace mailport::config::testing {
namespace {

template <class T, void (*Free)(T*)>
struct Deleter {
  void operator()(T* p) const { Free(p); }
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, Deleter<EVP_PKEY, EVP_PKEY_free>>;
using X509Ptr = std::unique_ptr<X509, Deleter<X509, X509_free>>;
using BioPtr = std::unique_ptr<BIO, Deleter<BIO, BIO_free_all>>;

void require(bool ok, const char* what) {
  if (!ok) throw std::runtime_error(std::string("test certificate: ") + what);
}

PkeyPtr make_key(KeyKind kind) {
  PkeyPtr key(kind == KeyKind::ec ? EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256")
                                  : EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", std::size_t{2048}));
  require(key != nullptr, "key generation");
  return key;
}

X509Ptr make_self_signed(EVP_PKEY* key) {
  X509Ptr cert(X509_new());
  require(cert != nullptr, "X509_new");
  X509_set_version(cert.get(), 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), 1);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), 0);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), 3600);
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("localhost"), -1, -1, 0);
  require(X509_set_issuer_name(cert.get(), name) == 1, "issuer");
  require(X509_set_pubkey(cert.get(), key) == 1, "public key");
  require(X509_sign(cert.get(), key, EVP_sha256()) > 0, "signature");
  return cert;
}

}  // namespace

void write_cert_pair(const std::filesystem::path& cert_path, const std::filesystem::path& key_path,
                     KeyKind kind, std::string_view passphrase) {
  const PkeyPtr key = make_key(kind);
  const X509Ptr cert = make_self_signed(key.get());
  std::filesystem::create_directories(cert_path.parent_path());
  std::filesystem::create_directories(key_path.parent_path());
  BioPtr cert_out(BIO_new_file(cert_path.c_str(), "w"));
  require(cert_out && PEM_write_bio_X509(cert_out.get(), cert.get()) == 1, "writing cert");
  BioPtr key_out(BIO_new_file(key_path.c_str(), "w"));
  require(key_out != nullptr, "opening key file");
  const std::string secret(passphrase);
  const int written =
      passphrase.empty()
          ? PEM_write_bio_PrivateKey(key_out.get(), key.get(), nullptr, nullptr, 0, nullptr,
                                     nullptr)
          : PEM_write_bio_PrivateKey(key_out.get(), key.get(), EVP_aes_256_cbc(),
                                     reinterpret_cast<const unsigned char*>(secret.data()),
                                     static_cast<int>(secret.size()), nullptr, nullptr);
  require(written == 1, "writing key");
}

}  // namespace mailport::config::testing
