// log_format = "json": the server's key=value messages as JSON objects that any reader can parse.
#include "net/log_format.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

namespace mailport::net {
namespace {

nlohmann::json parsed(std::string_view message) {
  return nlohmann::json::parse(json_log_line("2026-01-02T03:04:05.006+0000", "info", message));
}

TEST(JsonLog, KeyValueWordsBecomeMembers) {
  const nlohmann::json line =
      parsed("session=42 event=login result=ok user=\"bob\" mech=PLAIN rip=127.0.0.1 rport=5012");
  EXPECT_EQ(line["time"], "2026-01-02T03:04:05.006+0000");
  EXPECT_EQ(line["level"], "info");
  EXPECT_EQ(line["session"], 42);
  EXPECT_EQ(line["event"], "login");
  EXPECT_EQ(line["user"], "bob");
  EXPECT_EQ(line["mech"], "PLAIN");
  EXPECT_EQ(line["rip"], "127.0.0.1");
  EXPECT_FALSE(line.contains("msg"));
}

TEST(JsonLog, QuotedValuesAreUnescaped) {
  const nlohmann::json line = parsed(R"(session=1 user="a \"b\" c\\d" reason="no such user")");
  EXPECT_EQ(line["user"], "a \"b\" c\\d");
  EXPECT_EQ(line["reason"], "no such user");
}

TEST(JsonLog, OtherWordsGoToMsgInOrder) {
  const nlohmann::json line = parsed("privileges dropped user=mail uid=8 chroot=none");
  EXPECT_EQ(line["msg"], "privileges dropped");
  EXPECT_EQ(line["uid"], 8);
  EXPECT_EQ(parsed("stopped")["msg"], "stopped");
}

TEST(JsonLog, ReservedKeysCannotBeOverwritten) {
  const nlohmann::json line = parsed("level=error time=0 msg=x session=3");
  EXPECT_EQ(line["level"], "info");
  EXPECT_EQ(line["msg"], "level=error time=0 msg=x");
  EXPECT_EQ(line["session"], 3);
}

TEST(JsonLog, UnterminatedQuoteStaysText) {
  const nlohmann::json line = parsed("session=5 user=\"open");
  EXPECT_EQ(line["session"], 5);
  EXPECT_EQ(line["msg"], "user=\"open");
}

TEST(JsonLog, NumbersOnlyWhenExact) {
  const nlohmann::json line = parsed("a=007 b=12345678901234567890 c=0 d=-1");
  EXPECT_EQ(line["a"], "007");
  EXPECT_EQ(line["b"], "12345678901234567890");
  EXPECT_EQ(line["c"], 0);
  EXPECT_EQ(line["d"], "-1");
}

TEST(JsonLog, AnyBytesGiveValidJson) {
  std::string hostile = "session=9 user=\"";
  for (int c = 1; c < 256; ++c) {
    if (c != '"' && c != '\\') hostile += static_cast<char>(c);
  }
  hostile += "\" tail=\x01\xff\r\n";
  const std::string text = json_log_line("t", "warn", hostile);
  EXPECT_EQ(text.find('\n'), std::string::npos);
  EXPECT_EQ(text.find('\r'), std::string::npos);
  const nlohmann::json line = nlohmann::json::parse(text);
  EXPECT_EQ(line["session"], 9);
  EXPECT_TRUE(line["user"].is_string());
}

}  // namespace
}  // namespace mailport::net
