#include "sasl/mechanism.hpp"

#include <gtest/gtest.h>

namespace mailport::sasl {
namespace {

TEST(Registry, FindsMechanismsCaseInsensitively) {
  for (const auto name : {"PLAIN", "plain", "PlAiN"}) {
    const auto* info = find_mechanism(name);
    ASSERT_NE(info, nullptr) << name;
    EXPECT_EQ(info->name, "PLAIN");
    EXPECT_TRUE(info->plaintext);
    EXPECT_EQ(info->create()->name(), "PLAIN");
  }
  const auto* login = find_mechanism("login");
  ASSERT_NE(login, nullptr);
  EXPECT_EQ(login->name, "LOGIN");
  EXPECT_TRUE(login->plaintext);
  EXPECT_EQ(login->create()->name(), "LOGIN");
}

TEST(Registry, UnknownMechanisms) {
  for (const auto name : {"", "CRAM-MD5", "PLAINX", "PLAI", "SCRAM-SHA-512", "DIGEST-MD5"}) {
    EXPECT_EQ(find_mechanism(name), nullptr) << name;
  }
}

TEST(Registry, EachExchangeIsIndependent) {
  const auto* info = find_mechanism("LOGIN");
  auto first = info->create();
  auto second = info->create();
  first->start("tim");
  const auto step = second->start(std::nullopt);
  ASSERT_TRUE(std::holds_alternative<Challenge>(step));
  EXPECT_EQ(std::get<Challenge>(step).data, "Username:");
}

}  // namespace
}  // namespace mailport::sasl
