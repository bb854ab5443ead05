#include "net/self_signed.hpp"

#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <cstdio>
#include <memory>

namespace mailport::net {
namespace {

template <auto Free>
struct Deleter {
  template <class T>
  void operator()(T* p) const { Free(p); }
};
using KeyPtr = std::unique_ptr<EVP_PKEY, Deleter<EVP_PKEY_free>>;
using CertPtr = std::unique_ptr<X509, Deleter<X509_free>>;
using ExtPtr = std::unique_ptr<X509_EXTENSION, Deleter<X509_EXTENSION_free>>;
using FilePtr = std::unique_ptr<FILE, Deleter<std::fclose>>;

Error ssl_failure(const std::string& what) { return make_error(errc::temporary_failure, what); }

Result<FilePtr> create_file(const std::filesystem::path& path, mode_t mode) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0) return Error::from_errno(errno, "cannot create " + path.string());
  FILE* file = ::fdopen(fd, "w");
  if (!file) {
    ::close(fd);
    return Error::from_errno(errno, "cannot open " + path.string());
  }
  return FilePtr(file);
}

bool add_extension(X509* cert, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, cert, cert, nullptr, nullptr, 0);
  ExtPtr ext(X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str()));
  return ext && X509_add_ext(cert, ext.get(), -1) == 1;
}

std::string subject_alt_names(const SelfSignedRequest& request) {
  std::string names;
  for (const auto& dns : request.dns_names) names += (names.empty() ? "DNS:" : ",DNS:") + dns;
  for (const auto& ip : request.ip_addresses) names += (names.empty() ? "IP:" : ",IP:") + ip;
  return names;
}

}  // namespace

Result<void> write_self_signed_certificate(const SelfSignedRequest& request,
                                           const std::filesystem::path& cert_path,
                                           const std::filesystem::path& key_path) {
  KeyPtr key(EVP_EC_gen("P-256"));
  if (!key) return ssl_failure("cannot generate an EC key");
  CertPtr cert(X509_new());
  if (!cert) return ssl_failure("cannot allocate a certificate");
  X509_set_version(cert.get(), 2);
  unsigned char serial[16];
  std::FILE* urandom = std::fopen("/dev/urandom", "rb");
  if (!urandom || std::fread(serial, 1, sizeof serial, urandom) != sizeof serial) {
    if (urandom) std::fclose(urandom);
    return ssl_failure("cannot read /dev/urandom");
  }
  std::fclose(urandom);
  serial[0] &= 0x7f;  // a positive serial number
  BIGNUM* serial_bn = BN_bin2bn(serial, sizeof serial, nullptr);
  BN_to_ASN1_INTEGER(serial_bn, X509_get_serialNumber(cert.get()));
  BN_free(serial_bn);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -300);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), 60L * 60 * 24 * request.valid_days);
  X509_set_pubkey(cert.get(), key.get());
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                             reinterpret_cast<const unsigned char*>(request.common_name.c_str()),
                             -1, -1, 0);
  X509_set_issuer_name(cert.get(), name);
  if (!add_extension(cert.get(), NID_subject_alt_name, subject_alt_names(request)) ||
      !add_extension(cert.get(), NID_basic_constraints, "critical,CA:TRUE") ||
      !add_extension(cert.get(), NID_key_usage, "critical,digitalSignature,keyCertSign") ||
      !add_extension(cert.get(), NID_ext_key_usage, "serverAuth") ||
      !add_extension(cert.get(), NID_subject_key_identifier, "hash")) {
    return ssl_failure("cannot add certificate extensions");
  }
  if (X509_sign(cert.get(), key.get(), EVP_sha256()) == 0) {
    return ssl_failure("cannot sign the certificate");
  }
  auto key_file = create_file(key_path, 0600);
  if (!key_file) return key_file.error();
  if (PEM_write_PrivateKey(key_file->get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr) != 1) {
    return ssl_failure("cannot write " + key_path.string());
  }
  auto cert_file = create_file(cert_path, 0644);
  if (!cert_file) return cert_file.error();
  if (PEM_write_X509(cert_file->get(), cert.get()) != 1) {
    return ssl_failure("cannot write " + cert_path.string());
  }
  return {};
}

}  // namespace mailport::net
