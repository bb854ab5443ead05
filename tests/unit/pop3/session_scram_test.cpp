// AUTH SCRAM-SHA-256 through the session: the exchange pauses for LookupSecrets, the server-final
// message goes out as a challenge (RFC 5034), and the verdict reaches the login path.
#include <gtest/gtest.h>

#include "sasl/base64.hpp"
#include "sasl/scram_client.hpp"
#include "session_driver.hpp"

namespace mailport::pop3::testing {
namespace {

using sasl::encode_base64;

// The payload of a "+ <base64>\r\n" challenge line.
std::string challenge_of(const std::string& reply) {
  auto decoded = sasl::decode_base64(reply.substr(2, reply.size() - 4));
  return decoded ? *decoded : std::string("<bad base64>");
}
using sasl::testing::ScramClient;

ScramSecrets secrets_of(std::string_view password) {
  ScramSecrets secrets;
  secrets.salt = "0123456789abcdef";
  const std::string salted = sasl::testing::salted_password(true, password, secrets.salt, 4096);
  secrets.stored_key = sasl::testing::hash(true, sasl::testing::hmac(true, salted, "Client Key"));
  secrets.server_key = sasl::testing::hmac(true, salted, "Server Key");
  return secrets;
}

Driver scram_driver() {
  FakeBackend backend = default_backend();
  backend.scram["alice"] = secrets_of("open sesame");
  Options options = default_options();
  options.tls_active = true;
  options.sasl_mechanisms = {"SCRAM-SHA-256"};
  Driver driver(options, backend);
  driver.start();
  return driver;
}

// Sends the client-first message and returns the decoded server-first message.
std::string begin(Driver& driver, ScramClient& client) {
  const std::string reply =
      driver.send("AUTH SCRAM-SHA-256 " + encode_base64(client.client_first()) + "\r\n");
  EXPECT_TRUE(reply.starts_with("+ ")) << reply;
  return challenge_of(reply);
}

TEST(Scram, RightPasswordLogsInAfterTheServerProvesItself) {
  Driver driver = scram_driver();
  ScramClient client(true, "alice", "open sesame");
  const std::string server_first = begin(driver, client);
  EXPECT_EQ(driver.lookups(), std::vector<std::string>{"alice"});
  const std::string reply = driver.send(encode_base64(client.client_final(server_first)) + "\r\n");
  ASSERT_TRUE(reply.starts_with("+ ")) << reply;
  EXPECT_EQ(challenge_of(reply), "v=" + client.server_signature);
  EXPECT_EQ(driver.send("\r\n"), "+OK Logged in.\r\n");
  ASSERT_EQ(driver.logins().size(), 1u);
  EXPECT_EQ(driver.logins()[0].verification, sasl::Verification::verified);
  EXPECT_EQ(driver.logins()[0].sasl_mechanism, "SCRAM-SHA-256");
  EXPECT_TRUE(driver.logins()[0].secret.empty());
}

TEST(Scram, WrongProofBecomesAFailedLoginRequestNotALocalReply) {
  Driver driver = scram_driver();
  ScramClient client(true, "alice", "guess");
  const std::string server_first = begin(driver, client);
  EXPECT_EQ(driver.send(encode_base64(client.client_final(server_first)) + "\r\n"),
            "-ERR [AUTH] Authentication failed.\r\n");
  ASSERT_EQ(driver.logins().size(), 1u) << "penalties are applied on the login path";
  EXPECT_EQ(driver.logins()[0].verification, sasl::Verification::rejected);
}

TEST(Scram, PipelinedInputWaitsForTheSecretsLookup) {
  Driver driver = scram_driver();
  ScramClient client(true, "alice", "open sesame");
  // The lookup answers synchronously in the driver; the CAPA after the cancel must still come
  // after the exchange, in order.
  const std::string reply = driver.send("AUTH SCRAM-SHA-256 " +
                                        encode_base64(client.client_first()) + "\r\n*\r\nCAPA\r\n");
  EXPECT_TRUE(reply.starts_with("+ ")) << reply;
  EXPECT_NE(reply.find("\r\n-ERR Authentication cancelled.\r\n+OK Capability"), std::string::npos)
      << reply;
}

}  // namespace
}  // namespace mailport::pop3::testing
