// parse_path: the <...> argument of MAIL FROM and RCPT TO.
#include "lmtp/address.hpp"

#include <gtest/gtest.h>

#include <string>

namespace mailport::lmtp {
namespace {

TEST(ParsePath, PlainNullQuotedAndRouted) {
  auto path = parse_path("<alice@example.org> SIZE=10");
  ASSERT_TRUE(path);
  EXPECT_EQ(path->address, "alice@example.org");
  EXPECT_EQ(path->rest, " SIZE=10");
  EXPECT_EQ(parse_path("<>")->address, "");
  EXPECT_EQ(parse_path("<\"a b>c\"@example.org>")->address, "\"a b>c\"@example.org");
  EXPECT_EQ(parse_path("<\"a\\\"b\"@x>")->address, "\"a\\\"b\"@x");
  EXPECT_EQ(parse_path("<@relay.example,@other.example:bob@example.org>")->address,
            "bob@example.org");
  EXPECT_EQ(parse_path("<postmaster>")->address, "postmaster");
}

TEST(ParsePath, RejectsMalformedPaths) {
  for (const char* bad : {"", "alice@example.org", "<alice@example.org", "<a b@x>", "<\"open@x>",
                          "<a\tb@x>", "<a\x01@x>", "<@relay.example>", "<\"a\\>"}) {
    EXPECT_FALSE(parse_path(bad)) << bad;
  }
  EXPECT_TRUE(parse_path("<" + std::string(254, 'a') + ">"));
  EXPECT_FALSE(parse_path("<" + std::string(255, 'a') + ">"));
}

TEST(AddressParts, SplitAtTheLastAt) {
  EXPECT_EQ(local_part("\"a@b\"@example.org"), "\"a@b\"");
  EXPECT_EQ(domain_part("\"a@b\"@example.org"), "example.org");
  EXPECT_EQ(local_part("postmaster"), "postmaster");
  EXPECT_EQ(domain_part("postmaster"), "");
}

}  // namespace
}  // namespace mailport::lmtp
