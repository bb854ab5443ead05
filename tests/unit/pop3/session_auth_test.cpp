// Logging in: USER/PASS, APOP, AUTH (RFC 5034), the plaintext policy and what CAPA advertises.
#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <variant>

#include "sasl/base64.hpp"
#include "session_driver.hpp"

namespace mailport::pop3::testing {
namespace {

using namespace std::string_literals;

Driver started(Options options = default_options(), FakeBackend backend = default_backend()) {
  Driver driver(std::move(options), std::move(backend));
  driver.start();
  return driver;
}

std::string b64(const std::string& bytes) {
  return sasl::encode_base64(bytes);
}

TEST(Greeting, PlainAndWithApopTimestamp) {
  Driver plain;
  EXPECT_EQ(plain.start(), "+OK mailport ready.\r\n");
  Options options = default_options();
  options.apop_enabled = true;
  options.apop_timestamp = "<1896.697170952@dbc.mtview.ca.us>";
  options.greeting = "POP3 server ready";
  Driver apop(options);
  EXPECT_EQ(apop.start(), "+OK POP3 server ready <1896.697170952@dbc.mtview.ca.us>\r\n");
}

TEST(Greeting, LongConfiguredTextStaysWithin512Octets) {
  Options options = default_options();
  options.greeting = std::string(1000, 'g');
  Driver driver(options);
  EXPECT_EQ(driver.start().size(), 512U);
}

TEST(UserPass, PasswordIsTheRestOfTheLine) {
  auto driver = started();
  driver.backend().passwords["bob"] = " two  spaces ";
  EXPECT_EQ(driver.send("USER bob\r\nPASS  two  spaces \r\n"),
            "+OK Send PASS.\r\n+OK Logged in.\r\n");
  ASSERT_EQ(driver.logins().size(), 1U);
  const auto& request = driver.logins()[0];
  EXPECT_EQ(request.mechanism, Mechanism::user_pass);
  EXPECT_EQ(request.user, "bob");
  EXPECT_EQ(request.secret, " two  spaces ");
  EXPECT_EQ(driver.session().user(), "bob");
}

TEST(UserPass, FailedPassNeedsUserAgain) {
  auto driver = started();
  EXPECT_EQ(driver.send("USER alice\r\nPASS wrong\r\nPASS open sesame\r\n"),
            "+OK Send PASS.\r\n-ERR [AUTH] Authentication failed.\r\n-ERR Send USER first.\r\n");
  EXPECT_EQ(driver.session().user(), "");
}

TEST(UserPass, UnknownUserAndWrongPasswordLookTheSame) {
  auto unknown = started();
  auto wrong = started();
  EXPECT_EQ(unknown.send("USER mallory\r\nPASS open sesame\r\n"),
            wrong.send("USER alice\r\nPASS guess\r\n"));
}

struct StatusCase {
  LoginStatus status;
  std::string_view response;
};

class LoginStatusCodes : public ::testing::TestWithParam<StatusCase> {};

TEST_P(LoginStatusCodes, MapToRfc3206Codes) {
  FakeBackend backend = default_backend();
  backend.forced_login_status = GetParam().status;
  auto driver = started(default_options(), backend);
  EXPECT_EQ(driver.send("USER alice\r\nPASS open sesame\r\n"),
            "+OK Send PASS.\r\n" + std::string(GetParam().response));
  EXPECT_FALSE(driver.closed());
  EXPECT_EQ(driver.session().state(),
            GetParam().status == LoginStatus::ok ? State::transaction : State::authorization);
}

INSTANTIATE_TEST_SUITE_P(
    All, LoginStatusCodes,
    ::testing::Values(
        StatusCase{LoginStatus::ok, "+OK Logged in.\r\n"},
        StatusCase{LoginStatus::bad_credentials, "-ERR [AUTH] Authentication failed.\r\n"},
        StatusCase{LoginStatus::in_use, "-ERR [IN-USE] Maildrop is in use by another session.\r\n"},
        StatusCase{LoginStatus::login_delay,
                   "-ERR [LOGIN-DELAY] Logged in too recently; try again later.\r\n"},
        StatusCase{LoginStatus::temporary_failure,
                   "-ERR [SYS/TEMP] Temporary server failure; try again later.\r\n"},
        StatusCase{LoginStatus::permanent_failure,
                   "-ERR [SYS/PERM] Cannot log in; contact the administrator.\r\n"}));

TEST(AuthAttempts, ClosesAfterTheLimit) {
  Options options = default_options();
  options.limits.max_auth_attempts = 2;
  auto driver = started(options);
  EXPECT_EQ(driver.send("USER alice\r\nPASS a\r\n"),
            "+OK Send PASS.\r\n-ERR [AUTH] Authentication failed.\r\n");
  EXPECT_FALSE(driver.closed());
  EXPECT_EQ(driver.send("AUTH PLAIN " + b64("\0alice\0b"s) + "\r\nUSER alice\r\n"),
            "-ERR [AUTH] Authentication failed.\r\n");
  EXPECT_TRUE(driver.closed());
  EXPECT_EQ(driver.logins().size(), 2U);
}

TEST(AuthAttempts, MalformedSaslMessagesCount) {
  Options options = default_options();
  options.limits.max_auth_attempts = 2;
  auto driver = started(options);
  EXPECT_EQ(driver.send("AUTH PLAIN =\r\n"), "-ERR Malformed PLAIN response.\r\n");
  EXPECT_EQ(driver.send("AUTH PLAIN " + b64("alice") + "\r\nNOOP\r\n"),
            "-ERR Malformed PLAIN response.\r\n");
  EXPECT_TRUE(driver.closed());
  EXPECT_TRUE(driver.logins().empty());
}

TEST(Apop, EnabledLogsInWithTheDigest) {
  Options options = default_options();
  options.apop_enabled = true;
  options.apop_timestamp = "<1896.697170952@dbc.mtview.ca.us>";
  options.plaintext_auth_allowed = false;  // APOP does not send the password
  FakeBackend backend = default_backend();
  backend.apop_digests["mrose"] = "c4c9334bac560ecc979e58001b3e22fb";
  auto driver = started(options, backend);
  EXPECT_EQ(driver.send("APOP mrose C4C9334BAC560ECC979E58001B3E22FB\r\n"), "+OK Logged in.\r\n");
  ASSERT_EQ(driver.logins().size(), 1U);
  EXPECT_EQ(driver.logins()[0].mechanism, Mechanism::apop);
  EXPECT_EQ(driver.logins()[0].user, "mrose");
  EXPECT_EQ(driver.logins()[0].secret, "c4c9334bac560ecc979e58001b3e22fb");
  EXPECT_EQ(driver.logins()[0].apop_timestamp, "<1896.697170952@dbc.mtview.ca.us>");
}

TEST(Apop, MalformedDigestOrArguments) {
  Options options = default_options();
  options.apop_enabled = true;
  options.apop_timestamp = "<1.2@host>";
  auto driver = started(options);
  EXPECT_EQ(driver.send("APOP mrose c4c9\r\n"), "-ERR Invalid APOP digest.\r\n");
  EXPECT_EQ(driver.send("APOP mrose zzc9334bac560ecc979e58001b3e22fb\r\n"),
            "-ERR Invalid APOP digest.\r\n");
  EXPECT_EQ(driver.send("APOP mrose\r\n"), "-ERR Syntax: APOP name digest\r\n");
  EXPECT_TRUE(driver.logins().empty());
}

TEST(PlaintextPolicy, RefusesUserPassAndPlaintextSasl) {
  Options options = default_options();
  options.plaintext_auth_allowed = false;
  auto driver = started(options);
  const std::string refusal =
      "-ERR [AUTH] Plaintext authentication disallowed on non-secure connections; use STLS "
      "first.\r\n";
  EXPECT_EQ(driver.send("USER alice\r\n"), refusal);
  EXPECT_EQ(driver.send("PASS open sesame\r\n"), refusal);
  EXPECT_EQ(driver.send("AUTH PLAIN " + b64("\0alice\0open sesame"s) + "\r\n"), refusal);
  EXPECT_EQ(driver.send("AUTH LOGIN\r\n"), refusal);
  EXPECT_EQ(driver.send("AUTH\r\n"), "+OK Supported mechanisms follow.\r\n.\r\n");
  EXPECT_TRUE(driver.logins().empty());
  // After STLS the same commands work.
  driver.send("STLS\r\n");
  EXPECT_EQ(driver.send("USER alice\r\nPASS open sesame\r\n"),
            "+OK Send PASS.\r\n+OK Logged in.\r\n");
}

TEST(PlaintextPolicy, WithoutStlsTheRefusalPointsToTls) {
  Options options = default_options();
  options.plaintext_auth_allowed = false;
  options.stls_offered = false;
  auto driver = started(options);
  EXPECT_EQ(driver.send("USER alice\r\n"),
            "-ERR [AUTH] Plaintext authentication disallowed on non-secure connections; connect "
            "with TLS.\r\n");
}

TEST(PlaintextPolicy, TheConfiguredHintFollowsTheRefusal) {
  Options options = default_options();
  options.plaintext_auth_allowed = false;
  options.plaintext_refusal_hint = "Use port 995 with SSL/TLS.";
  auto driver = started(options);
  EXPECT_EQ(driver.send("USER alice\r\n"),
            "-ERR [AUTH] Plaintext authentication disallowed on non-secure connections; use STLS "
            "first. Use port 995 with SSL/TLS.\r\n");
}

TEST(PlaintextPolicy, ImplicitTlsAllowsEverything) {
  Options options = default_options();
  options.plaintext_auth_allowed = false;
  options.tls_active = true;
  options.stls_offered = false;
  auto driver = started(options);
  EXPECT_EQ(driver.login(), "+OK Send PASS.\r\n+OK Logged in.\r\n");
}

struct CapaCase {
  std::string_view name;
  bool tls_active;
  bool stls_offered;
  bool plaintext_allowed;
  bool logged_in;
  std::string_view expected_middle;  // between the fixed head and tail below
  std::string_view user_line;
};

class Capa : public ::testing::TestWithParam<CapaCase> {};

TEST_P(Capa, AdvertisesWhatIsUsable) {
  const auto& c = GetParam();
  Options options = default_options();
  options.tls_active = c.tls_active;
  options.stls_offered = c.stls_offered;
  options.plaintext_auth_allowed = c.plaintext_allowed;
  auto driver = started(options);
  if (c.logged_in) {
    ASSERT_EQ(driver.login(), "+OK Send PASS.\r\n+OK Logged in.\r\n");
  }
  EXPECT_EQ(driver.send("CAPA\r\n"),
            "+OK Capability list follows.\r\n" + std::string(c.user_line) +
                "TOP\r\nUIDL\r\nRESP-CODES\r\nAUTH-RESP-CODE\r\nPIPELINING\r\n" +
                std::string(c.expected_middle) + "UTF8\r\nLANG\r\n.\r\n");
}

INSTANTIATE_TEST_SUITE_P(
    Situations, Capa,
    ::testing::Values(
        CapaCase{"PlainAllowedStls", false, true, true, false, "STLS\r\nSASL PLAIN LOGIN\r\n",
                 "USER\r\n"},
        CapaCase{"PlainRefusedStls", false, true, false, false, "STLS\r\n", ""},
        CapaCase{"PlainRefusedNoStls", false, false, false, false, "", ""},
        CapaCase{"PlainAllowedNoStls", false, false, true, false, "SASL PLAIN LOGIN\r\n",
                 "USER\r\n"},
        CapaCase{"ImplicitTls", true, false, false, false, "SASL PLAIN LOGIN\r\n", "USER\r\n"},
        CapaCase{"AfterLoginNoStls", false, true, true, true, "SASL PLAIN LOGIN\r\n", "USER\r\n"},
        CapaCase{"AfterLoginOverTls", true, false, false, true, "SASL PLAIN LOGIN\r\n",
                 "USER\r\n"}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(Capa, AfterStlsNoLongerOffersStlsButOffersLogins) {
  Options options = default_options();
  options.plaintext_auth_allowed = false;
  auto driver = started(options);
  driver.send("STLS\r\n");
  EXPECT_EQ(driver.send("CAPA\r\n"),
            "+OK Capability list follows.\r\nUSER\r\nTOP\r\nUIDL\r\nRESP-CODES\r\n"
            "AUTH-RESP-CODE\r\nPIPELINING\r\nSASL PLAIN LOGIN\r\nUTF8\r\nLANG\r\n.\r\n");
}

TEST(Capa, OptionalCapabilities) {
  Options options = default_options();
  options.stls_offered = false;
  options.login_delay = std::chrono::seconds(900);
  options.expire = "NEVER";
  options.implementation = "mailport 0.1.0";
  options.sasl_mechanisms = {"login", "CRAM-MD5", "LOGIN"};
  auto driver = started(options);
  EXPECT_EQ(driver.send("CAPA\r\n"),
            "+OK Capability list follows.\r\nUSER\r\nTOP\r\nUIDL\r\nRESP-CODES\r\n"
            "AUTH-RESP-CODE\r\nPIPELINING\r\nSASL LOGIN\r\nEXPIRE NEVER\r\nLOGIN-DELAY 900\r\n"
            "UTF8\r\nLANG\r\nIMPLEMENTATION mailport 0.1.0\r\n.\r\n");
  EXPECT_EQ(driver.send("AUTH PLAIN\r\n"), "-ERR Unsupported authentication mechanism.\r\n");
  EXPECT_EQ(driver.send("AUTH CRAM-MD5\r\n"), "-ERR Unsupported authentication mechanism.\r\n");
}

TEST(Capa, NoSaslLineWithoutMechanisms) {
  Options options = default_options();
  options.sasl_mechanisms.clear();
  auto driver = started(options);
  EXPECT_EQ(driver.send("CAPA\r\n").find("SASL"), std::string::npos);
}

TEST(Capa, LongImplementationIsShortened) {
  Options options = default_options();
  options.implementation = std::string(600, 'i');
  auto driver = started(options);
  const auto out = driver.send("CAPA\r\n");
  const auto start = out.find("IMPLEMENTATION");
  ASSERT_NE(start, std::string::npos);
  EXPECT_EQ(out.find("\r\n", start) + 2 - start, 512U);
}

TEST(Sasl, PlainWithInitialResponse) {
  auto driver = started();
  EXPECT_EQ(driver.send("AUTH PLAIN " + b64("\0alice\0open sesame"s) + "\r\n"),
            "+OK Logged in.\r\n");
  ASSERT_EQ(driver.logins().size(), 1U);
  const auto& request = driver.logins()[0];
  EXPECT_EQ(request.mechanism, Mechanism::sasl);
  EXPECT_EQ(request.sasl_mechanism, "PLAIN");
  EXPECT_EQ(request.authzid, "");
  EXPECT_EQ(request.user, "alice");
  EXPECT_EQ(request.secret, "open sesame");
}

TEST(Sasl, PlainWithChallenge) {
  auto driver = started();
  EXPECT_EQ(driver.send("auth plain\r\n"), "+ \r\n");
  EXPECT_EQ(driver.send(b64("\0alice\0open sesame"s) + "\r\n"), "+OK Logged in.\r\n");
  EXPECT_EQ(driver.logins().at(0).sasl_mechanism, "PLAIN");
}

TEST(Sasl, PlainWithAuthzid) {
  auto driver = started();
  driver.backend().forced_login_status = LoginStatus::ok;
  EXPECT_EQ(driver.send("AUTH PLAIN " + b64("bob\0admin\0pw"s) + "\r\n"), "+OK Logged in.\r\n");
  EXPECT_EQ(driver.logins().at(0).authzid, "bob");
  EXPECT_EQ(driver.logins().at(0).user, "admin");
  EXPECT_EQ(driver.session().user(), "bob");
}

TEST(Sasl, LoginTwoSteps) {
  auto driver = started();
  EXPECT_EQ(driver.send("AUTH LOGIN\r\n"), "+ VXNlcm5hbWU6\r\n");
  EXPECT_EQ(driver.send(b64("alice") + "\r\n"), "+ UGFzc3dvcmQ6\r\n");
  EXPECT_EQ(driver.send(b64("open sesame") + "\r\n"), "+OK Logged in.\r\n");
  EXPECT_EQ(driver.logins().at(0).sasl_mechanism, "LOGIN");
  EXPECT_EQ(driver.logins().at(0).user, "alice");
  EXPECT_EQ(driver.logins().at(0).secret, "open sesame");
}

TEST(Sasl, LoginWithInitialResponse) {
  auto driver = started();
  EXPECT_EQ(driver.send("AUTH LOGIN " + b64("alice") + "\r\n"), "+ UGFzc3dvcmQ6\r\n");
  EXPECT_EQ(driver.send(b64("open sesame") + "\r\n"), "+OK Logged in.\r\n");
}

TEST(Sasl, PipelinedExchange) {
  auto driver = started();
  EXPECT_EQ(
      driver.send("AUTH LOGIN\r\n" + b64("alice") + "\r\n" + b64("open sesame") + "\r\nSTAT\r\n"),
      "+ VXNlcm5hbWU6\r\n+ UGFzc3dvcmQ6\r\n+OK Logged in.\r\n+OK 2 55\r\n");
}

TEST(Sasl, StarCancels) {
  auto driver = started();
  EXPECT_EQ(driver.send("AUTH LOGIN\r\n*\r\n"),
            "+ VXNlcm5hbWU6\r\n-ERR Authentication cancelled.\r\n");
  EXPECT_EQ(driver.send("AUTH PLAIN\r\n*\r\nNOOP\r\n"),
            "+ \r\n-ERR Authentication cancelled.\r\n-ERR Not logged in.\r\n");
  EXPECT_TRUE(driver.logins().empty());
}

TEST(Sasl, BadBase64) {
  auto driver = started();
  EXPECT_EQ(driver.send("AUTH PLAIN AGFsaWNl AHB3\r\n"),
            "-ERR Syntax: AUTH [mechanism [initial-response]]\r\n");
  EXPECT_EQ(driver.send("AUTH PLAIN AGFsaWNlAHB3ZA\r\n"),
            "-ERR Invalid base64 in initial response.\r\n");
  EXPECT_EQ(driver.send("AUTH PLAIN\r\n!!!!\r\n"),
            "+ \r\n-ERR Invalid base64 in SASL response; authentication aborted.\r\n");
  // The exchange is over: the next line is a command again.
  const auto out = driver.send("AUTH LOGIN\r\nYWxpY2U\r\nCAPA\r\n");
  EXPECT_TRUE(out.starts_with(
      "+ VXNlcm5hbWU6\r\n-ERR Invalid base64 in SASL response; authentication aborted.\r\n"
      "+OK Capability list follows.\r\n"))
      << out;
  EXPECT_TRUE(driver.logins().empty());
}

TEST(Sasl, EqualsSignIsAnEmptyInitialResponse) {
  auto driver = started();
  // LOGIN with an empty user name fails; PLAIN's "=" is tested in AuthAttempts.
  EXPECT_EQ(driver.send("AUTH LOGIN =\r\n"), "-ERR Invalid LOGIN user name.\r\n");
}

TEST(Sasl, OversizedResponseIsRefusedAndDiscarded) {
  Options options = default_options();
  options.limits.max_sasl_line = 100;
  auto driver = started(options);
  EXPECT_EQ(driver.send("AUTH PLAIN\r\n"), "+ \r\n");
  EXPECT_EQ(driver.send(std::string(5000, 'A')),
            "-ERR SASL response too long; authentication aborted.\r\n");
  EXPECT_LE(driver.session().buffered_input(), 100U);
  EXPECT_EQ(driver.send("AAAA==\r\nQUIT\r\n"), "+OK Logging out.\r\n");
}

TEST(Sasl, ResponseLongerThanACommandLineIsFine) {
  auto driver = started();
  driver.backend().passwords["alice"] = std::string(250, 'p');
  const std::string response = b64("\0alice\0"s + std::string(250, 'p'));
  ASSERT_GT(response.size(), 255U);
  EXPECT_EQ(driver.send("AUTH PLAIN\r\n" + response + "\r\n"), "+ \r\n+OK Logged in.\r\n");
}

TEST(Sasl, UnknownMechanism) {
  auto driver = started();
  EXPECT_EQ(driver.send("AUTH CRAM-MD5\r\n"), "-ERR Unsupported authentication mechanism.\r\n");
  EXPECT_EQ(driver.send("AUTH X\0Y\r\n"s), "-ERR Control characters in command line.\r\n");
}

}  // namespace
}  // namespace mailport::pop3::testing
