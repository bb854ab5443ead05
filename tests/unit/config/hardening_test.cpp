// The hardening keys: [tls] certificates and ticket_key_rotation, [privileges] user, group and
// chroot; how they load, what validate() refuses, and the round trip through to_toml().
#include <gtest/gtest.h>

#include <functional>
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

std::string error_text(const std::function<void()>& action) {
  try {
    action();
  } catch (const std::exception& e) {
    return e.what();
  }
  return "(no error)";
}

// A file that validates: certificates, users file and maildir under `dir`, plus `extra`.
std::string valid_toml(const TempDir& dir, const std::string& extra) {
  write_cert_pair(dir / "ec.pem", dir / "ec.key", KeyKind::ec);
  write_file(dir / "passwd", "alice:{PLAIN}pw\n");
  return "[tls]\ncert = \"ec.pem\"\nkey = \"ec.key\"\n[auth]\npasswd = \"passwd\"\n"
         "[mail]\nlocation = \"" +
         (dir / "mail/%u").string() + "\"\n" + extra;
}

Config load_in(const TempDir& dir, const std::string& text) {
  return load_string(text, (dir / "mailport.toml").string());
}

TEST(HardeningConfig, DefaultsRotateTicketKeysHourlyAndKeepTheStartingUser) {
  const Config config = load_string("", "/etc/mailport/mailport.toml");
  EXPECT_EQ(config.tls.ticket_key_rotation, 3600s);
  EXPECT_TRUE(config.tls.certificates.empty());
  EXPECT_EQ(config.privileges, PrivilegeSettings{});
}

TEST(HardeningConfig, InlineArrayOfCertificates) {
  const Config config = load_string(
      "[tls]\nticket_key_rotation = \"12h\"\n"
      "certificates = [{ cert = \"rsa.pem\", key = \"/k/rsa.key\" }]\n",
      "/etc/mailport/mailport.toml");
  ASSERT_EQ(config.tls.certificates.size(), 1u);
  EXPECT_EQ(config.tls.certificates[0].cert, "/etc/mailport/rsa.pem");
  EXPECT_EQ(config.tls.ticket_key_rotation, 12h);
}

TEST(HardeningConfig, TableArrayOfCertificatesRelativeToTheFile) {
  const Config config = load_string(
      "[[tls.certificates]]\ncert = \"rsa.pem\"\nkey = \"/k/rsa.key\"\n"
      "[[tls.certificates]]\ncert = \"ec.pem\"\nkey = \"ec.key\"\n",
      "/etc/mailport/mailport.toml");
  ASSERT_EQ(config.tls.certificates.size(), 2u);
  EXPECT_EQ(config.tls.certificates[0].cert, "/etc/mailport/rsa.pem");
  EXPECT_EQ(config.tls.certificates[0].key, "/k/rsa.key");
  EXPECT_EQ(config.tls.certificates[1].key, "/etc/mailport/ec.key");
}

TEST(HardeningConfig, MalformedCertificateEntriesAreLocated) {
  EXPECT_EQ(error_text([] { load_string("[tls]\ncertificates = \"a.pem\"\n", "/m.toml"); }),
            "/m.toml:2: tls.certificates: expected an array of tables with cert and key, not a "
            "string");
  EXPECT_EQ(
      error_text([] { load_string("[tls]\ncertificates = [{ cert = \"a.pem\" }]\n", "/m.toml"); }),
      "/m.toml:2: tls.certificates: every entry needs both cert and key");
  EXPECT_EQ(error_text([] {
              load_string("[tls]\ncertificates = [{ cert = \"a\", key = \"b\", sni = \"x\" }]\n",
                          "/m.toml");
            }),
            "/m.toml:2: tls.certificates: unknown key \"sni\" in an entry (known: cert, key)");
  EXPECT_EQ(error_text([] { load_string("[tls]\nticket_key_rotation = \"1500ms\"\n", "/m.toml"); }),
            "/m.toml:2: tls.ticket_key_rotation: \"1500ms\": must be a whole number of seconds");
}

TEST(HardeningConfig, PrivilegesLoad) {
  const Config config = load_string(
      "[privileges]\nuser = \"vmail\"\ngroup = \"mail\"\nchroot = \"jail\"\n", "/etc/m/m.toml");
  EXPECT_EQ(config.privileges.user, "vmail");
  EXPECT_EQ(config.privileges.group, "mail");
  EXPECT_EQ(config.privileges.chroot, "/etc/m/jail");
  EXPECT_NE(error_text([] {
              load_string("[privileges]\nuid = 5\n", "/m.toml");
            }).find("/m.toml:2: privileges.uid: unknown key"),
            std::string::npos);
}

TEST(HardeningConfig, RoundTripThroughToToml) {
  const Config config = load_string(
      "[tls]\nticket_key_rotation = \"0s\"\n"
      "certificates = [{ cert = \"/a b/rsa.pem\", key = \"/k/rsa.key\" }, "
      "{ cert = \"/c.pem\", key = \"/c.key\" }]\n"
      "[privileges]\nuser = \"5000\"\nchroot = \"/srv/mail\"\n",
      "/etc/m.toml");
  const std::string text = to_toml(config);
  EXPECT_NE(text.find("certificates = [{ cert = \"/a b/rsa.pem\", key = \"/k/rsa.key\" }, "
                      "{ cert = \"/c.pem\", key = \"/c.key\" }]"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("ticket_key_rotation = \"0s\""), std::string::npos) << text;
  EXPECT_NE(text.find("# group: not set"), std::string::npos) << text;
  const Config reloaded = load_string(text, "/elsewhere.toml");
  EXPECT_EQ(reloaded.tls, config.tls);
  EXPECT_EQ(reloaded.privileges, config.privileges);
}

TEST(HardeningConfig, ValidateChecksEveryExtraCertificate) {
  TempDir dir;
  write_cert_pair(dir / "rsa.pem", dir / "rsa.key", KeyKind::rsa);
  write_cert_pair(dir / "other.pem", dir / "other.key", KeyKind::rsa);
  auto config = load_in(dir, valid_toml(dir, ""));
  config.tls.certificates = {{dir / "rsa.pem", dir / "rsa.key"}};
  EXPECT_NO_THROW(validate(config));
  config.tls.certificates = {{dir / "rsa.pem", dir / "other.key"}};
  EXPECT_NE(error_text([&] { validate(config); }).find("does not match the certificate"),
            std::string::npos);
  config.tls.certificates = {{dir / "missing.pem", dir / "rsa.key"}};
  EXPECT_NE(error_text([&] { validate(config); }).find("tls.certificates: cannot open"),
            std::string::npos);
  config.tls.cert.clear();
  config.tls.key.clear();
  config.listen.pop3s.reset();
  config.auth.plaintext_auth = PlaintextAuth::always;
  config.tls.certificates = {{dir / "rsa.pem", dir / "rsa.key"}};
  EXPECT_NE(error_text([&] { validate(config); }).find("needs tls.cert and tls.key"),
            std::string::npos);
}

TEST(HardeningConfig, ValidatePrivileges) {
  TempDir dir;
  auto config = load_in(dir, valid_toml(dir, ""));
  config.privileges.user = "no-such-user-mailport";
  EXPECT_NE(error_text([&] { validate(config); }).find("no such user"), std::string::npos);
  config.privileges.user = "65534";  // numeric ids need no passwd entry
  EXPECT_NO_THROW(validate(config));
  config.privileges.group = "no-such-group-mailport";
  EXPECT_NE(error_text([&] { validate(config); }).find("no such group"), std::string::npos);
  config.privileges = {};
  config.privileges.chroot = dir.path();
  EXPECT_NE(error_text([&] { validate(config); }).find("needs privileges.user"), std::string::npos);
  config.privileges.user = "65534";
  EXPECT_NO_THROW(validate(config));
  config.privileges.chroot = dir / "passwd";
  EXPECT_NE(error_text([&] { validate(config); }).find("is not a directory"), std::string::npos);
  config.privileges.chroot = dir / "elsewhere";
  std::filesystem::create_directory(config.privileges.chroot);
  EXPECT_NE(error_text([&] { validate(config); }).find("auth.passwd: "), std::string::npos);
  config.privileges.chroot = dir.path();
  config.mail.location = "%h/Maildir";
  EXPECT_NE(error_text([&] { validate(config); }).find("cannot start with %h"), std::string::npos);
  config.mail.location = "/var/mail/%u";
  EXPECT_NE(error_text([&] { validate(config); }).find("outside privileges.chroot"),
            std::string::npos);
}

}  // namespace
}  // namespace mailport::config
