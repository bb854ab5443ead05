// The shipped example configurations must stay loadable and valid as the schema evolves.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>

#include "config/config.hpp"
#include "test_support.hpp"

namespace mailport::config {
namespace {

using test_support::TempDir;
using test_support::write_file;
using testing::write_cert_pair;

const std::filesystem::path kSourceDir = MAILPORT_SOURCE_DIR;

std::string read_text(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// The example's files live under /etc; point them at real ones to run validate().
void expect_valid_with_real_files(Config config) {
  const TempDir dir;
  config.tls.cert = dir / "cert.pem";
  config.tls.key = dir / "key.pem";
  config.auth.passwd = dir / "passwd";
  write_cert_pair(config.tls.cert, config.tls.key);
  write_file(config.auth.passwd, "");
  EXPECT_NO_THROW(validate(config));
}

TEST(Examples, ContribConfigurationIsValid) {
  const Config config = load_file(kSourceDir / "contrib/mailport.toml");
  EXPECT_EQ(config.listen.pop3s, (Endpoint{"0.0.0.0", 995}));
  EXPECT_EQ(config.listen.pop3, (Endpoint{"0.0.0.0", 110}));
  EXPECT_EQ(config.auth.plaintext_auth, PlaintextAuth::never);
  EXPECT_EQ(config.tls.cert, "/etc/mailport/tls/fullchain.pem");
  EXPECT_EQ(config.auth.passwd, "/etc/mailport/passwd");
  EXPECT_EQ(config.session.implementation, std::nullopt);
  expect_valid_with_real_files(config);
}

TEST(Examples, DocumentationExampleIsValid) {
  const std::string doc = read_text(kSourceDir / "docs/configuration.md");
  const std::string fence = "```toml\n";
  const std::size_t start = doc.rfind(fence);
  ASSERT_NE(start, std::string::npos);
  const std::size_t end = doc.find("```", start + fence.size());
  ASSERT_NE(end, std::string::npos);
  const Config config = load_string(doc.substr(start + fence.size(), end - start - fence.size()),
                                    "/etc/mailport/example.toml");
  EXPECT_EQ(config.mail.location, "/var/mail/%d/%n/Maildir");
  expect_valid_with_real_files(config);
}

}  // namespace
}  // namespace mailport::config
