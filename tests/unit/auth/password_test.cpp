#include "auth/password.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace mailport::auth {
namespace {

struct Fixture {
  std::string tool;
  std::string scheme;  // "-" when the hash's scheme is outside the Scheme enum
  std::string password;
  std::string stored;
};

std::vector<Fixture> load_fixtures() {
  std::ifstream in(MAILPORT_AUTH_FIXTURES "/hashes.tsv");
  std::vector<Fixture> rows;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::vector<std::string> cols;
    std::size_t start = 0;
    for (std::size_t tab; (tab = line.find('\t', start)) != std::string::npos; start = tab + 1) {
      cols.push_back(line.substr(start, tab - start));
    }
    cols.push_back(line.substr(start));
    EXPECT_EQ(cols.size(), 4u) << line;
    if (cols.size() == 4) rows.push_back({cols[0], cols[1], cols[2], cols[3]});
  }
  return rows;
}

const std::vector<Fixture>& fixtures() {
  static const std::vector<Fixture> rows = load_fixtures();
  return rows;
}

constexpr Scheme kAllSchemes[] = {Scheme::argon2id, Scheme::blf_crypt, Scheme::sha512_crypt,
                                  Scheme::sha256_crypt, Scheme::plain};

TEST(SchemeNames, ParseIsCaseInsensitiveWithAliases) {
  EXPECT_EQ(parse_scheme("ARGON2ID"), Scheme::argon2id);
  EXPECT_EQ(parse_scheme("argon2id"), Scheme::argon2id);
  EXPECT_EQ(parse_scheme("blf-crypt"), Scheme::blf_crypt);
  EXPECT_EQ(parse_scheme("SHA512-crypt"), Scheme::sha512_crypt);
  EXPECT_EQ(parse_scheme("sha256-CRYPT"), Scheme::sha256_crypt);
  EXPECT_EQ(parse_scheme("plain"), Scheme::plain);
  EXPECT_EQ(parse_scheme("CLEAR"), Scheme::plain);
  EXPECT_EQ(parse_scheme("cleartext"), Scheme::plain);
  EXPECT_EQ(parse_scheme("MD5"), std::nullopt);
  EXPECT_EQ(parse_scheme("ARGON2"), std::nullopt);
  EXPECT_EQ(parse_scheme(""), std::nullopt);
}

TEST(SchemeNames, NameRoundTrips) {
  for (const Scheme scheme : kAllSchemes) EXPECT_EQ(parse_scheme(scheme_name(scheme)), scheme);
  EXPECT_EQ(scheme_name(Scheme::plain), "PLAIN");
  EXPECT_EQ(scheme_name(Scheme::blf_crypt), "BLF-CRYPT");
}

TEST(Fixtures, CoverEveryToolAndScheme) {
  std::set<std::string> seen;
  for (const auto& row : fixtures()) seen.insert(row.tool + "/" + row.scheme);
  ASSERT_GE(fixtures().size(), 40u);
  for (const char* expected : {"doveadm/ARGON2ID", "doveadm/BLF-CRYPT", "doveadm/SHA512-CRYPT",
                               "doveadm/SHA256-CRYPT", "doveadm/PLAIN", "mkpasswd/SHA512-CRYPT",
                               "mkpasswd/SHA256-CRYPT", "mkpasswd/BLF-CRYPT", "argon2/ARGON2ID"}) {
    EXPECT_TRUE(seen.count(expected)) << expected;
  }
}

TEST(Fixtures, VerifyWithTheRightPassword) {
  for (const auto& row : fixtures()) {
    EXPECT_TRUE(verify_password(row.stored, row.password)) << row.tool << " " << row.stored;
  }
}

TEST(Fixtures, RejectWrongPasswords) {
  for (const auto& row : fixtures()) {
    EXPECT_FALSE(verify_password(row.stored, row.password + "x")) << row.stored;
    EXPECT_FALSE(verify_password(row.stored, row.password.substr(1))) << row.stored;
    EXPECT_FALSE(verify_password(row.stored, "")) << row.stored;
  }
}

TEST(Fixtures, ReportTheirScheme) {
  for (const auto& row : fixtures()) {
    const auto scheme = stored_scheme(row.stored);
    if (row.scheme == "-") {
      EXPECT_EQ(scheme, std::nullopt) << row.stored;
    } else {
      ASSERT_TRUE(scheme.has_value()) << row.stored;
      EXPECT_EQ(scheme_name(*scheme), row.scheme) << row.stored;
    }
  }
}

TEST(Fixtures, TruncatedHashesNeverVerify) {
  for (const auto& row : fixtures()) {
    const auto& stored = row.stored;
    for (const std::size_t cut : {std::size_t{1}, std::size_t{5}, stored.size() / 2}) {
      if (cut >= stored.size()) continue;
      const auto truncated = stored.substr(0, stored.size() - cut);
      EXPECT_FALSE(verify_password(truncated, row.password)) << truncated;
    }
    if (row.scheme != "PLAIN") {
      EXPECT_FALSE(verify_password(stored + "A", row.password)) << stored;
    }
  }
}

TEST(Verify, MalformedAndUnknownValuesAreFalse) {
  const std::string pw = "secret";
  for (const char* stored : {
           "",
           "secret",                              // no scheme and not a crypt(3) string
           "{PLAIN",                              // unterminated scheme
           "{}secret",                            // empty scheme name
           "{SHA1}5en6G6MezRroT3XKqkdPOmY/BfQ=",  // a scheme mailport does not implement
           "{PLAIN.b64}c2VjcmV0",                 // encoding suffixes are not supported
           "{SHA512-CRYPT}", "{SHA512-CRYPT}$6$", "{SHA512-CRYPT}$6$salt$", "{ARGON2ID}",
           "{ARGON2ID}$argon2id$v=19$m=65536,t=3,p=1$",
           "{ARGON2ID}$argon2id$v=19$m=0,t=0,p=0$c2FsdHNhbHQ$aGFzaA", "{BLF-CRYPT}$2y$",
           "{BLF-CRYPT}$2y$99$abcdefghijklmnopqrstuu",
           "abgOeLfPimXQo",  // DES crypt of "test": legacy format, deliberately refused
       }) {
    EXPECT_FALSE(verify_password(stored, pw)) << stored;
  }
  EXPECT_FALSE(verify_password("abgOeLfPimXQo", "test"));
  for (const char* stored : {"", "secret", "{PLAIN", "{SHA1}x", "{PLAIN.b64}c2VjcmV0"}) {
    EXPECT_EQ(stored_scheme(stored), std::nullopt) << stored;
  }
}

TEST(Verify, SchemePrefixMustMatchTheHashFamily) {
  const auto sha512 = hash_password("secret", Scheme::sha512_crypt);
  ASSERT_TRUE(sha512.ok());
  const auto bare = sha512->substr(sha512->find('}') + 1);
  EXPECT_TRUE(verify_password(bare, "secret"));  // no prefix: crypt(3)
  EXPECT_TRUE(verify_password("{CRYPT}" + bare, "secret"));
  EXPECT_TRUE(verify_password("{sha512-crypt}" + bare, "secret"));
  EXPECT_FALSE(verify_password("{SHA256-CRYPT}" + bare, "secret"));
  EXPECT_FALSE(verify_password("{BLF-CRYPT}" + bare, "secret"));
  EXPECT_FALSE(verify_password("{ARGON2ID}" + bare, "secret"));
  // PLAIN compares literally: a crypt string stored as PLAIN is just a strange password.
  EXPECT_FALSE(verify_password("{PLAIN}" + bare, "secret"));
  EXPECT_TRUE(verify_password("{PLAIN}" + bare, bare));
}

TEST(Verify, PasswordWithNulByteIsRejected) {
  const std::string with_nul("secret\0x", 8);
  EXPECT_FALSE(verify_password("{PLAIN}secret", with_nul));
  EXPECT_FALSE(verify_password("{PLAIN}" + with_nul, with_nul));
  const auto sha = hash_password("secret", Scheme::sha256_crypt);
  ASSERT_TRUE(sha.ok());
  EXPECT_FALSE(verify_password(*sha, with_nul));
}

TEST(Hash, RoundTripsForEveryScheme) {
  for (const Scheme scheme : kAllSchemes) {
    for (const std::string pw : {"secret", "pässwörd with spaces", "a"}) {
      const auto stored = hash_password(pw, scheme);
      ASSERT_TRUE(stored.ok()) << scheme_name(scheme) << ": " << stored.error().describe();
      EXPECT_TRUE(stored->starts_with("{" + std::string(scheme_name(scheme)) + "}")) << *stored;
      EXPECT_EQ(stored_scheme(*stored), scheme) << *stored;
      EXPECT_TRUE(verify_password(*stored, pw)) << *stored;
      EXPECT_FALSE(verify_password(*stored, pw + "!")) << *stored;
    }
  }
}

TEST(Hash, SaltsDiffer) {
  for (const Scheme scheme : kAllSchemes) {
    if (scheme == Scheme::plain) continue;
    const auto a = hash_password("secret", scheme);
    const auto b = hash_password("secret", scheme);
    ASSERT_TRUE(a.ok() && b.ok());
    EXPECT_NE(*a, *b) << scheme_name(scheme);
  }
}

TEST(Hash, UsesTheDocumentedCost) {
  const auto argon = hash_password("secret", Scheme::argon2id);
  ASSERT_TRUE(argon.ok());
  EXPECT_TRUE(argon->starts_with("{ARGON2ID}$argon2id$v=19$m=65536,t=3,p=1$")) << *argon;
  const auto bcrypt = hash_password("secret", Scheme::blf_crypt);
  ASSERT_TRUE(bcrypt.ok());
  EXPECT_TRUE(bcrypt->starts_with("{BLF-CRYPT}$2y$10$")) << *bcrypt;
  const auto sha512 = hash_password("secret", Scheme::sha512_crypt);
  ASSERT_TRUE(sha512.ok());
  EXPECT_TRUE(sha512->starts_with("{SHA512-CRYPT}$6$rounds=100000$")) << *sha512;
  const auto sha256 = hash_password("secret", Scheme::sha256_crypt);
  ASSERT_TRUE(sha256.ok());
  EXPECT_TRUE(sha256->starts_with("{SHA256-CRYPT}$5$rounds=100000$")) << *sha256;
}

TEST(Hash, DefaultSchemeIsArgon2id) {
  const auto stored = hash_password("secret");
  ASSERT_TRUE(stored.ok());
  EXPECT_EQ(stored_scheme(*stored), Scheme::argon2id);
}

TEST(Hash, PlainKeepsThePassword) {
  const auto stored = hash_password("secret", Scheme::plain);
  ASSERT_TRUE(stored.ok());
  EXPECT_EQ(*stored, "{PLAIN}secret");
}

TEST(Hash, RefusesNulBytes) {
  const auto stored = hash_password(std::string("se\0cret", 7), Scheme::sha512_crypt);
  ASSERT_FALSE(stored.ok());
  EXPECT_TRUE(stored.error().is(errc::invalid_input));
}

TEST(DummyHash, IsARealDefaultSchemeHashComputedOnce) {
  const std::string& first = dummy_hash();
  EXPECT_EQ(stored_scheme(first), kDefaultScheme);
  EXPECT_TRUE(first.starts_with("{ARGON2ID}$argon2id$v=19$m=65536,t=3,p=1$")) << first;
  EXPECT_FALSE(verify_password(first, ""));
  EXPECT_FALSE(verify_password(first, "secret"));
  std::vector<const std::string*> seen(4);
  std::vector<std::thread> threads;
  for (auto& slot : seen) threads.emplace_back([&slot] { slot = &dummy_hash(); });
  for (auto& thread : threads) thread.join();
  for (const auto* hash : seen) EXPECT_EQ(hash, &first);
}

TEST(Verify, IsSafeFromSeveralThreads) {
  // A fixture at crypt's default 5000 rounds keeps this test quick.
  const Fixture* cheap = nullptr;
  for (const auto& row : fixtures()) {
    if (row.scheme == "SHA512-CRYPT" && row.stored.find("rounds=") == std::string::npos) {
      cheap = &row;
    }
  }
  ASSERT_NE(cheap, nullptr);
  const auto stored = &cheap->stored;
  const std::string password = cheap->password;
  std::vector<int> good(4, 0);
  std::vector<int> bad(4, 0);
  std::vector<std::thread> threads;
  for (std::size_t t = 0; t < good.size(); ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 20; ++i) {
        good[t] += verify_password(*stored, password);
        bad[t] += verify_password(*stored, password + std::to_string(i));
      }
    });
  }
  for (auto& thread : threads) thread.join();
  for (std::size_t t = 0; t < good.size(); ++t) {
    EXPECT_EQ(good[t], 20);
    EXPECT_EQ(bad[t], 0);
  }
}

}  // namespace
}  // namespace mailport::auth
