// load_string/load_file: good snippets and what they set, bad snippets and where the error points.
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

constexpr const char* kOrigin = "/etc/mailport/mailport.toml";

struct GoodCase {
  const char* name;
  const char* toml;
  std::function<void(const Config&)> check;
};

class LoadGood : public ::testing::TestWithParam<GoodCase> {};

TEST_P(LoadGood, AppliesTheFile) {
  const Config config = load_string(GetParam().toml, kOrigin);
  EXPECT_EQ(config.source, kOrigin);
  EXPECT_FALSE(config.embedded_default);
  GetParam().check(config);
}

const GoodCase kGoodCases[] = {
    {"EmptyFileKeepsDefaultsWithoutPaths", "",
     [](const Config& c) {
       EXPECT_EQ(c.listen.pop3, (Endpoint{"127.0.0.1", 110}));
       EXPECT_EQ(c.listen.pop3s, (Endpoint{"127.0.0.1", 995}));
       EXPECT_EQ(c.listen.pop3_fallback_port, std::nullopt);
       EXPECT_EQ(c.listen.pop3s_fallback_port, std::nullopt);
       EXPECT_TRUE(c.tls.cert.empty());
       EXPECT_TRUE(c.tls.key.empty());
       EXPECT_TRUE(c.auth.passwd.empty());
       EXPECT_TRUE(c.mail.location.empty());
       EXPECT_TRUE(c.data_dir.empty());
       EXPECT_EQ(c.auth.plaintext_auth, PlaintextAuth::never);
       EXPECT_EQ(c.session.idle_timeout, 10min);
       EXPECT_EQ(c.log_level, "info");
       EXPECT_TRUE(c.lines.empty());
     }},
    {"EveryKey",
     R"(data_dir = "/var/lib/mailport"
threads = 4
log_level = "debug"
[listen]
pop3 = "[::1]:1110"
pop3s = "0.0.0.0:995"
[tls]
cert = "/etc/mailport/cert.pem"
key = "/etc/mailport/key.pem"
min_version = "TLSv1.3"
ciphers = "ECDHE+AESGCM"
[auth]
passwd = "/etc/mailport/passwd"
plaintext_auth = "loopback"
apop = true
failure_delay = "500ms"
max_attempts = 5
[mail]
location = "/srv/mail/%d/%n/Maildir"
lock_timeout = "1m"
login_delay = "15m"
expire = 30
[session]
idle_timeout = "1h"
prelogin_timeout = 30
max_bad_commands = 4
greeting = "POP3 here."
implementation = "mailport 0.1"
plaintext_refusal_hint = "Use port 995."
)",
     [](const Config& c) {
       EXPECT_EQ(c.data_dir, "/var/lib/mailport");
       EXPECT_EQ(c.threads, 4u);
       EXPECT_EQ(c.log_level, "debug");
       EXPECT_EQ(c.listen.pop3, (Endpoint{"::1", 1110}));
       EXPECT_EQ(c.listen.pop3s, (Endpoint{"0.0.0.0", 995}));
       EXPECT_EQ(c.tls.cert, "/etc/mailport/cert.pem");
       EXPECT_EQ(c.tls.key, "/etc/mailport/key.pem");
       EXPECT_EQ(c.tls.min_version, "TLSv1.3");
       EXPECT_EQ(c.tls.ciphers, "ECDHE+AESGCM");
       EXPECT_EQ(c.auth.passwd, "/etc/mailport/passwd");
       EXPECT_EQ(c.auth.plaintext_auth, PlaintextAuth::loopback);
       EXPECT_TRUE(c.auth.apop);
       EXPECT_EQ(c.auth.failure_delay, 500ms);
       EXPECT_EQ(c.auth.max_attempts, 5u);
       EXPECT_EQ(c.mail.location, "/srv/mail/%d/%n/Maildir");
       EXPECT_EQ(c.mail.lock_timeout, 1min);
       EXPECT_EQ(c.mail.login_delay, 15min);
       EXPECT_EQ(c.mail.expire, "30");
       EXPECT_EQ(c.session.idle_timeout, 1h);
       EXPECT_EQ(c.session.prelogin_timeout, 30s);
       EXPECT_EQ(c.session.max_bad_commands, 4u);
       EXPECT_EQ(c.session.greeting, "POP3 here.");
       EXPECT_EQ(c.session.implementation, "mailport 0.1");
       EXPECT_EQ(c.session.plaintext_refusal_hint, "Use port 995.");
       EXPECT_EQ(c.lines.at("threads"), 2u);
       EXPECT_EQ(c.lines.at("tls.cert"), 8u);
       EXPECT_EQ(c.lines.at("session.implementation"), 28u);
     }},
    {"ListenersOffAndAnyPort", "[listen]\npop3 = \"off\"\npop3s = \"127.0.0.1:0\"\n",
     [](const Config& c) {
       EXPECT_EQ(c.listen.pop3, std::nullopt);
       EXPECT_EQ(c.listen.pop3s, (Endpoint{"127.0.0.1", 0}));
     }},
    {"ProxyTrusted", "[listen]\nproxy_trusted = [\"10.0.0.5\", \"10.0.1.0/24\", \"::1\"]\n",
     [](const Config& c) {
       EXPECT_EQ(c.listen.proxy_trusted,
                 (std::vector<std::string>{"10.0.0.5", "10.0.1.0/24", "::1"}));
       EXPECT_EQ(c.lines.at("listen.proxy_trusted"), 2u);
     }},
    {"DurationAsIntegerSeconds", "[auth]\nfailure_delay = 3\n[mail]\nlock_timeout = 0\n",
     [](const Config& c) {
       EXPECT_EQ(c.auth.failure_delay, 3s);
       EXPECT_EQ(c.mail.lock_timeout, 0ms);
     }},
    {"WholeSecondsFromMilliseconds", "[session]\nprelogin_timeout = \"2000ms\"\n",
     [](const Config& c) { EXPECT_EQ(c.session.prelogin_timeout, 2s); }},
    {"AbuseResistanceKeys",
     "[auth]\nmax_failure_delay = \"30s\"\nban_after_failures = 7\nfailure_window = \"5m\"\n"
     "ban_duration = \"1h\"\ntrusted_networks = [\"10.0.0.0/8\", \"::1\"]\nrehash = true\n"
     "[limits]\nmax_connections = 500\nmax_connections_per_ip = 5\n",
     [](const Config& c) {
       EXPECT_EQ(c.auth.max_failure_delay, 30s);
       EXPECT_EQ(c.auth.ban_after_failures, 7u);
       EXPECT_EQ(c.auth.failure_window, 5min);
       EXPECT_EQ(c.auth.ban_duration, 1h);
       EXPECT_EQ(c.auth.trusted_networks, (std::vector<std::string>{"10.0.0.0/8", "::1"}));
       EXPECT_TRUE(c.auth.rehash);
       EXPECT_EQ(c.limits.max_connections, 500u);
       EXPECT_EQ(c.limits.max_connections_per_ip, 5u);
       EXPECT_EQ(c.lines.at("limits.max_connections_per_ip"), 10u);
     }},
    {"CredentialCacheOffByDefault", "",
     [](const Config& c) { EXPECT_EQ(c.auth.credential_cache_ttl, 0s); }},
    {"CredentialCacheTtl", "[auth]\ncredential_cache_ttl = \"2m\"\n",
     [](const Config& c) { EXPECT_EQ(c.auth.credential_cache_ttl, 120s); }},
    {"ClientWorkarounds", "[session]\nclient_workarounds = [\"oe-ns-eoh\", \"outlook-no-nuls\"]\n",
     [](const Config& c) {
       EXPECT_EQ(c.session.client_workarounds,
                 (std::vector<std::string>{"oe-ns-eoh", "outlook-no-nuls"}));
     }},
    {"ExpireNever", "[mail]\nexpire = \"NEVER\"\n",
     [](const Config& c) { EXPECT_EQ(c.mail.expire, "NEVER"); }},
    {"ExpireDaysAsStringIsNormalised", "[mail]\nexpire = \"007\"\n",
     [](const Config& c) { EXPECT_EQ(c.mail.expire, "7"); }},
    {"DottedKeysAndInlineTables", "auth.apop = true\nlisten = { pop3 = \"off\" }\n",
     [](const Config& c) {
       EXPECT_TRUE(c.auth.apop);
       EXPECT_EQ(c.listen.pop3, std::nullopt);
       EXPECT_EQ(c.lines.at("auth.apop"), 1u);
     }},
    {"RelativePathsFollowTheFile",
     "data_dir = \"state\"\n[tls]\ncert = \"tls/cert.pem\"\nkey = \"../private/key.pem\"\n"
     "[auth]\npasswd = \"./passwd\"\n[mail]\nlocation = \"mail/%u/Maildir\"\n",
     [](const Config& c) {
       EXPECT_EQ(c.data_dir, "/etc/mailport/state");
       EXPECT_EQ(c.tls.cert, "/etc/mailport/tls/cert.pem");
       EXPECT_EQ(c.tls.key, "/etc/private/key.pem");
       EXPECT_EQ(c.auth.passwd, "/etc/mailport/passwd");
       EXPECT_EQ(c.mail.location, "/etc/mailport/mail/%u/Maildir");
     }},
    {"MaildirPrefixIsKeptInFrontOfTheResolvedPath", "[mail]\nlocation = \"maildir:mail/%u\"\n",
     [](const Config& c) { EXPECT_EQ(c.mail.location, "maildir:/etc/mailport/mail/%u"); }},
    {"MaildirPrefixWithHome", "[mail]\nlocation = \"maildir:%h/Maildir\"\n",
     [](const Config& c) { EXPECT_EQ(c.mail.location, "maildir:%h/Maildir"); }},
    {"HomeRelativeLocationStaysATemplate", "[mail]\nlocation = \"%h/Maildir\"\n",
     [](const Config& c) { EXPECT_EQ(c.mail.location, "%h/Maildir"); }},
    {"MetricsOffAndTextLogsByDefault", "",
     [](const Config& c) {
       EXPECT_EQ(c.metrics.listen, std::nullopt);
       EXPECT_EQ(c.log_format, "text");
     }},
    {"MetricsBarePortStaysOnLoopback", "[metrics]\nlisten = \"9100\"\n",
     [](const Config& c) {
       EXPECT_EQ(c.metrics.listen, (Endpoint{"127.0.0.1", 9100}));
     }},
    {"MetricsAddressAndPort", "[metrics]\nlisten = \"[::1]:9101\"\n",
     [](const Config& c) {
       EXPECT_EQ(c.metrics.listen, (Endpoint{"::1", 9101}));
     }},
    {"JsonLogs", "log_format = \"json\"\n",
     [](const Config& c) { EXPECT_EQ(c.log_format, "json"); }},
    {"PostgresPoolSizeDefault", "", [](const Config& c) { EXPECT_EQ(c.postgres.pool_size, 64u); }},
    {"PostgresPoolSize", "[postgres]\npool_size = 8\n",
     [](const Config& c) { EXPECT_EQ(c.postgres.pool_size, 8u); }},
};

INSTANTIATE_TEST_SUITE_P(Cases, LoadGood, ::testing::ValuesIn(kGoodCases),
                         [](const auto& info) { return std::string(info.param.name); });

struct BadCase {
  const char* name;
  const char* toml;
  unsigned line;
  const char* key;
  const char* message_part;
};

class LoadBad : public ::testing::TestWithParam<BadCase> {};

TEST_P(LoadBad, PointsAtTheLineAndKey) {
  const BadCase& c = GetParam();
  try {
    load_string(c.toml, kOrigin);
    FAIL() << "accepted:\n" << c.toml;
  } catch (const ConfigError& e) {
    EXPECT_EQ(e.file(), kOrigin);
    EXPECT_EQ(e.line(), c.line) << e.what();
    EXPECT_EQ(e.key(), c.key) << e.what();
    EXPECT_NE(std::string(e.what()).find(c.message_part), std::string::npos) << e.what();
  }
}

const BadCase kBadCases[] = {
    {"LogFormatUnknown", "threads = 1\nlog_format = \"xml\"\n", 2, "log_format",
     "\"xml\" is not one of \"text\" or \"json\""},
    {"MetricsHostName", "[metrics]\nlisten = \"localhost:9100\"\n", 2, "metrics.listen",
     "not a numeric IPv4 address"},
    {"MetricsPortTooLarge", "[metrics]\n\nlisten = \"70000\"\n", 3, "metrics.listen",
     "not a number from 0 to 65535"},
    {"SyntaxError", "threads = 1\nlog_level = = \"info\"\n", 2, "", ""},
    {"UnterminatedString", "[session]\ngreeting = \"hello\n", 2, "", ""},
    {"DuplicateKey", "threads = 1\nthreads = 2\n", 2, "", ""},
    {"UnknownTopLevelKey", "threads = 1\nthread = 2\n", 2, "thread", "unknown key"},
    {"UnknownNestedKey", "[auth]\napop = true\nmax_attempt = 3\n", 3, "auth.max_attempt",
     "unknown key (known here: passwd, passdb, plaintext_auth"},
    {"UnknownTable", "[listen]\npop3 = \"off\"\n[smtp]\nport = 25\n", 3, "smtp", "unknown key"},
    {"UnknownDottedKey", "auth.passwd_file = \"x\"\n", 1, "auth.passwd_file", "unknown key"},
    {"FirstUnknownInFileOrder", "[mail]\nzz = 1\naa = 2\n", 2, "mail.zz", "unknown key"},
    {"TableExpected", "threads = 1\nlisten = \"off\"\n", 2, "listen",
     "expected a table, not a string"},
    {"ArrayOfTables", "[[listen]]\npop3 = \"off\"\n", 1, "listen",
     "expected a table, not an array"},
    {"EndpointNotAString", "[listen]\npop3 = 110\n", 2, "listen.pop3",
     "expected a string, not an integer"},
    {"EndpointHostName", "[listen]\npop3 = \"off\"\npop3s = \"localhost:995\"\n", 3, "listen.pop3s",
     "not a numeric IPv4 address"},
    {"EndpointPortTooLarge", "[listen]\npop3 = \"127.0.0.1:65536\"\n", 2, "listen.pop3",
     "not a number from 0 to 65535"},
    {"EndpointIpv6WithoutBrackets", "[listen]\n\npop3 = \"::1:110\"\n", 3, "listen.pop3",
     "brackets"},
    {"NegativeIntegerDuration", "[auth]\nfailure_delay = -1\n", 2, "auth.failure_delay",
     "must not be negative"},
    {"NegativeStringDuration", "[auth]\nfailure_delay = \"-2s\"\n", 2, "auth.failure_delay",
     "must not be negative"},
    {"DurationWithoutUnit", "[mail]\nlock_timeout = \"5\"\n", 2, "mail.lock_timeout",
     "not a duration"},
    {"DurationAsFloat", "[mail]\nlock_timeout = 1.5\n", 2, "mail.lock_timeout",
     "expected a duration such as \"2s\" or a number of seconds, not a float"},
    {"DurationTooLong", "[mail]\nlock_timeout = 100000000\n", 2, "mail.lock_timeout",
     "longer than 365 days"},
    {"FractionalSeconds", "[session]\nprelogin_timeout = \"1500ms\"\n", 2,
     "session.prelogin_timeout", "whole number of seconds"},
    {"UnknownPlaintextPolicy", "[auth]\nplaintext_auth = \"sometimes\"\n", 2, "auth.plaintext_auth",
     "\"sometimes\" is not one of \"never\", \"loopback\" or \"always\""},
    {"UnknownLogLevel", "log_level = \"verbose\"\n", 1, "log_level", "is not one of"},
    {"UnknownTlsVersion", "[tls]\nmin_version = \"TLSv1.1\"\n", 2, "tls.min_version",
     "is not one of \"TLSv1.2\" or \"TLSv1.3\""},
    {"NegativeThreads", "threads = -1\n", 1, "threads", "out of range (0 to 1024)"},
    {"TooManyThreads", "threads = 5000\n", 1, "threads", "out of range"},
    {"BooleanAsString", "[auth]\napop = \"yes\"\n", 2, "auth.apop",
     "expected true or false, not a string"},
    {"GreetingWithLineBreak", "[session]\ngreeting = \"hi\\r\\n+OK fake\"\n", 2, "session.greeting",
     "printable ASCII"},
    {"ChurnPercentOver100", "[mail]\nuidl_churn_percent = 101\n", 2, "mail.uidl_churn_percent",
     "out of range (0 to 100)"},
    {"HintWithLineBreak", "[session]\nplaintext_refusal_hint = \"a\\r\\n+OK\"\n", 2,
     "session.plaintext_refusal_hint", "printable ASCII"},
    {"ImplementationTooLong",
     "[session]\nimplementation = "
     "\"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
     "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
     "xxxxxxxxxxxxxxxxxxxxxxxxxxx\"\n",
     2, "session.implementation", "too long"},
    {"ExpireWord", "[mail]\nexpire = \"sometimes\"\n", 2, "mail.expire",
     "neither \"NEVER\" nor a number of days"},
    {"ExpireNegative", "[mail]\nexpire = -3\n", 2, "mail.expire", "out of range"},
    {"EmptyPath", "[tls]\ncert = \"\"\n", 2, "tls.cert", "empty path"},
    {"EmptyMaildirTemplate", "[mail]\nlocation = \"maildir:\"\n", 2, "mail.location",
     "empty maildir template"},
    {"NegativeCount", "[session]\nmax_bad_commands = -2\n", 2, "session.max_bad_commands",
     "out of range"},
    {"TrustedNetworkNotAnAddress", "[auth]\n\ntrusted_networks = [\"10.0.0.0/8\", \"lan\"]\n", 3,
     "auth.trusted_networks", "not a numeric IP address"},
    {"TrustedNetworkBadPrefix", "[auth]\ntrusted_networks = [\"10.0.0.0/33\"]\n", 2,
     "auth.trusted_networks", "bad prefix length"},
    {"ProxyTrustedNotAnAddress", "[listen]\nproxy_trusted = [\"haproxy.lan\"]\n", 2,
     "listen.proxy_trusted", "not a numeric IP address"},
    {"TrustedNetworksNotAnArray", "[auth]\ntrusted_networks = \"10.0.0.0/8\"\n", 2,
     "auth.trusted_networks", "expected an array"},
    {"UnknownClientWorkaround", "[session]\nclient_workarounds = [\"tb-eoh\"]\n", 2,
     "session.client_workarounds", "is not one of"},
    {"UnknownLimitsKey", "[limits]\nmax_conections = 5\n", 2, "limits.max_conections", ""},
    {"PassdbNotPostgres", "[auth]\npassdb = \"ldap://x\"\n", 2, "auth.passdb",
     "expected \"postgres:CONNINFO\""},
    {"PassdbEmptyConninfo", "[auth]\npassdb = \"postgres:\"\n", 2, "auth.passdb",
     "expected \"postgres:CONNINFO\""},
    {"PostgresLocationEmpty", "[mail]\nlocation = \"postgres:\"\n", 2, "mail.location",
     "empty PostgreSQL connection string"},
    {"PoolSizeZero", "[postgres]\n\npool_size = 0\n", 3, "postgres.pool_size",
     "0 is out of range (1 to 10000)"},
    {"PoolSizeHuge", "[postgres]\npool_size = 100000\n", 2, "postgres.pool_size",
     "100000 is out of range (1 to 10000)"},
    {"PoolSizeNotANumber", "[postgres]\npool_size = \"64\"\n", 2, "postgres.pool_size",
     "expected an integer"},
    {"UnknownPostgresKey", "[postgres]\nmax_connections = 5\n", 2, "postgres.max_connections", ""},
};

INSTANTIATE_TEST_SUITE_P(Cases, LoadBad, ::testing::ValuesIn(kBadCases),
                         [](const auto& info) { return std::string(info.param.name); });

TEST(LoadError, WhatIsFileLineKeyMessage) {
  try {
    load_string("\n[auth]\napop = 1\n", "x.toml");
    FAIL();
  } catch (const ConfigError& e) {
    EXPECT_STREQ(e.what(), "x.toml:3: auth.apop: expected true or false, not an integer");
  }
}

TEST(LoadFile, ResolvesRelativePathsAgainstTheFilesDirectory) {
  const TempDir dir;
  write_file(dir / "etc/mailport.toml",
             "[tls]\ncert = \"cert.pem\"\n[auth]\npasswd = \"../passwd\"\n"
             "[mail]\nlocation = \"mail/%u\"\n");
  const Config config = load_file(dir / "etc/mailport.toml");
  EXPECT_EQ(config.source, (dir / "etc/mailport.toml").string());
  EXPECT_EQ(config.tls.cert, dir / "etc/cert.pem");
  EXPECT_EQ(config.auth.passwd, dir / "passwd");
  EXPECT_EQ(config.mail.location, (dir / "etc/mail/%u").string());
}

TEST(LoadFile, PostgresLocationAndPassdbAreKeptVerbatim) {
  const TempDir dir;
  write_file(dir / "etc/mailport.toml",
             "[auth]\npassdb = \"postgres:host=db1 dbname=mail\"\n"
             "[mail]\nlocation = \"postgres:postgresql://mp@db1/mail\"\n");
  const Config config = load_file(dir / "etc/mailport.toml");
  EXPECT_EQ(config.auth.passdb, "postgres:host=db1 dbname=mail");
  EXPECT_EQ(config.mail.location, "postgres:postgresql://mp@db1/mail");
}

TEST(LoadFile, ErrorsNameTheFileAsGiven) {
  const TempDir dir;
  write_file(dir / "bad.toml", "[listen]\npop3 = \"nowhere\"\n");
  try {
    load_file(dir / "bad.toml");
    FAIL();
  } catch (const ConfigError& e) {
    EXPECT_EQ(e.file(), (dir / "bad.toml").string());
    EXPECT_EQ(e.line(), 2u);
    EXPECT_EQ(e.key(), "listen.pop3");
  }
}

TEST(LoadFile, MissingFileIsAConfigErrorWithoutLine) {
  const TempDir dir;
  try {
    load_file(dir / "absent.toml");
    FAIL();
  } catch (const ConfigError& e) {
    EXPECT_EQ(e.line(), 0u);
    EXPECT_EQ(e.key(), "");
    EXPECT_EQ(std::string(e.what()),
              (dir / "absent.toml").string() + ": cannot read: No such file or directory");
  }
}

TEST(LoadFile, DirectoryIsRefused) {
  const TempDir dir;
  EXPECT_THROW(load_file(dir.path()), ConfigError);
}

TEST(EmbeddedDefault, IsSelfContainedUnderDataDir) {
  const Config c = embedded_default("/tmp/mp-home");
  EXPECT_TRUE(c.embedded_default);
  EXPECT_EQ(c.data_dir, "/tmp/mp-home");
  EXPECT_EQ(c.listen.pop3, (Endpoint{"127.0.0.1", 110}));
  EXPECT_EQ(c.listen.pop3s, (Endpoint{"127.0.0.1", 995}));
  EXPECT_EQ(c.listen.pop3_fallback_port, 1110);
  EXPECT_EQ(c.listen.pop3s_fallback_port, 1995);
  EXPECT_EQ(c.tls.cert, "/tmp/mp-home/tls/cert.pem");
  EXPECT_EQ(c.tls.key, "/tmp/mp-home/tls/key.pem");
  EXPECT_EQ(c.auth.passwd, "/tmp/mp-home/passwd");
  EXPECT_EQ(c.mail.location, "/tmp/mp-home/mail/%u/Maildir");
  EXPECT_EQ(c.auth.plaintext_auth, PlaintextAuth::never);
}

TEST(EmbeddedDefault, RelativeDataDirGivesAbsolutePaths) {
  const Config c = embedded_default("mailport-data");
  EXPECT_EQ(c.data_dir, "mailport-data");
  EXPECT_TRUE(c.tls.cert.is_absolute());
  EXPECT_TRUE(c.mail.location.starts_with('/'));
  EXPECT_EQ(c.auth.passwd, std::filesystem::current_path() / "mailport-data/passwd");
}

}  // namespace
}  // namespace mailport::config
