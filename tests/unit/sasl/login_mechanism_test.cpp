#include "sasl/login_mechanism.hpp"

#include <gtest/gtest.h>

#include <string>
#include <variant>

namespace mailport::sasl {
namespace {

using namespace std::string_literals;

std::string challenge(const Step& step) {
  EXPECT_TRUE(std::holds_alternative<Challenge>(step));
  return std::holds_alternative<Challenge>(step) ? std::get<Challenge>(step).data : "";
}

TEST(Login, TwoChallenges) {
  LoginMechanism mechanism;
  EXPECT_EQ(challenge(mechanism.start(std::nullopt)), "Username:");
  EXPECT_EQ(challenge(mechanism.step("tim")), "Password:");
  const auto step = mechanism.step("tanstaaf");
  ASSERT_TRUE(std::holds_alternative<Done>(step));
  const auto& credentials = std::get<Done>(step).credentials;
  EXPECT_EQ(credentials.authzid, "");
  EXPECT_EQ(credentials.authcid, "tim");
  EXPECT_EQ(credentials.password, "tanstaaf");
  EXPECT_TRUE(std::holds_alternative<Failed>(mechanism.step("more")));
}

TEST(Login, InitialResponseIsTheUserName) {
  LoginMechanism mechanism;
  EXPECT_EQ(challenge(mechanism.start("tim")), "Password:");
  const auto step = mechanism.step("pass word");
  ASSERT_TRUE(std::holds_alternative<Done>(step));
  EXPECT_EQ(std::get<Done>(step).credentials.password, "pass word");
}

TEST(Login, InvalidUserName) {
  for (const auto& bad : {""s, "ti\0m"s, std::string(256, 'u'), "\xff"s}) {
    LoginMechanism mechanism;
    mechanism.start(std::nullopt);
    const auto step = mechanism.step(bad);
    ASSERT_TRUE(std::holds_alternative<Failed>(step));
    EXPECT_EQ(std::get<Failed>(step).reason, "Invalid LOGIN user name.");
    EXPECT_TRUE(std::holds_alternative<Failed>(mechanism.step("pw")));
  }
}

TEST(Login, InvalidPassword) {
  for (const auto& bad : {""s, "p\0w"s, std::string(256, 'p')}) {
    LoginMechanism mechanism;
    mechanism.start("tim");
    const auto step = mechanism.step(bad);
    ASSERT_TRUE(std::holds_alternative<Failed>(step));
    EXPECT_EQ(std::get<Failed>(step).reason, "Invalid LOGIN password.");
  }
}

}  // namespace
}  // namespace mailport::sasl
