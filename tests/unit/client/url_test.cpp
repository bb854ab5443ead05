#include "client/url.hpp"

#include <gtest/gtest.h>

namespace mailport::client {
namespace {

TEST(ServerUrl, Pop3sDefaultsToPort995) {
  auto url = parse_server_url("pop3s://alice@mail.example.org");
  ASSERT_TRUE(url) << url.error().message;
  EXPECT_TRUE(url->implicit_tls);
  EXPECT_EQ(url->user, "alice");
  EXPECT_EQ(url->host, "mail.example.org");
  EXPECT_EQ(url->port, 995);
  EXPECT_EQ(url->display(), "alice@mail.example.org:995");
}

TEST(ServerUrl, Pop3DefaultsToPort110AndUpgrades) {
  auto url = parse_server_url("pop3://bob@host:1110/");
  ASSERT_TRUE(url);
  EXPECT_FALSE(url->implicit_tls);
  EXPECT_EQ(url->port, 1110);
  EXPECT_EQ(parse_server_url("pop3://bob@host")->port, 110);
}

TEST(ServerUrl, UserIsPercentDecodedAndTheLastAtSeparatesTheHost) {
  auto url = parse_server_url("pop3s://me%40example.org@mx.example.org:2995");
  ASSERT_TRUE(url);
  EXPECT_EQ(url->user, "me@example.org");
  EXPECT_EQ(url->host, "mx.example.org");
  EXPECT_EQ(url->port, 2995);
  auto raw_at = parse_server_url("pop3s://me@example.org@mx.example.org");
  ASSERT_TRUE(raw_at);
  EXPECT_EQ(raw_at->user, "me@example.org");
}

TEST(ServerUrl, Ipv6LiteralInBrackets) {
  auto url = parse_server_url("pop3s://alice@[::1]:9995");
  ASSERT_TRUE(url);
  EXPECT_EQ(url->host, "::1");
  EXPECT_EQ(url->port, 9995);
  EXPECT_EQ(url->display(), "alice@[::1]:9995");
}

TEST(ServerUrl, PasswordInTheUrlIsRefused) {
  auto url = parse_server_url("pop3s://alice:secret@host");
  ASSERT_FALSE(url);
  EXPECT_TRUE(url.error().is(errc::invalid_input));
  EXPECT_NE(url.error().message.find("password does not belong"), std::string::npos);
}

TEST(ServerUrl, MalformedInputIsRefused) {
  for (const char* text :
       {"imap://alice@host", "pop3s://host", "pop3s://@host", "pop3s://alice@", "pop3s://a@h:0",
        "pop3s://a@h:65536", "pop3s://a@h:x", "pop3s://a@h:", "pop3s://a%4@h", "pop3s://a%00@h",
        "pop3s://a@[::1", "pop3s://a@[::1]x", "pop3s://a@ho st", "pop3s://a@h/x"}) {
    EXPECT_FALSE(parse_server_url(text)) << text;
  }
}

}  // namespace
}  // namespace mailport::client
