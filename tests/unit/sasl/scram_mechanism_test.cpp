#include "sasl/scram_mechanism.hpp"

#include <gtest/gtest.h>

#include "auth/scram.hpp"
#include "scram_client.hpp"

namespace mailport::sasl {
namespace {

using testing::ScramClient;

ScramSecrets secrets_for(std::string_view password, bool sha256) {
  const std::string verifier =
      *auth::make_scram_verifier(password, sha256 ? ScramHash::sha256 : ScramHash::sha1);
  return *auth::parse_scram_verifier(verifier);
}

// Runs the exchange up to the client-final message; returns the step after it.
Step run_to_final(ScramMechanism& mechanism, ScramClient& client, const ScramSecrets& secrets) {
  Step step = mechanism.start(client.client_first());
  auto* need = std::get_if<NeedSecrets>(&step);
  EXPECT_TRUE(need);
  if (!need) return step;
  EXPECT_EQ(need->authcid, client.user);
  step = mechanism.provide_secrets(secrets);
  auto* server_first = std::get_if<Challenge>(&step);
  EXPECT_TRUE(server_first);
  if (!server_first) return step;
  EXPECT_TRUE(server_first->data.starts_with("r=" + client.nonce)) << server_first->data;
  return mechanism.step(client.client_final(server_first->data));
}

class ScramTest : public ::testing::TestWithParam<bool> {};

TEST_P(ScramTest, RightPasswordIsVerifiedAndTheServerProvesItselfToo) {
  const bool sha256 = GetParam();
  ScramMechanism mechanism(sha256 ? ScramHash::sha256 : ScramHash::sha1);
  ScramClient client{sha256, "user", "pencil"};
  Step step = run_to_final(mechanism, client, secrets_for("pencil", sha256));
  auto* server_final = std::get_if<Challenge>(&step);
  ASSERT_TRUE(server_final);
  EXPECT_EQ(server_final->data, "v=" + client.server_signature);
  step = mechanism.step("");
  auto* done = std::get_if<Done>(&step);
  ASSERT_TRUE(done);
  EXPECT_EQ(done->credentials.verification, Verification::verified);
  EXPECT_EQ(done->credentials.authcid, "user");
  EXPECT_TRUE(done->credentials.password.empty()) << "SCRAM never reveals the password";
}

TEST_P(ScramTest, WrongPasswordIsRejectedAsAFailedLogin) {
  const bool sha256 = GetParam();
  ScramMechanism mechanism(sha256 ? ScramHash::sha256 : ScramHash::sha1);
  ScramClient client{sha256, "user", "guess"};
  Step step = run_to_final(mechanism, client, secrets_for("pencil", sha256));
  auto* done = std::get_if<Done>(&step);
  ASSERT_TRUE(done);
  EXPECT_EQ(done->credentials.verification, Verification::rejected);
}

TEST_P(ScramTest, MadeUpSecretsOfAnUnknownUserRejectLikeAWrongPassword) {
  const bool sha256 = GetParam();
  const ScramHash hash = sha256 ? ScramHash::sha256 : ScramHash::sha1;
  ScramMechanism mechanism(hash);
  ScramClient client{sha256, "nobody", "pencil"};
  Step step = run_to_final(mechanism, client, auth::dummy_scram_secrets("nobody", hash));
  auto* done = std::get_if<Done>(&step);
  ASSERT_TRUE(done);
  EXPECT_EQ(done->credentials.verification, Verification::rejected);
  EXPECT_EQ(auth::dummy_scram_secrets("nobody", hash).salt,
            auth::dummy_scram_secrets("nobody", hash).salt)
      << "a second probe of the same name sees the same salt";
}

TEST_P(ScramTest, ReplayedFinalMessageWithAnotherNonceFails) {
  const bool sha256 = GetParam();
  const ScramHash hash = sha256 ? ScramHash::sha256 : ScramHash::sha1;
  const ScramSecrets secrets = secrets_for("pencil", sha256);
  ScramMechanism first(hash);
  ScramClient client{sha256, "user", "pencil"};
  Step step = first.start(client.client_first());
  step = first.provide_secrets(secrets);
  const std::string final_message = client.client_final(std::get<Challenge>(step).data);
  // A second exchange gets a fresh server nonce, so the recorded proof is worthless.
  ScramMechanism second(hash);
  second.start(client.client_first());
  second.provide_secrets(secrets);
  Step replayed = second.step(final_message);
  const bool rejected =
      std::holds_alternative<Failed>(replayed) ||
      (std::holds_alternative<Done>(replayed) &&
       std::get<Done>(replayed).credentials.verification == Verification::rejected);
  EXPECT_TRUE(rejected);
}

INSTANTIATE_TEST_SUITE_P(Hashes, ScramTest, ::testing::Values(true, false),
                         [](const auto& info) { return info.param ? "Sha256" : "Sha1"; });

TEST(Scram, EmptyInitialResponseAsksForTheClientFirstMessage) {
  ScramMechanism mechanism(ScramHash::sha256);
  Step step = mechanism.start(std::nullopt);
  ASSERT_TRUE(std::holds_alternative<Challenge>(step));
  EXPECT_EQ(std::get<Challenge>(step).data, "");
  step = mechanism.step("n,,n=user,r=abc");
  EXPECT_TRUE(std::holds_alternative<NeedSecrets>(step));
}

TEST(Scram, MalformedOrChannelBoundClientFirstFails) {
  for (const char* bad : {"x,,n=user,r=abc", "n,,r=abc", "n,n=user,r=abc", "n,,n=,r=abc",
                          "n,,n=us=er,r=abc", "p=tls-unique,,n=user,r=abc"}) {
    ScramMechanism mechanism(ScramHash::sha256);
    EXPECT_TRUE(std::holds_alternative<Failed>(mechanism.start(std::string_view(bad)))) << bad;
  }
}

TEST(Scram, DataAfterTheServerFinalMessageFails) {
  ScramMechanism mechanism(ScramHash::sha256);
  ScramClient client{true, "user", "pencil"};
  Step step = run_to_final(mechanism, client, secrets_for("pencil", true));
  ASSERT_TRUE(std::holds_alternative<Challenge>(step));
  EXPECT_TRUE(std::holds_alternative<Failed>(mechanism.step("junk")));
}

TEST(Scram, ClientFirstParsingUndoesEscapes) {
  auto parsed = parse_client_first("n,a=admin=2Cx,n=a=3Db=2Cc,r=xyz");
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed->authzid, "admin,x");
  EXPECT_EQ(parsed->authcid, "a=b,c");
}

TEST(Scram, IsRegisteredAndNotAPlaintextMechanism) {
  for (const char* name : {"SCRAM-SHA-256", "scram-sha-1"}) {
    const MechanismInfo* info = find_mechanism(name);
    ASSERT_TRUE(info) << name;
    EXPECT_FALSE(info->plaintext);
  }
}

}  // namespace
}  // namespace mailport::sasl
