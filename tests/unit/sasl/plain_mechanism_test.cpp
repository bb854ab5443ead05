#include "sasl/plain_mechanism.hpp"

#include <gtest/gtest.h>

#include <string>
#include <variant>

namespace mailport::sasl {
namespace {

using namespace std::string_literals;

Step plain(std::string_view message) {
  PlainMechanism mechanism;
  return mechanism.start(message);
}

TEST(Plain, Rfc4616Examples) {
  // RFC 4616 section 4: without and with an authorization identity.
  auto step = plain("\0tim\0tanstaaftanstaaf"s);
  ASSERT_TRUE(std::holds_alternative<Done>(step));
  auto credentials = std::get<Done>(step).credentials;
  EXPECT_EQ(credentials.authzid, "");
  EXPECT_EQ(credentials.authcid, "tim");
  EXPECT_EQ(credentials.password, "tanstaaftanstaaf");

  step = plain("Ursel\0Kurt\0xipj3plmq"s);
  ASSERT_TRUE(std::holds_alternative<Done>(step));
  credentials = std::get<Done>(step).credentials;
  EXPECT_EQ(credentials.authzid, "Ursel");
  EXPECT_EQ(credentials.authcid, "Kurt");
  EXPECT_EQ(credentials.password, "xipj3plmq");
}

TEST(Plain, EmptyChallengeWithoutInitialResponse) {
  PlainMechanism mechanism;
  auto step = mechanism.start(std::nullopt);
  ASSERT_TRUE(std::holds_alternative<Challenge>(step));
  EXPECT_EQ(std::get<Challenge>(step).data, "");
  step = mechanism.step("\0tim\0pw"s);
  ASSERT_TRUE(std::holds_alternative<Done>(step));
  EXPECT_EQ(std::get<Done>(step).credentials.authcid, "tim");
  EXPECT_TRUE(std::holds_alternative<Failed>(mechanism.step("\0tim\0pw"s)));
}

TEST(Plain, MalformedMessages) {
  for (const auto& bad :
       {""s, "tim"s, "\0tim"s, "\0tim\0"s, "\0\0pw"s, "\0tim\0pw\0"s, "\0tim\0p\0w"s, "a\0\0pw"s,
        "\0ti\xffm\0pw"s, "\0tim\0p\xc0\xafw"s, "\xc3\0tim\0pw"s}) {
    const auto step = plain(bad);
    ASSERT_TRUE(std::holds_alternative<Failed>(step)) << bad.size();
    EXPECT_EQ(std::get<Failed>(step).reason, "Malformed PLAIN response.");
  }
}

TEST(Plain, FieldLengths) {
  const std::string max(255, 'x');
  const std::string over(256, 'x');
  EXPECT_TRUE(std::holds_alternative<Done>(plain(max + '\0' + max + '\0' + max)));
  EXPECT_TRUE(std::holds_alternative<Failed>(plain('\0' + over + '\0' + "pw")));
  EXPECT_TRUE(std::holds_alternative<Failed>(plain("\0tim\0"s + over)));
  EXPECT_TRUE(std::holds_alternative<Failed>(plain(over + "\0tim\0pw"s)));
}

TEST(Plain, Utf8Identities) {
  const auto step = plain("\0J\xc3\xb6rg\0p\xc3\xa4ss"s);
  ASSERT_TRUE(std::holds_alternative<Done>(step));
  EXPECT_EQ(std::get<Done>(step).credentials.authcid, "J\xc3\xb6rg");
}

}  // namespace
}  // namespace mailport::sasl
