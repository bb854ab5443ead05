#include "client/pop3_client.hpp"

#include <gtest/gtest.h>

#include "sasl/base64.hpp"
#include "scripted_transport.hpp"

namespace mailport::client {
namespace {

using testing::ScriptedTransport;

TEST(Pop3Client, GreetingAndErrGreeting) {
  ScriptedTransport ok("+OK ready\r\n");
  Pop3Client client(ok);
  auto greeting = client.greeting();
  ASSERT_TRUE(greeting);
  EXPECT_EQ(greeting->text, "ready");

  ScriptedTransport busy("-ERR [SYS/TEMP] overloaded\r\n");
  Pop3Client refused(busy);
  auto error = refused.greeting();
  ASSERT_FALSE(error);
  EXPECT_TRUE(error.error().is(errc::temporary_failure));
}

TEST(Pop3Client, CapaListingOrNothing) {
  ScriptedTransport transport("+OK\r\nUSER\r\nSASL PLAIN\r\nSTLS\r\n.\r\n-ERR unknown\r\n");
  Pop3Client client(transport);
  auto caps = client.capa();
  ASSERT_TRUE(caps);
  ASSERT_TRUE(*caps);
  EXPECT_TRUE((*caps)->stls());
  EXPECT_TRUE((*caps)->sasl("PLAIN"));
  auto none = client.capa();
  ASSERT_TRUE(none);
  EXPECT_FALSE(*none);
  EXPECT_EQ(transport.sent(), "CAPA\r\nCAPA\r\n");
}

TEST(Pop3Client, StlsStartsTlsOnlyWithNothingBuffered) {
  ScriptedTransport clean("+OK Begin TLS\r\n");
  Pop3Client client(clean);
  ASSERT_TRUE(client.stls());
  EXPECT_EQ(clean.tls_starts(), 1);

  // A man in the middle appends a response in plaintext after the +OK: it must never be read
  // as if it came through TLS.
  ScriptedTransport injected("+OK Begin TLS\r\n+OK logged in\r\n");
  Pop3Client victim(injected);
  auto result = victim.stls();
  ASSERT_FALSE(result);
  EXPECT_EQ(injected.tls_starts(), 0);
  EXPECT_NE(result.error().message.find("after accepting STLS"), std::string::npos);
}

TEST(Pop3Client, StlsRefused) {
  ScriptedTransport transport("-ERR not now\r\n");
  Pop3Client client(transport);
  EXPECT_FALSE(client.stls());
  EXPECT_EQ(transport.tls_starts(), 0);
}

TEST(Pop3Client, AutomaticLoginPrefersSaslPlainOverUserPass) {
  ScriptedTransport transport("+ \r\n+OK welcome\r\n");
  Pop3Client client(transport);
  const auto caps = Capabilities::parse({"USER", "SASL PLAIN LOGIN"});
  auto method = client.login(AuthMethod::automatic, caps, "alice", "p\xc3\xa4ss word");
  ASSERT_TRUE(method) << method.error().message;
  EXPECT_EQ(*method, AuthMethod::plain);
  const std::string expected = std::string("\0alice\0p\xc3\xa4ss word", 17);
  EXPECT_EQ(transport.sent(), "AUTH PLAIN\r\n" + sasl::encode_base64(expected) + "\r\n");
}

TEST(Pop3Client, AutomaticLoginFallsBackToUserPass) {
  ScriptedTransport transport("+OK\r\n+OK\r\n");
  Pop3Client client(transport);
  auto method = client.login(AuthMethod::automatic, std::nullopt, "bob", "pw with spaces");
  ASSERT_TRUE(method);
  EXPECT_EQ(*method, AuthMethod::user_pass);
  EXPECT_EQ(transport.sent(), "USER bob\r\nPASS pw with spaces\r\n");
}

TEST(Pop3Client, WrongPasswordIsAuthFailed) {
  ScriptedTransport user_pass("+OK\r\n-ERR [AUTH] Authentication failed.\r\n");
  Pop3Client client(user_pass);
  auto result = client.login_user_pass("bob", "wrong");
  ASSERT_FALSE(result);
  EXPECT_TRUE(result.error().is(errc::auth_failed));

  ScriptedTransport plain("+ \r\n-ERR [AUTH] no\r\n");
  Pop3Client sasl_client(plain);
  EXPECT_TRUE(sasl_client.login_plain("bob", "wrong").error().is(errc::auth_failed));

  ScriptedTransport refused("-ERR [AUTH] Plaintext authentication disallowed\r\n");
  Pop3Client refused_client(refused);
  EXPECT_TRUE(refused_client.login_plain("bob", "pw").error().is(errc::auth_failed));
  EXPECT_EQ(refused.sent(), "AUTH PLAIN\r\n");  // no credentials after a refusal
}

TEST(Pop3Client, RetrieveUnstuffsAndUsesLfAtEveryChunkSize) {
  const std::string wire =
      "+OK 40 octets\r\nSubject: x\r\n\r\n..leading dot\r\n...\r\nlast\r\n.\r\n";
  for (std::size_t chunk = 1; chunk <= wire.size(); ++chunk) {
    ScriptedTransport transport(wire, chunk);
    Pop3Client client(transport);
    std::string message;
    std::size_t counted = 0;
    auto reply = client.retrieve(7, message, [&](std::size_t n) { counted += n; });
    ASSERT_TRUE(reply) << chunk;
    EXPECT_TRUE(reply->ok);
    EXPECT_EQ(message, "Subject: x\n\n.leading dot\n..\nlast\n") << chunk;
    EXPECT_EQ(counted, wire.size() - std::string("+OK 40 octets\r\n").size());
    EXPECT_EQ(transport.sent(), "RETR 7\r\n");
    EXPECT_TRUE(transport.drained());
  }
}

TEST(Pop3Client, BareLfInsideAMessageCannotEndIt) {
  // A bare LF followed by "." is content: only CRLF.CRLF ends the response.
  ScriptedTransport transport("+OK\r\nfirst\n.\nstill inside\r\n.\r\n+OK next\n");
  Pop3Client client(transport);
  std::string message;
  auto reply = client.retrieve(1, message);
  ASSERT_TRUE(reply);
  EXPECT_EQ(message, "first\n.\nstill inside\n");
  // Status lines are read leniently.
  auto next = client.command("NOOP");
  ASSERT_TRUE(next);
  EXPECT_EQ(next->text, "next");
}

TEST(Pop3Client, RetrieveRefusalIsAValue) {
  ScriptedTransport transport("-ERR no such message\r\n");
  Pop3Client client(transport);
  std::string message = "stale";
  auto reply = client.retrieve(9, message);
  ASSERT_TRUE(reply);
  EXPECT_FALSE(reply->ok);
  EXPECT_TRUE(message.empty());
}

TEST(Pop3Client, ConnectionLostInsideAMessageIsAnError) {
  ScriptedTransport transport("+OK\r\nSubject: cut\r\n");
  Pop3Client client(transport);
  std::string message;
  auto reply = client.retrieve(1, message);
  ASSERT_FALSE(reply);
  EXPECT_TRUE(reply.error().is(errc::temporary_failure));
}

TEST(Pop3Client, UidlAndList) {
  ScriptedTransport transport("+OK\r\n1 abc\r\n2 def\r\n.\r\n+OK\r\n1 120\r\n2 3400\r\n.\r\n");
  Pop3Client client(transport);
  auto uidls = client.uidl();
  ASSERT_TRUE(uidls);
  ASSERT_EQ(uidls->size(), 2u);
  EXPECT_EQ((*uidls)[1].value, "def");
  auto sizes = client.list();
  ASSERT_TRUE(sizes);
  EXPECT_EQ((*sizes)[1], (std::pair<std::uint64_t, std::uint64_t>{2, 3400}));
}

TEST(Pop3Client, MalformedUidlIsAProtocolError) {
  ScriptedTransport transport("+OK\r\n1 has space\r\n.\r\n");
  Pop3Client client(transport);
  auto uidls = client.uidl();
  EXPECT_TRUE(!uidls && uidls.error().is(errc::invalid_input));
}

TEST(Pop3Client, OverlongLineIsRefused) {
  ScriptedTransport transport("+OK " + std::string(kMaxServerLine + 10, 'a'));
  Pop3Client client(transport);
  auto reply = client.greeting();
  ASSERT_FALSE(reply);
  EXPECT_TRUE(reply.error().is(errc::invalid_input));
}

TEST(Pop3Client, DeleAndQuit) {
  ScriptedTransport transport("+OK marked\r\n-ERR already deleted\r\n+OK bye\r\n");
  Pop3Client client(transport);
  EXPECT_TRUE(client.dele(1)->ok);
  EXPECT_FALSE(client.dele(1)->ok);
  EXPECT_TRUE(client.quit());
  EXPECT_EQ(transport.sent(), "DELE 1\r\nDELE 1\r\nQUIT\r\n");
}

TEST(AuthMethodNames, RoundTrip) {
  for (auto method : {AuthMethod::automatic, AuthMethod::scram_sha_256, AuthMethod::plain,
                      AuthMethod::user_pass}) {
    EXPECT_EQ(parse_auth_method(to_string(method)), method);
  }
  EXPECT_FALSE(parse_auth_method("cram-md5"));
}

}  // namespace
}  // namespace mailport::client
