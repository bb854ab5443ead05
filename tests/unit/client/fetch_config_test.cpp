#include "client/fetch_config.hpp"

#include <gtest/gtest.h>

#include "support/temp_dir.hpp"

namespace mailport::client {
namespace {

using test_support::TempDir;
using test_support::write_file;

Result<FetchConfig> load(const TempDir& dir, std::string_view text) {
  const auto path = dir.path() / "fetch.toml";
  write_file(path, text);
  return load_fetch_config(path);
}

std::string error_of(const TempDir& dir, std::string_view text) {
  auto config = load(dir, text);
  return config ? "(loaded)" : config.error().message;
}

TEST(FetchConfig, DefaultsApplyToEveryAccountAndAccountsOverride) {
  TempDir dir;
  auto config = load(dir, R"(
state_dir = "state"
jobs = 2
cafile = "/etc/ca.pem"
to = "Maildir"
keep = true
timeout = 30

[[account]]
url = "pop3s://alice@mail.example.org"
password_file = "alice.pw"

[[account]]
url = "pop3://bob@other.example.org"
mbox = "/var/mail/bob"
delete_after_days = 7
insecure_plaintext = true
auth = "user"
)");
  ASSERT_TRUE(config) << config.error().message;
  EXPECT_EQ(config->state_dir, dir.path() / "state");
  EXPECT_EQ(config->jobs, 2u);
  ASSERT_EQ(config->accounts.size(), 2u);
  const auto& alice = config->accounts[0];
  EXPECT_EQ(alice.settings.url.display(), "alice@mail.example.org:995");
  EXPECT_EQ(alice.password_file, dir.path() / "alice.pw");
  EXPECT_EQ(alice.settings.destination.kind, Destination::Kind::maildir);
  EXPECT_EQ(alice.settings.destination.target, (dir.path() / "Maildir").string());
  EXPECT_EQ(alice.settings.policy, DeletePolicy::keep);
  EXPECT_EQ(alice.settings.cafile, std::filesystem::path("/etc/ca.pem"));
  EXPECT_EQ(alice.settings.timeout, std::chrono::seconds(30));
  const auto& bob = config->accounts[1];
  EXPECT_EQ(bob.settings.destination.kind, Destination::Kind::mbox);  // replaces the default `to`
  EXPECT_EQ(bob.settings.policy, DeletePolicy::after_days);           // replaces `keep`
  EXPECT_EQ(bob.settings.delete_after_days, 7u);
  EXPECT_TRUE(bob.settings.insecure_plaintext);
  EXPECT_EQ(bob.settings.auth, AuthMethod::user_pass);
  EXPECT_FALSE(bob.password_file);
}

TEST(FetchConfig, DefaultPolicyDeletesAfterFetching) {
  TempDir dir;
  auto config = load(dir, "[[account]]\nurl = \"pop3s://a@h\"\nmda = \"procmail\"\n");
  ASSERT_TRUE(config) << config.error().message;
  EXPECT_EQ(config->accounts[0].settings.policy, DeletePolicy::after_fetch);
  EXPECT_EQ(config->accounts[0].settings.destination.target, "procmail");
  EXPECT_EQ(config->jobs, 4u);
}

TEST(FetchConfig, TildeIsTheHomeDirectory) {
  TempDir dir;
  ::setenv("HOME", "/home/someone", 1);
  auto config = load(dir, "[[account]]\nurl = \"pop3s://a@h\"\nto = \"~/Maildir\"\n");
  ASSERT_TRUE(config);
  EXPECT_EQ(config->accounts[0].settings.destination.target, "/home/someone/Maildir");
}

TEST(FetchConfig, MistakesNameTheLineAndTheKey) {
  TempDir dir;
  EXPECT_EQ(error_of(dir, "[[account]]\nurl = \"pop3s://a@h\"\nto = \"m\"\nkep = true\n"),
            (dir.path() / "fetch.toml").string() + ":4: kep: unknown key");
  EXPECT_NE(
      error_of(dir, "[[account]]\nto = \"m\"\n").find(":1: url: every [[account]] needs a url"),
      std::string::npos);
  EXPECT_NE(error_of(dir, "[[account]]\nurl = \"pop3s://a@h\"\n").find("no destination"),
            std::string::npos);
  EXPECT_NE(error_of(dir, "[[account]]\nurl = \"pop3s://a@h\"\nto = \"m\"\nmbox = \"x\"\n")
                .find("only one of"),
            std::string::npos);
  EXPECT_NE(error_of(dir,
                     "[[account]]\nurl = \"pop3s://a@h\"\nto = \"m\"\nkeep = true\n"
                     "delete_after_days = 3\n")
                .find("exclude each other"),
            std::string::npos);
  EXPECT_NE(error_of(dir, "[[account]]\nurl = \"pop3s://a:pw@h\"\nto = \"m\"\n")
                .find(":2: url: invalid server URL"),
            std::string::npos);
  EXPECT_NE(error_of(dir, "[[account]]\nurl = \"pop3s://a@h\"\nto = \"m\"\ntimeout = \"60\"\n")
                .find(":4: timeout: expected an integer"),
            std::string::npos);
  EXPECT_NE(error_of(dir, "jobs = 0\n[[account]]\nurl = \"pop3s://a@h\"\nto = \"m\"\n")
                .find(":1: jobs: must be from 1 to 64"),
            std::string::npos);
  EXPECT_NE(error_of(dir, "url = \"pop3s://a@h\"\n[[account]]\nurl = \"pop3s://b@h\"\nto = \"m\"\n")
                .find("url belongs inside [[account]]"),
            std::string::npos);
  EXPECT_NE(error_of(dir, "to = \"m\"\n").find("no [[account]]"), std::string::npos);
  EXPECT_NE(error_of(dir,
                     "[[account]]\nurl = \"pop3s://a@h\"\nto = \"m\"\n[[account]]\n"
                     "url = \"pop3s://a@h:995\"\nto = \"n\"\n")
                .find("appears twice"),
            std::string::npos);
  EXPECT_NE(error_of(dir, "[[account]\n").find("fetch.toml:1:"), std::string::npos);
  EXPECT_NE(error_of(dir, "[[account]]\nurl = \"pop3s://a@h\"\nto = \"m\"\nauth = \"cram\"\n")
                .find("expected auto, scram-sha-256, plain or user"),
            std::string::npos);
}

TEST(FetchConfig, MissingFileIsAnError) {
  auto config = load_fetch_config("/nonexistent/fetch.toml");
  ASSERT_FALSE(config);
  EXPECT_TRUE(config.error().is(errc::invalid_input));
}

}  // namespace
}  // namespace mailport::client
