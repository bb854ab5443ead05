// to_toml(): valid TOML that loads back to the same values, in the documented syntax.
#include <gtest/gtest.h>

#include <string>

#include "config/config.hpp"

namespace mailport::config {
namespace {

using namespace std::chrono_literals;

void expect_same_values(const Config& a, const Config& b) {
  EXPECT_EQ(a.data_dir, b.data_dir);
  EXPECT_EQ(a.threads, b.threads);
  EXPECT_EQ(a.log_level, b.log_level);
  EXPECT_EQ(a.listen.pop3, b.listen.pop3);
  EXPECT_EQ(a.listen.pop3s, b.listen.pop3s);
  EXPECT_EQ(a.tls, b.tls);
  EXPECT_EQ(a.auth, b.auth);
  EXPECT_EQ(a.mail, b.mail);
  EXPECT_EQ(a.session, b.session);
  EXPECT_EQ(a.lmtp, b.lmtp);
}

std::string after_first_line(const std::string& text) {
  return text.substr(text.find('\n') + 1);
}

struct RoundTripCase {
  const char* name;
  const char* toml;
};

class ToTomlRoundTrip : public ::testing::TestWithParam<RoundTripCase> {};

TEST_P(ToTomlRoundTrip, LoadsBackToTheSameValues) {
  const Config original = load_string(GetParam().toml, "/etc/mailport/mailport.toml");
  const std::string text = to_toml(original);
  const Config reloaded = load_string(text, "/elsewhere/copy.toml");
  expect_same_values(original, reloaded);
  EXPECT_EQ(original.listen, reloaded.listen);
  EXPECT_EQ(after_first_line(to_toml(reloaded)), after_first_line(text))
      << "only the source comment may differ";
}

INSTANTIATE_TEST_SUITE_P(
    Cases, ToTomlRoundTrip,
    ::testing::Values(RoundTripCase{"Defaults", ""},
                      RoundTripCase{"Everything", R"(data_dir = "state"
threads = 8
log_level = "warn"
[listen]
pop3 = "[::]:110"
pop3s = "off"
proxy_trusted = ["10.0.0.5", "2001:db8::/64"]
[tls]
cert = "cert.pem"
key = "key.pem"
min_version = "TLSv1.3"
ciphers = "ECDHE+CHACHA20"
[auth]
passwd = "passwd"
plaintext_auth = "always"
apop = true
failure_delay = "1500ms"
max_attempts = 1
[mail]
location = "%h/Maildir"
lock_timeout = 0
login_delay = 3600
expire = 0
[session]
idle_timeout = "90m"
prelogin_timeout = "2m"
max_bad_commands = 1
greeting = "Hi \"there\" \\o/"
implementation = "mailport"
)"},
                      RoundTripCase{"ExpireNever",
                                    "[mail]\nexpire = \"NEVER\"\nlocation = \"/m/%u\"\n"}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(ToToml, EmbeddedDefaultRoundTripsAndNotesItsFallbackPorts) {
  const Config original = embedded_default("/var/lib/mailport-test");
  const std::string text = to_toml(original);
  expect_same_values(original, load_string(text, "/copy.toml"));
  EXPECT_NE(text.find("# Effective configuration from <embedded default>"), std::string::npos);
  EXPECT_NE(text.find("# pop3 falls back to port 1110 if it cannot bind"), std::string::npos);
  EXPECT_NE(text.find("# pop3s falls back to port 1995 if it cannot bind"), std::string::npos);
}

TEST(ToToml, WritesEveryKeyInTheDocumentedSyntax) {
  Config config = load_string("[mail]\nlocation = \"/srv/%u\"\n", "/etc/m.toml");
  config.auth.failure_delay = 500ms;
  const std::string text = to_toml(config);
  for (const char* line :
       {"threads = 0\n", "log_level = \"info\"\n", "\n[listen]\npop3 = \"127.0.0.1:110\"\n",
        "pop3s = \"127.0.0.1:995\"\n", "\n[tls]\n", "min_version = \"TLSv1.2\"\n",
        "ciphers = \"\"\n", "\n[auth]\n", "plaintext_auth = \"never\"\n", "apop = false\n",
        "failure_delay = \"500ms\"\n", "max_attempts = 3\n", "\n[mail]\nlocation = \"/srv/%u\"\n",
        "lock_timeout = \"5s\"\n", "\n[session]\nidle_timeout = \"10m\"\n",
        "prelogin_timeout = \"1m\"\n", "max_bad_commands = 20\n",
        "greeting = \"mailport ready.\"\n"}) {
    EXPECT_NE(text.find(line), std::string::npos) << "missing " << line << " in\n" << text;
  }
  for (const char* unset :
       {"# data_dir: not set\n", "# cert: not set (no TLS)\n", "# passwd: not set\n",
        "# login_delay: not set (not announced)\n", "# expire: not set (not announced)\n",
        "# implementation: not set (not announced)\n"}) {
    EXPECT_NE(text.find(unset), std::string::npos) << "missing " << unset << " in\n" << text;
  }
}

TEST(ToToml, MasksSecretsInEveryStringValue) {
  Config config = load_string("", "/etc/m.toml");
  config.session.greeting = "db password=hunter2 ready";
  config.mail.location = "/srv/mail/%u";
  config.tls.ciphers = "ldap://reader:hunter2@10.0.0.1";
  const std::string text = to_toml(config);
  EXPECT_EQ(text.find("hunter2"), std::string::npos) << text;
  EXPECT_NE(text.find("greeting = \"db password=**** ready\""), std::string::npos) << text;
  EXPECT_NE(text.find("ciphers = \"ldap://reader:****@10.0.0.1\""), std::string::npos) << text;
}

TEST(ToToml, SourceWithLineBreakStaysAComment) {
  const Config config = load_string("", "/tmp/odd\nthreads = 9.toml");
  EXPECT_EQ(load_string(to_toml(config), "/copy.toml").threads, 0u);
}

}  // namespace
}  // namespace mailport::config
