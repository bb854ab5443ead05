// The mail-in keys: sizes, LMTP addresses, the [lmtp] table, "mbox:" locations, the loopback rule
// for LMTP over TCP, validate_delivery() and the round trip through to_toml().
#include <gtest/gtest.h>

#include <string>

#include "config/config.hpp"
#include "test_support.hpp"

namespace mailport::config {
namespace {

using test_support::TempDir;
using test_support::write_file;
using testing::write_cert_pair;

constexpr const char* kOrigin = "/etc/mailport/mailport.toml";

std::string error_text(const std::function<void()>& action) {
  try {
    action();
  } catch (const std::exception& e) {
    return e.what();
  }
  return "(no error)";
}

struct SizeCase {
  const char* text;
  std::uint64_t bytes;
  const char* formatted;
};

class SizeParse : public ::testing::TestWithParam<SizeCase> {};

TEST_P(SizeParse, ParsesAndFormatsInTheLargestExactUnit) {
  EXPECT_EQ(parse_size(GetParam().text), GetParam().bytes);
  EXPECT_EQ(format_size(GetParam().bytes), GetParam().formatted);
}

INSTANTIATE_TEST_SUITE_P(Good, SizeParse,
                         ::testing::Values(SizeCase{"0", 0, "0"}, SizeCase{"1000", 1000, "1000"},
                                           SizeCase{"1024", 1024, "1K"},
                                           SizeCase{"512K", 512 * 1024, "512K"},
                                           SizeCase{"2048K", 2 << 20, "2M"},
                                           SizeCase{"50M", 50ull << 20, "50M"},
                                           SizeCase{"1G", 1ull << 30, "1G"}));

TEST(SizeParse, RejectsWhatIsNotASize) {
  for (const char* text : {"", "M", "5 M", "-1", "1.5M", "5m", "5MB", "0x10", "1KM"}) {
    EXPECT_NE(error_text([&] { parse_size(text); }).find("is not a size"), std::string::npos)
        << text;
  }
  EXPECT_NE(error_text([] { parse_size("99999999999999999999"); }).find("too large"),
            std::string::npos);
  EXPECT_NE(error_text([] { parse_size("17179869184G"); }).find("too large"), std::string::npos);
}

TEST(LmtpAddressParse, UnixTcpAndOff) {
  EXPECT_EQ(parse_lmtp_address("off"), std::nullopt);
  const auto socket = parse_lmtp_address("unix:/run/mailport//lmtp");
  ASSERT_TRUE(socket);
  EXPECT_EQ(socket->unix_path, "/run/mailport/lmtp");
  EXPECT_FALSE(socket->tcp);
  EXPECT_EQ(format_lmtp_address(*socket), "unix:/run/mailport/lmtp");
  const auto tcp = parse_lmtp_address("[::1]:24");
  ASSERT_TRUE(tcp);
  EXPECT_EQ(tcp->tcp, (Endpoint{"::1", 24}));
  EXPECT_TRUE(tcp->unix_path.empty());
  EXPECT_EQ(format_lmtp_address(*tcp), "[::1]:24");
}

TEST(LmtpAddressParse, RejectsRelativeAndOverlongSocketPaths) {
  EXPECT_NE(error_text([] { parse_lmtp_address("unix:"); }).find("absolute path"),
            std::string::npos);
  EXPECT_NE(error_text([] { parse_lmtp_address("unix:run/lmtp"); }).find("absolute path"),
            std::string::npos);
  const std::string long_path = "unix:/" + std::string(107, 'x');
  EXPECT_NE(error_text([&] { parse_lmtp_address(long_path); }).find("at most 107 octets"),
            std::string::npos);
  EXPECT_NE(error_text([] { parse_lmtp_address("localhost:24"); }).find("numeric"),
            std::string::npos);
}

TEST(LoadLmtp, DefaultsAreOffWithFiftyMegabytes) {
  const Config config = load_string("", kOrigin);
  EXPECT_TRUE(config.lmtp.listen.empty());
  EXPECT_EQ(config.lmtp.max_message_size, 50ull << 20);
  EXPECT_EQ(config.lmtp.socket_mode, 0666u);
  EXPECT_EQ(config.lmtp.max_recipients, 1000u);
  EXPECT_EQ(config.lmtp.recipient_delimiter, "");
}

TEST(LoadLmtp, EveryKey) {
  const Config config = load_string(
      "[lmtp]\nlisten = [\"unix:sockets/lmtp\", \"127.0.0.1:2424\"]\nmax_message_size = \"20M\"\n"
      "socket_mode = 0o660\nmax_recipients = 50\nrecipient_delimiter = \"+\"\n",
      kOrigin);
  ASSERT_EQ(config.lmtp.listen.size(), 2u);
  EXPECT_EQ(config.lmtp.listen[0].unix_path, "/etc/mailport/sockets/lmtp");
  EXPECT_EQ(config.lmtp.listen[1].tcp, (Endpoint{"127.0.0.1", 2424}));
  EXPECT_EQ(config.lmtp.max_message_size, 20ull << 20);
  EXPECT_EQ(config.lmtp.socket_mode, 0660u);
  EXPECT_EQ(config.lmtp.max_recipients, 50u);
  EXPECT_EQ(config.lmtp.recipient_delimiter, "+");
  EXPECT_EQ(config.lines.at("lmtp.socket_mode"), 4u);
}

TEST(LoadLmtp, SingleStringAndOff) {
  EXPECT_EQ(load_string("[lmtp]\nlisten = \"unix:/run/lmtp\"\n", kOrigin).lmtp.listen.size(), 1u);
  EXPECT_TRUE(load_string("[lmtp]\nlisten = \"off\"\n", kOrigin).lmtp.listen.empty());
  EXPECT_TRUE(load_string("[lmtp]\nlisten = []\n", kOrigin).lmtp.listen.empty());
  EXPECT_EQ(load_string("[lmtp]\nmax_message_size = 4096\n", kOrigin).lmtp.max_message_size, 4096u);
}

struct BadLmtp {
  const char* name;
  const char* toml;
  const char* key;
  const char* message_part;
};

class LoadLmtpBad : public ::testing::TestWithParam<BadLmtp> {};

TEST_P(LoadLmtpBad, PointsAtTheKey) {
  try {
    load_string(GetParam().toml, kOrigin);
    FAIL() << "accepted:\n" << GetParam().toml;
  } catch (const ConfigError& e) {
    EXPECT_EQ(e.line(), 2u) << e.what();
    EXPECT_EQ(e.key(), GetParam().key) << e.what();
    EXPECT_NE(std::string(e.what()).find(GetParam().message_part), std::string::npos) << e.what();
  }
}

INSTANTIATE_TEST_SUITE_P(
    Cases, LoadLmtpBad,
    ::testing::Values(
        BadLmtp{"ListenNumber", "[lmtp]\nlisten = 24\n", "lmtp.listen",
                "expected a string or an array of strings, not an integer"},
        BadLmtp{"OffInsideArray", "[lmtp]\nlisten = [\"off\"]\n", "lmtp.listen",
                "cannot be one of several"},
        BadLmtp{"Twice", "[lmtp]\nlisten = [\"127.0.0.1:24\", \"127.0.0.1:24\"]\n", "lmtp.listen",
                "listed twice"},
        BadLmtp{"HostName", "[lmtp]\nlisten = \"localhost:24\"\n", "lmtp.listen", "numeric"},
        BadLmtp{"SizeWord", "[lmtp]\nmax_message_size = \"big\"\n", "lmtp.max_message_size",
                "is not a size"},
        BadLmtp{"NegativeSize", "[lmtp]\nmax_message_size = -1\n", "lmtp.max_message_size",
                "must not be negative"},
        BadLmtp{"DecimalMode", "[lmtp]\nsocket_mode = 660\n", "lmtp.socket_mode",
                "write it in octal"},
        BadLmtp{"ModeAsString", "[lmtp]\nsocket_mode = \"0660\"\n", "lmtp.socket_mode",
                "expected an octal integer such as 0o660, not a string"},
        BadLmtp{"UnknownKey", "[lmtp]\nport = 24\n", "lmtp.port", "unknown key"},
        BadLmtp{"EmptyMbox", "[mail]\nlocation = \"mbox:\"\n", "mail.location",
                "empty mbox template"}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(LoadMbox, PrefixStaysInFrontOfTheResolvedPath) {
  EXPECT_EQ(load_string("[mail]\nlocation = \"mbox:spool/%u\"\n", kOrigin).mail.location,
            "mbox:/etc/mailport/spool/%u");
  EXPECT_EQ(load_string("[mail]\nlocation = \"mbox:%h/mbox\"\n", kOrigin).mail.location,
            "mbox:%h/mbox");
}

class ValidateLmtp : public ::testing::Test {
 protected:
  void SetUp() override {
    write_cert_pair(dir_ / "cert.pem", dir_ / "key.pem");
    write_file(dir_ / "passwd", "alice:{PLAIN}x::::::\n");
  }

  Config load(const std::string& extra) const {
    write_file(dir_ / "mailport.toml",
               "[tls]\ncert = \"cert.pem\"\nkey = \"key.pem\"\n[auth]\npasswd = \"passwd\"\n"
               "[mail]\nlocation = \"mbox:/var/mail/%u\"\n" +
                   extra);
    return load_file(dir_ / "mailport.toml");
  }

  static std::string key_of_error(const Config& config) {
    try {
      validate(config);
    } catch (const ConfigError& e) {
      return e.key() + ": " + e.what();
    }
    return "(valid)";
  }

  TempDir dir_;
};

TEST_F(ValidateLmtp, AcceptsLoopbackAndSockets) {
  EXPECT_EQ(key_of_error(load("[lmtp]\nlisten = [\"unix:/run/mailport/lmtp\", \"127.0.0.1:24\", "
                              "\"127.8.9.10:2424\", \"[::1]:24\"]\n")),
            "(valid)");
}

TEST_F(ValidateLmtp, RefusesAddressesOtherHostsCanReach) {
  for (const char* address : {"0.0.0.0:24", "192.0.2.1:24", "[::]:24", "[::ffff:127.0.0.1]:24"}) {
    const std::string error =
        key_of_error(load(std::string("[lmtp]\nlisten = \"") + address + "\"\n"));
    EXPECT_EQ(error.rfind("lmtp.listen: ", 0), 0u) << error;
    EXPECT_NE(error.find(":9: lmtp.listen"), std::string::npos) << error;
    EXPECT_NE(error.find("not a loopback address"), std::string::npos) << error;
  }
}

TEST_F(ValidateLmtp, RefusesAPop3Endpoint) {
  const std::string error = key_of_error(
      load("[listen]\npop3 = \"127.0.0.1:1110\"\n[lmtp]\nlisten = \"127.0.0.1:1110\"\n"));
  EXPECT_NE(error.find("already a POP3 listener"), std::string::npos) << error;
}

TEST_F(ValidateLmtp, ChecksLimitsSetWithoutTheLoader) {
  Config config = load("");
  config.lmtp.max_message_size = 1000;
  EXPECT_NE(key_of_error(config).find("lmtp.max_message_size: "), std::string::npos);
  EXPECT_NE(key_of_error(config).find("1000 is out of range (1K to 1G)"), std::string::npos);
  config = load("");
  config.lmtp.max_message_size = (1ull << 30) + 1;
  EXPECT_NE(key_of_error(config).find("out of range"), std::string::npos);
  config = load("");
  config.lmtp.socket_mode = 01777;
  EXPECT_NE(key_of_error(config).find("0o1777 is not a file mode"), std::string::npos);
  config = load("");
  config.lmtp.max_recipients = 0;
  EXPECT_NE(key_of_error(config).find("lmtp.max_recipients: "), std::string::npos);
}

TEST_F(ValidateLmtp, RecipientDelimiterIsPunctuation) {
  for (const char* good : {"+", "+-", "_"}) {
    Config config = load("");
    config.lmtp.recipient_delimiter = good;
    EXPECT_EQ(key_of_error(config), "(valid)") << good;
  }
  for (const char* bad : {"@", "a", "1", " ", "+ ", "\"", "\\", "\xc3\xa9"}) {
    Config config = load("");
    config.lmtp.recipient_delimiter = bad;
    EXPECT_NE(key_of_error(config).find("lmtp.recipient_delimiter: "), std::string::npos) << bad;
  }
}

TEST_F(ValidateLmtp, MboxLocationFollowsTheTemplateRules) {
  Config config = load("");
  EXPECT_EQ(key_of_error(config), "(valid)");
  config.mail.location = "mbox:%h/mbox";
  EXPECT_EQ(key_of_error(config), "(valid)");
  config.mail.location = "mbox:/var/mail/spool";
  EXPECT_NE(key_of_error(config).find("every user the same"), std::string::npos);
  config.mail.location = "mbox:var/mail/%u";
  EXPECT_NE(key_of_error(config).find("must be an absolute path"), std::string::npos);
}

TEST_F(ValidateLmtp, DeliveryIgnoresListenersAndTls) {
  Config config = load("");
  config.listen.pop3.reset();
  config.listen.pop3s.reset();
  config.tls.cert = dir_ / "absent.pem";
  config.lmtp.listen.push_back({{}, Endpoint{"0.0.0.0", 24}});
  EXPECT_THROW(validate(config), ConfigError);
  EXPECT_NO_THROW(validate_delivery(config));
}

TEST_F(ValidateLmtp, DeliveryNeedsPasswdLocationAndSaneLimits) {
  Config config = load("");
  config.auth.passwd = dir_ / "absent";
  EXPECT_THROW(validate_delivery(config), ConfigError);
  config = load("");
  config.mail.location = "/srv/mail";
  EXPECT_THROW(validate_delivery(config), ConfigError);
  config = load("");
  config.lmtp.max_message_size = 10;
  EXPECT_THROW(validate_delivery(config), ConfigError);
}

TEST(ToTomlLmtp, RoundTripsAndUsesTheDocumentedSyntax) {
  const Config original = load_string(
      "[lmtp]\nlisten = [\"unix:/run/lmtp\", \"[::1]:24\"]\nmax_message_size = 1048577\n"
      "socket_mode = 0o600\nmax_recipients = 7\nrecipient_delimiter = \"-+\"\n"
      "[mail]\nlocation = \"mbox:/var/mail/%u\"\n",
      kOrigin);
  const std::string text = to_toml(original);
  EXPECT_NE(text.find("\n[lmtp]\nlisten = [ \"unix:/run/lmtp\", \"[::1]:24\" ]\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("max_message_size = \"1048577\"\n"), std::string::npos) << text;
  EXPECT_NE(text.find("socket_mode = 0o600\n"), std::string::npos) << text;
  EXPECT_NE(text.find("location = \"mbox:/var/mail/%u\"\n"), std::string::npos) << text;
  const Config reloaded = load_string(text, "/elsewhere/copy.toml");
  EXPECT_EQ(reloaded.lmtp, original.lmtp);
  EXPECT_EQ(reloaded.mail, original.mail);
}

TEST(ToTomlLmtp, DefaultsRoundTrip) {
  const Config original = load_string("", kOrigin);
  const std::string text = to_toml(original);
  EXPECT_NE(text.find("\n[lmtp]\nlisten = \"off\"\nmax_message_size = \"50M\"\n"),
            std::string::npos)
      << text;
  EXPECT_EQ(load_string(text, "/copy.toml").lmtp, original.lmtp);
}

}  // namespace
}  // namespace mailport::config
