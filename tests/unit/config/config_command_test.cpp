// `mailport config check`, driven through the real subcommand code on a CLI::App.
#include <gtest/gtest.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdlib>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "cli/commands.hpp"
#include "cli/common.hpp"
#include "config/config.hpp"
#include "test_support.hpp"

namespace mailport::cli {
namespace {

using config::testing::write_cert_pair;
using test_support::TempDir;
using test_support::write_file;

struct Outcome {
  int exit_code;
  std::string out;
  std::string err;
};

// Swaps a stream's buffer for a string buffer for as long as it lives.
class Capture {
 public:
  explicit Capture(std::ostream& stream) : stream_(stream), old_(stream.rdbuf(buffer_.rdbuf())) {}
  ~Capture() { stream_.rdbuf(old_); }
  std::string text() const { return buffer_.str(); }

 private:
  std::ostream& stream_;
  std::ostringstream buffer_;
  std::streambuf* old_;
};

// What main() does with CLI11_PARSE, with the streams captured.
Outcome run(std::vector<std::string> args) {
  CLI::App app{"mailport"};
  app.require_subcommand(1);
  setup_config_command(app);
  std::reverse(args.begin(), args.end());
  Capture out(std::cout);
  Capture err(std::cerr);
  int code = 0;
  try {
    app.parse(args);
  } catch (const CLI::ParseError& e) {
    code = app.exit(e);
  }
  return {code, out.text(), err.text()};
}

class ConfigCheck : public ::testing::Test {
 protected:
  void SetUp() override {
    write_cert_pair(dir_ / "cert.pem", dir_ / "key.pem");
    write_file(dir_ / "passwd", "");
  }

  std::string write_config(const std::string& session) const {
    write_file(dir_ / "mailport.toml",
               "[tls]\ncert = \"cert.pem\"\nkey = \"key.pem\"\n[auth]\npasswd = \"passwd\"\n"
               "[mail]\nlocation = \"mail/%u\"\n[session]\n" +
                   session);
    return (dir_ / "mailport.toml").string();
  }

  TempDir dir_;
};

TEST_F(ConfigCheck, PrintsTheEffectiveConfigurationAndSucceeds) {
  const std::string file = write_config("greeting = \"hello\"\n");
  const Outcome outcome = run({"config", "check", "--config", file});
  EXPECT_EQ(outcome.exit_code, kExitOk) << outcome.err;
  EXPECT_EQ(outcome.err, "");
  const config::Config printed = config::load_string(outcome.out, "/printed.toml");
  EXPECT_EQ(printed.session.greeting, "hello");
  EXPECT_EQ(printed.tls.cert, dir_ / "cert.pem");
  EXPECT_EQ(printed.mail.location, (dir_ / "mail/%u").string());
}

TEST_F(ConfigCheck, ValidationErrorExitsWithConfigCode) {
  const std::string file = write_config("idle_timeout = \"5m\"\n");
  const Outcome outcome = run({"config", "check", "--config", file});
  EXPECT_EQ(outcome.exit_code, kExitConfig);
  EXPECT_EQ(outcome.out, "");
  EXPECT_EQ(outcome.err, "mailport: config check: " + file +
                             ":9: session.idle_timeout: 5m is shorter than the 10 minutes RFC "
                             "1939 requires\n");
}

TEST_F(ConfigCheck, LoadErrorExitsWithConfigCode) {
  const std::string file = write_config("colour = \"blue\"\n");
  const Outcome outcome = run({"config", "check", "--config", file});
  EXPECT_EQ(outcome.exit_code, kExitConfig);
  EXPECT_EQ(
      outcome.err.rfind("mailport: config check: " + file + ":9: session.colour: unknown key", 0),
      0u)
      << outcome.err;
}

TEST_F(ConfigCheck, MissingFileExitsWithConfigCode) {
  const Outcome outcome = run({"config", "check", "--config", (dir_ / "absent.toml").string()});
  EXPECT_EQ(outcome.exit_code, kExitConfig);
  EXPECT_NE(outcome.err.find("absent.toml: cannot read: No such file or directory"),
            std::string::npos)
      << outcome.err;
}

TEST_F(ConfigCheck, EmbeddedDefaultUsesMailportHome) {
  const std::filesystem::path home = dir_ / "home";
  ::setenv("MAILPORT_HOME", home.c_str(), 1);
  const Outcome before = run({"config", "check"});
  EXPECT_EQ(before.exit_code, kExitConfig);
  EXPECT_NE(before.err.find("mailport: config check: <embedded default>: tls.cert: cannot open"),
            std::string::npos)
      << before.err;
  EXPECT_NE(before.err.find("creates the embedded default's files in " + home.string()),
            std::string::npos)
      << before.err;

  write_cert_pair(home / "tls/cert.pem", home / "tls/key.pem");
  write_file(home / "passwd", "");
  const Outcome after = run({"config", "check"});
  ::unsetenv("MAILPORT_HOME");
  EXPECT_EQ(after.exit_code, kExitOk) << after.err;
  EXPECT_NE(after.out.find("passwd = \"" + (home / "passwd").string() + "\""), std::string::npos)
      << after.out;
}

TEST_F(ConfigCheck, RequiresTheCheckSubcommand) {
  EXPECT_NE(run({"config"}).exit_code, kExitOk);
}

}  // namespace
}  // namespace mailport::cli
