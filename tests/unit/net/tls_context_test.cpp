// Ticket keys: rotation, the two-period acceptance window and unknown keys, on a fake clock.
// Building contexts: a clear error when two certificates of one key type claim the same name.
#include "net/tls_context.hpp"

#include <gtest/gtest.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>

namespace mailport::net {
namespace {

using namespace std::chrono_literals;
using Clock = TicketKeys::Clock;

struct Contexts {
  Contexts() {
    cipher.reset(EVP_CIPHER_CTX_new());
    EVP_MAC* hmac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
    mac.reset(EVP_MAC_CTX_new(hmac));
    EVP_MAC_free(hmac);
  }
  std::unique_ptr<EVP_CIPHER_CTX, decltype(&EVP_CIPHER_CTX_free)> cipher{nullptr,
                                                                         EVP_CIPHER_CTX_free};
  std::unique_ptr<EVP_MAC_CTX, decltype(&EVP_MAC_CTX_free)> mac{nullptr, EVP_MAC_CTX_free};
};

using KeyName = std::array<unsigned char, 16>;

class TicketKeysTest : public ::testing::Test {
 protected:
  TicketKeysTest() : keys_(10s, [this] { return now_; }) {}

  KeyName encrypt() {
    Contexts contexts;
    KeyName name{};
    std::array<unsigned char, 16> iv{};
    EXPECT_EQ(keys_.handle(name.data(), iv.data(), contexts.cipher.get(), contexts.mac.get(), true),
              1);
    return name;
  }

  int decrypt(KeyName name) {
    Contexts contexts;
    std::array<unsigned char, 16> iv{};
    return keys_.handle(name.data(), iv.data(), contexts.cipher.get(), contexts.mac.get(), false);
  }

  Clock::time_point now_ = Clock::time_point(1000h);
  TicketKeys keys_;
};

TEST_F(TicketKeysTest, CurrentKeyDecryptsAsCurrent) {
  const KeyName name = encrypt();
  EXPECT_EQ(decrypt(name), 1);
  EXPECT_EQ(encrypt(), name);  // same key within the rotation period
  EXPECT_EQ(keys_.live_keys(), 1u);
}

TEST_F(TicketKeysTest, RotatedKeyStillDecryptsButAsksForARenewal) {
  const KeyName first = encrypt();
  now_ += 10s;
  const KeyName second = encrypt();
  EXPECT_NE(first, second);
  EXPECT_EQ(decrypt(first), 2);
  EXPECT_EQ(decrypt(second), 1);
  EXPECT_EQ(keys_.live_keys(), 2u);
}

TEST_F(TicketKeysTest, KeysExpireAfterTwoRotationPeriods) {
  const KeyName first = encrypt();
  now_ += 19s;
  EXPECT_EQ(decrypt(first), 2);
  now_ += 1s;
  EXPECT_EQ(decrypt(first), 0);
  EXPECT_EQ(keys_.live_keys(), 1u);  // a fresh current key only
}

TEST_F(TicketKeysTest, UnknownKeyNameMeansAFullHandshake) {
  encrypt();
  KeyName forged{};
  forged.fill(0x42);
  EXPECT_EQ(decrypt(forged), 0);
}

TEST_F(TicketKeysTest, IdleServerStillBoundsTheAcceptanceWindow) {
  const KeyName first = encrypt();
  now_ += 1h;  // no handshakes meanwhile
  EXPECT_EQ(decrypt(first), 0);
}

// A self-signed certificate for `names` with an EC or RSA key, written as PEM.
void write_certificate(const std::filesystem::path& cert, const std::filesystem::path& key,
                       const std::string& names, bool rsa) {
  EVP_PKEY* pkey = rsa ? EVP_RSA_gen(2048) : EVP_EC_gen("P-256");
  X509* x509 = X509_new();
  ASN1_INTEGER_set(X509_get_serialNumber(x509), 1);
  X509_gmtime_adj(X509_getm_notBefore(x509), 0);
  X509_gmtime_adj(X509_getm_notAfter(x509), 3600);
  X509_set_pubkey(x509, pkey);
  X509_NAME* subject = X509_get_subject_name(x509);
  X509_NAME_add_entry_by_txt(subject, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("mailport test"), -1, -1, 0);
  X509_set_issuer_name(x509, subject);
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, x509, x509, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, NID_subject_alt_name, names.c_str());
  X509_add_ext(x509, ext, -1);
  X509_EXTENSION_free(ext);
  X509_sign(x509, pkey, EVP_sha256());
  FILE* out = std::fopen(cert.c_str(), "w");
  PEM_write_X509(out, x509);
  std::fclose(out);
  out = std::fopen(key.c_str(), "w");
  PEM_write_PrivateKey(out, pkey, nullptr, nullptr, 0, nullptr, nullptr);
  std::fclose(out);
  X509_free(x509);
  EVP_PKEY_free(pkey);
}

class TlsContextTest : public ::testing::Test {
 protected:
  TlsContextTest()
      : dir_(std::filesystem::temp_directory_path() /
             ("mailport-tls-" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) +
              "-" + std::to_string(reinterpret_cast<std::uintptr_t>(this)))) {
    std::filesystem::create_directories(dir_);
  }
  ~TlsContextTest() override { std::filesystem::remove_all(dir_); }

  CertificateFiles make(const std::string& name, const std::string& names, bool rsa) {
    CertificateFiles files{dir_ / (name + ".pem"), dir_ / (name + ".key")};
    write_certificate(files.cert, files.key, names, rsa);
    return files;
  }

  std::filesystem::path dir_;
};

TEST_F(TlsContextTest, NamesComeFromSubjectAltNamesLowerCased) {
  const auto files = make("a", "DNS:Mail.Example.ORG,DNS:*.example.net,IP:127.0.0.1", false);
  auto names = certificate_names(files.cert);
  ASSERT_TRUE(names);
  EXPECT_EQ(*names, (std::vector<std::string>{"mail.example.org", "*.example.net"}));
}

TEST_F(TlsContextTest, RsaAndEcdsaForOneNameAreAccepted) {
  const auto default_pair = make("default", "DNS:localhost", false);
  TlsOptions options;
  options.cert = default_pair.cert;
  options.key = default_pair.key;
  options.certificates = {make("ec", "DNS:mail.example.org", false),
                          make("rsa", "DNS:mail.example.org", true),
                          make("rsa-default", "DNS:localhost", true)};
  options.ticket_keys = std::make_shared<TicketKeys>(60s);
  EXPECT_TRUE(make_server_tls_context(options));
}

TEST_F(TlsContextTest, TwoCertificatesOfOneKeyTypeForOneNameAreRefused) {
  const auto default_pair = make("default", "DNS:localhost", false);
  TlsOptions options;
  options.cert = default_pair.cert;
  options.key = default_pair.key;
  options.certificates = {make("one", "DNS:mail.example.org", false),
                          make("two", "DNS:pop.example.org,DNS:mail.example.org", false)};
  auto context = make_server_tls_context(options);
  ASSERT_FALSE(context);
  EXPECT_NE(context.error().describe().find("serve mail.example.org"), std::string::npos)
      << context.error().describe();
}

TEST_F(TlsContextTest, MismatchedKeyIsNamed) {
  const auto one = make("one", "DNS:localhost", false);
  const auto two = make("two", "DNS:localhost", false);
  TlsOptions options;
  options.cert = one.cert;
  options.key = two.key;
  auto context = make_server_tls_context(options);
  ASSERT_FALSE(context);
  EXPECT_NE(context.error().describe().find(two.key.string()), std::string::npos);
}

}  // namespace
}  // namespace mailport::net
