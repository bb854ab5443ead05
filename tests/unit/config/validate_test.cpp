// validate(): required keys, the files a configuration names, and cross-field rules, against real
// certificate/key pairs generated for each test.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string>

#include "config/config.hpp"
#include "test_support.hpp"

namespace mailport::config {
namespace {

using namespace std::chrono_literals;
using test_support::TempDir;
using test_support::write_file;
using testing::KeyKind;
using testing::write_cert_pair;

class Validate : public ::testing::Test {
 protected:
  void SetUp() override {
    write_cert_pair(dir_ / "cert.pem", dir_ / "key.pem");
    write_file(dir_ / "passwd", "alice:{PLAIN}x::::::\n");
  }

  // A complete, valid file; `overrides` go after its last line (inside [session]).
  Config load(const std::string& overrides = "") const {
    const std::string text =
        "[tls]\n"                     // 1
        "cert = \"cert.pem\"\n"       // 2
        "key = \"key.pem\"\n"         // 3
        "[auth]\n"                    // 4
        "passwd = \"passwd\"\n"       // 5
        "[mail]\n"                    // 6
        "location = \"mail/%u\"\n"    // 7
        "[session]\n"                 // 8
        "idle_timeout = \"10m\"\n" +  // 9
        overrides;
    write_file(dir_ / "mailport.toml", text);
    return load_file(dir_ / "mailport.toml");
  }

  static ConfigError error_of(const Config& config) {
    try {
      validate(config);
    } catch (const ConfigError& e) {
      return e;
    }
    ADD_FAILURE() << "validate() accepted the configuration";
    return ConfigError("", 0, "", "");
  }

  static void expect_error(const Config& config, const std::string& key, const std::string& part) {
    const ConfigError e = error_of(config);
    EXPECT_EQ(e.key(), key) << e.what();
    EXPECT_NE(std::string(e.what()).find(part), std::string::npos) << e.what();
  }

  TempDir dir_;
};

TEST_F(Validate, AcceptsACompleteConfiguration) {
  EXPECT_NO_THROW(validate(load()));
}

TEST_F(Validate, AcceptsAnRsaPair) {
  write_cert_pair(dir_ / "cert.pem", dir_ / "key.pem", KeyKind::rsa);
  EXPECT_NO_THROW(validate(load()));
}

TEST_F(Validate, RejectsAKeyOfAnotherCertificate) {
  write_cert_pair(dir_ / "other-cert.pem", dir_ / "other-key.pem");
  Config config = load();
  config.tls.key = dir_ / "other-key.pem";
  const ConfigError e = error_of(config);
  EXPECT_EQ(e.key(), "tls.key");
  EXPECT_EQ(e.line(), 3u);
  EXPECT_NE(std::string(e.what()).find("does not match the certificate"), std::string::npos)
      << e.what();
}

TEST_F(Validate, RejectsAKeyOfAnotherType) {
  write_cert_pair(dir_ / "rsa-cert.pem", dir_ / "rsa-key.pem", KeyKind::rsa);
  Config config = load();
  config.tls.key = dir_ / "rsa-key.pem";
  expect_error(config, "tls.key", "does not match the certificate");
}

TEST_F(Validate, RejectsAnEncryptedKeyWithoutPrompting) {
  write_cert_pair(dir_ / "cert.pem", dir_ / "key.pem", KeyKind::ec, "passphrase");
  expect_error(load(), "tls.key", "not an unencrypted PEM private key");
}

TEST_F(Validate, RejectsACertificateThatIsNotPem) {
  write_file(dir_ / "cert.pem", "not a certificate\n");
  const ConfigError e = error_of(load());
  EXPECT_EQ(e.key(), "tls.cert");
  EXPECT_EQ(e.line(), 2u);
  EXPECT_NE(std::string(e.what()).find("not a PEM certificate chain"), std::string::npos);
}

TEST_F(Validate, RejectsAMissingCertificateFile) {
  std::filesystem::remove(dir_ / "cert.pem");
  const ConfigError e = error_of(load());
  EXPECT_EQ(e.key(), "tls.cert");
  EXPECT_EQ(std::string(e.what()), (dir_ / "mailport.toml").string() +
                                       ":2: tls.cert: cannot open " + (dir_ / "cert.pem").string() +
                                       ": No such file or directory");
}

TEST_F(Validate, RejectsAnUnreadableKey) {
  if (::geteuid() == 0) GTEST_SKIP() << "root reads any file";
  ::chmod((dir_ / "key.pem").c_str(), 0);
  expect_error(load(), "tls.key", "Permission denied");
}

TEST_F(Validate, ReportsWhyAFileCannotBeOpened) {
  Config config = load();
  config.tls.key = dir_ / "cert.pem" / "key.pem";
  expect_error(config, "tls.key", "Not a directory");
}

TEST_F(Validate, Pop3sNeedsACertificate) {
  Config config = load();
  config.tls.cert.clear();
  config.lines.erase("tls.cert");  // as a flag override would
  const ConfigError e = error_of(config);
  EXPECT_EQ(e.key(), "tls.cert");
  EXPECT_EQ(e.line(), 0u);
  EXPECT_NE(std::string(e.what()).find("not set; listen.pop3s needs a certificate"),
            std::string::npos);
}

TEST_F(Validate, KeyWithoutCertificateIsAnError) {
  Config config = load("[listen]\npop3s = \"off\"\n");
  config.auth.plaintext_auth = PlaintextAuth::always;
  config.tls.cert.clear();
  expect_error(config, "tls.cert", "not set");
}

TEST_F(Validate, Pop3WithoutStlsIsUselessWhenPlaintextIsNever) {
  Config config = load();
  config.listen.pop3s.reset();
  config.tls = TlsSettings{};
  expect_error(config, "tls.cert", "to offer STLS");
}

TEST_F(Validate, Pop3WithoutStlsIsFineWhenPlaintextIsAllowed) {
  Config config = load();
  config.listen.pop3s.reset();
  config.tls = TlsSettings{};
  for (PlaintextAuth policy : {PlaintextAuth::loopback, PlaintextAuth::always}) {
    config.auth.plaintext_auth = policy;
    EXPECT_NO_THROW(validate(config)) << to_string(policy);
  }
}

TEST_F(Validate, NeedsAListener) {
  const Config config = load("[listen]\npop3 = \"off\"\npop3s = \"off\"\n");
  const ConfigError e = error_of(config);
  EXPECT_EQ(e.key(), "listen");
  EXPECT_EQ(e.line(), 10u);
  EXPECT_NE(std::string(e.what()).find("nothing to serve"), std::string::npos);
}

TEST_F(Validate, ListenersNeedDistinctEndpoints) {
  expect_error(load("[listen]\npop3 = \"127.0.0.1:1995\"\npop3s = \"127.0.0.1:1995\"\n"),
               "listen.pop3s", "same address as listen.pop3");
  EXPECT_NO_THROW(validate(load("[listen]\npop3 = \"127.0.0.1:0\"\npop3s = \"127.0.0.1:0\"\n")));
}

TEST_F(Validate, MetricsNeedsItsOwnPort) {
  expect_error(
      load("[listen]\npop3s = \"127.0.0.1:1995\"\n[metrics]\nlisten = \"127.0.0.1:1995\"\n"),
      "metrics.listen", "already a POP3 listener");
  expect_error(load("[lmtp]\nlisten = [\"127.0.0.1:2424\"]\n[metrics]\nlisten = \"2424\"\n"),
               "metrics.listen", "already an LMTP listener");
  EXPECT_NO_THROW(validate(load("[metrics]\nlisten = \"9100\"\n")));
}

TEST_F(Validate, CipherListMustSelectSomething) {
  Config config = load();
  config.tls.ciphers = "ECDHE+AESGCM:!aNULL";
  EXPECT_NO_THROW(validate(config));
  config.tls.ciphers = "NO-SUCH-CIPHER";
  expect_error(config, "tls.ciphers", "selects no cipher");
}

TEST_F(Validate, IdleTimeoutBelowTenMinutesIsRefused) {
  Config config = load();
  config.session.idle_timeout = 599s;
  const ConfigError e = error_of(config);
  EXPECT_EQ(e.key(), "session.idle_timeout");
  EXPECT_EQ(e.line(), 9u);
  EXPECT_NE(std::string(e.what()).find("599s is shorter than the 10 minutes RFC 1939 requires"),
            std::string::npos)
      << e.what();
}

TEST_F(Validate, PasswdFileMustBeReadable) {
  Config config = load();
  config.auth.passwd.clear();
  expect_error(config, "auth.passwd", "not set");
  config.auth.passwd = dir_ / "absent";
  expect_error(config, "auth.passwd", "No such file or directory");
  config.auth.passwd = dir_.path();
  expect_error(config, "auth.passwd", "is not a regular file");
}

struct LocationCase {
  const char* location;
  const char* message_part;  // nullptr: valid
};

class ValidateLocation : public Validate, public ::testing::WithParamInterface<LocationCase> {};

TEST_P(ValidateLocation, ChecksTheTemplate) {
  Config config = load();
  config.mail.location = GetParam().location;
  if (GetParam().message_part == nullptr) {
    EXPECT_NO_THROW(validate(config));
  } else {
    expect_error(config, "mail.location", GetParam().message_part);
  }
}

INSTANTIATE_TEST_SUITE_P(
    Cases, ValidateLocation,
    ::testing::Values(
        LocationCase{"/srv/mail/%d/%n/Maildir", nullptr}, LocationCase{"/srv/mail/%u", nullptr},
        LocationCase{"%h/Maildir", nullptr}, LocationCase{"/srv/100%%/%u", nullptr},
        LocationCase{"maildir:/srv/mail/%u", nullptr}, LocationCase{"maildir:%h/Maildir", nullptr},
        LocationCase{"maildir:mail/%u", "must be an absolute path"},
        LocationCase{"/srv/100%%", "every user the same maildir"}, LocationCase{"", "not set"},
        LocationCase{"mail/%u", "must be an absolute path or start with %h"},
        LocationCase{"~/Maildir", "must be an absolute path"},
        LocationCase{"/srv/mail", "every user the same maildir"},
        LocationCase{"/srv/mail/%d", "every user the same maildir"},
        LocationCase{"/srv/%x/%u", "unknown variable %x"},
        LocationCase{"/srv/%u/%", "unknown variable %"}));

TEST_F(Validate, CountsMustBePositive) {
  Config config = load();
  config.auth.max_attempts = 0;
  expect_error(config, "auth.max_attempts", "at least 1");
  config = load();
  config.session.max_bad_commands = 0;
  expect_error(config, "session.max_bad_commands", "at least 1");
  config = load();
  config.session.prelogin_timeout = 0s;
  expect_error(config, "session.prelogin_timeout", "longer than 0s");
}

TEST_F(Validate, ChecksValuesSetWithoutTheLoader) {
  Config config = load();
  config.log_level = "loud";
  expect_error(config, "log_level", "is not one of");
  config = load();
  config.tls.min_version = "SSLv3";
  expect_error(config, "tls.min_version", "is not one of");
  config = load();
  config.mail.expire = "soon";
  expect_error(config, "mail.expire", "neither \"NEVER\" nor a number of days");
  config = load();
  config.session.greeting = "a\r\nb";
  expect_error(config, "session.greeting", "printable ASCII");
}

TEST_F(Validate, EmbeddedDefaultIsValidOnceItsFilesExist) {
  const Config config = embedded_default(dir_ / "home");
  expect_error(config, "tls.cert", "No such file or directory");
  write_cert_pair(config.tls.cert, config.tls.key);
  write_file(config.auth.passwd, "");
  EXPECT_NO_THROW(validate(config));
  const ConfigError e = error_of([&] {
    Config broken = config;
    broken.session.idle_timeout = 60s;
    return broken;
  }());
  EXPECT_EQ(e.file(), "<embedded default>");
  EXPECT_EQ(e.line(), 0u);
}

}  // namespace
}  // namespace mailport::config
