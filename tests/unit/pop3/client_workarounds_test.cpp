// The optional client workarounds: what BodyEncoder sends with each, that they are off unless
// asked for, their configuration names, and that Options reach the Retrieve event.
#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "pop3/body_encoder.hpp"
#include "pop3/session.hpp"
#include "session_driver.hpp"

namespace mailport::pop3 {
namespace {

using namespace std::string_view_literals;

struct WorkaroundCase {
  std::string_view name;
  std::string_view input;
  std::optional<std::uint64_t> top_lines;
  ClientWorkarounds workarounds;
  std::string_view expected;  // including the terminator
};

constexpr ClientWorkarounds kNoNuls{.outlook_no_nuls = true};
constexpr ClientWorkarounds kEoh{.oe_ns_eoh = true};
constexpr ClientWorkarounds kOff{};

std::string encode(const WorkaroundCase& c, std::size_t chunk) {
  BodyEncoder encoder(c.top_lines, c.workarounds);
  std::string out;
  for (std::string_view rest = c.input; !rest.empty();) {
    const auto piece = rest.substr(0, chunk);
    rest.remove_prefix(piece.size());
    encoder.encode(piece, out);
  }
  encoder.finish(out);
  return out;
}

class Workaround : public ::testing::TestWithParam<WorkaroundCase> {};

TEST_P(Workaround, AnyChunkSize) {
  for (std::size_t chunk : {1, 2, 3, 5, 64}) {
    EXPECT_EQ(encode(GetParam(), chunk), GetParam().expected) << "chunk " << chunk;
  }
}

INSTANTIATE_TEST_SUITE_P(
    Cases, Workaround,
    ::testing::Values(
        WorkaroundCase{"NulsKeptByDefault", "A: b\n\nx\0y\n\0"sv, std::nullopt, kOff,
                       "A: b\r\n\r\nx\0y\r\n\0\r\n.\r\n"sv},
        WorkaroundCase{"NulsBecome0x80", "A: b\n\nx\0y\n\0\0\n"sv, std::nullopt, kNoNuls,
                       "A: b\r\n\r\nx\x80y\r\n\x80\x80\r\n.\r\n"},
        WorkaroundCase{"NulInHeaderAndTop", "A: \0\n\nx\0\ny\0\n"sv, 1, kNoNuls,
                       "A: \x80\r\n\r\nx\x80\r\n.\r\n"},
        WorkaroundCase{"NulAtLineStartIsNotStuffed", "\0.\n"sv, std::nullopt, kNoNuls,
                       "\x80.\r\n.\r\n"},
        WorkaroundCase{"HeaderWithoutEndKeptByDefault", "A: b\nC: d\n", std::nullopt, kOff,
                       "A: b\r\nC: d\r\n.\r\n"},
        WorkaroundCase{"HeaderEndAdded", "A: b\nC: d\n", std::nullopt, kEoh,
                       "A: b\r\nC: d\r\n\r\n.\r\n"},
        WorkaroundCase{"HeaderEndAddedAfterMissingLineEnd", "A: b\r\nC: d", std::nullopt, kEoh,
                       "A: b\r\nC: d\r\n\r\n.\r\n"},
        WorkaroundCase{"HeaderEndAddedForTop", "A: b\n", 0, kEoh, "A: b\r\n\r\n.\r\n"},
        WorkaroundCase{"HeaderEndAddedForTopWithLines", "A: b\n", 5, kEoh, "A: b\r\n\r\n.\r\n"},
        WorkaroundCase{"EmptyMessageGetsAnEmptyHeader", "", std::nullopt, kEoh, "\r\n.\r\n"},
        WorkaroundCase{"CompleteHeaderUnchanged", "A: b\n\nbody\n", std::nullopt, kEoh,
                       "A: b\r\n\r\nbody\r\n.\r\n"},
        WorkaroundCase{"CompleteHeaderWithoutBodyUnchanged", "A: b\r\n\r\n", std::nullopt, kEoh,
                       "A: b\r\n\r\n.\r\n"},
        WorkaroundCase{"TopStoppedInBodyUnchanged", "A: b\n\n1\n2\n", 1, kEoh,
                       "A: b\r\n\r\n1\r\n.\r\n"},
        WorkaroundCase{"BothTogether", "A: \0\n"sv, std::nullopt,
                       ClientWorkarounds{.outlook_no_nuls = true, .oe_ns_eoh = true},
                       "A: \x80\r\n\r\n.\r\n"}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(ClientWorkarounds, ConfigurationNames) {
  ClientWorkarounds workarounds;
  EXPECT_EQ(workarounds, ClientWorkarounds{});
  EXPECT_TRUE(enable_client_workaround(workarounds, "outlook-no-nuls"));
  EXPECT_EQ(workarounds, kNoNuls);
  EXPECT_TRUE(enable_client_workaround(workarounds, "oe-ns-eoh"));
  EXPECT_TRUE(workarounds.outlook_no_nuls && workarounds.oe_ns_eoh);
}

TEST(ClientWorkarounds, UnknownNamesAreRefused) {
  ClientWorkarounds workarounds;
  for (auto name : {"", "OUTLOOK-NO-NULS", "outlook-idle", "oe-ns-eoh ", "delay-newmail"}) {
    EXPECT_FALSE(enable_client_workaround(workarounds, name)) << name;
  }
  EXPECT_EQ(workarounds, ClientWorkarounds{});
}

TEST(ClientWorkarounds, OptionsReachEveryRetrieve) {
  Options options = testing::default_options();
  options.client_workarounds = kEoh;
  Session session(options);
  session.start();
  session.receive("USER alice\r\nPASS open sesame\r\nRETR 1\r\n");
  auto event = session.poll();
  session.complete_login(testing::default_backend().login(std::get<Login>(event).request));
  event = session.poll();
  ASSERT_TRUE(std::holds_alternative<Retrieve>(event));
  EXPECT_EQ(std::get<Retrieve>(event).workarounds, kEoh);
}

TEST(ClientWorkarounds, RetrAndTopThroughTheSession) {
  testing::FakeBackend backend = testing::default_backend();
  backend.messages = {{"u1", std::string("Subject: nul\n\na\0b\n"sv)}, {"u2", "Subject: x\n"}};
  Options options = testing::default_options();
  options.client_workarounds = {.outlook_no_nuls = true, .oe_ns_eoh = true};
  testing::Driver driver(options, backend);
  driver.start();
  driver.login();
  EXPECT_EQ(driver.send("LIST\r\n"),
            "+OK 2 messages (33 octets)\r\n1 21\r\n2 12\r\n.\r\n");  // sizes as stored
  EXPECT_EQ(driver.send("RETR 1\r\n"),
            "+OK 21 octets\r\nSubject: nul\r\n\r\na\x80"
            "b\r\n.\r\n");
  EXPECT_EQ(driver.send("TOP 2 0\r\n"), "+OK Top of message follows.\r\nSubject: x\r\n\r\n.\r\n");
}

TEST(ClientWorkarounds, OffByDefault) {
  testing::FakeBackend backend = testing::default_backend();
  backend.messages = {{"u1", std::string("Subject: nul\n\na\0b\n"sv)}, {"u2", "Subject: x\n"}};
  testing::Driver driver(testing::default_options(), backend);
  driver.start();
  driver.login();
  EXPECT_EQ(driver.send("RETR 1\r\n"), "+OK 21 octets\r\nSubject: nul\r\n\r\na\0b\r\n.\r\n"sv);
  EXPECT_EQ(driver.send("TOP 2 0\r\n"), "+OK Top of message follows.\r\nSubject: x\r\n.\r\n");
}

}  // namespace
}  // namespace mailport::pop3
