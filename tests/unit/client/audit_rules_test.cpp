#include <gtest/gtest.h>

#include <algorithm>

#include "client/audit_facts.hpp"

namespace mailport::client {
namespace {

constexpr std::int64_t kNow = 1'800'000'000;
constexpr std::int64_t kDay = 86400;

CheckOptions options() {
  CheckOptions o;
  o.host = "mail.example.org";
  return o;
}

CertFacts good_cert() {
  CertFacts cert;
  cert.name_matches = true;
  cert.names = "mail.example.org";
  cert.not_before = kNow - 10 * kDay;
  cert.not_after = kNow + 80 * kDay;
  cert.key_type = "EC";
  cert.key_bits = 256;
  cert.curve = "prime256v1";
  cert.signature = "ecdsa-with-SHA256";
  cert.issuer = "Example CA";
  return cert;
}

TlsFacts good_tls() {
  TlsFacts tls;
  tls.handshake_ok = true;
  tls.negotiated = {"TLS 1.3", "TLS_AES_256_GCM_SHA384", "X25519", true, true, false};
  tls.cert = good_cert();
  tls.versions = {{TlsVersion::tls1_0, false},
                  {TlsVersion::tls1_1, false},
                  {TlsVersion::tls1_2, true},
                  {TlsVersion::tls1_3, true}};
  tls.resumed = true;
  return tls;
}

PortFacts good_pop3s() {
  PortFacts facts;
  facts.port = 995;
  facts.implicit_tls = true;
  facts.reachable = true;
  facts.greeting_ok = true;
  facts.greeting = "POP3 ready.";
  facts.caps = Capabilities::parse({"USER", "UIDL", "SASL PLAIN"});
  facts.tls = good_tls();
  return facts;
}

PortFacts good_pop3() {
  PortFacts facts;
  facts.port = 110;
  facts.reachable = true;
  facts.greeting_ok = true;
  facts.greeting = "POP3 ready.";
  facts.caps = Capabilities::parse({"UIDL", "STLS"});
  facts.caps_tls = Capabilities::parse({"USER", "UIDL", "SASL PLAIN"});
  facts.stls_offered = true;
  facts.tls = good_tls();
  return facts;
}

const Finding* find(const std::vector<Finding>& findings, std::string_view port,
                    std::string_view check) {
  const auto it = std::ranges::find_if(
      findings, [&](const Finding& f) { return f.port == port && f.check == check; });
  return it == findings.end() ? nullptr : &*it;
}

Severity severity_of(const std::vector<Finding>& findings, std::string_view port,
                     std::string_view check) {
  const Finding* f = find(findings, port, check);
  EXPECT_NE(f, nullptr) << port << " " << check;
  return f ? f->severity : Severity::pass;
}

TEST(AuditRules, WellConfiguredServerPassesEverything) {
  const auto s = good_pop3s();
  const auto p = good_pop3();
  auto findings = judge_pop3s(options(), s, &p, kNow);
  const auto more = judge_pop3(options(), p, &s, kNow);
  findings.insert(findings.end(), more.begin(), more.end());
  for (const auto& f : findings) {
    EXPECT_EQ(f.severity, Severity::pass) << f.port << " " << f.check << ": " << f.explanation;
    EXPECT_TRUE(f.fix.empty());
  }
  for (const char* check : {"connect", "tls-versions", "cipher", "weak-ciphers", "certificate",
                            "hostname", "expiry", "key", "resumption", "version-leak"}) {
    EXPECT_NE(find(findings, "995", check), nullptr) << check;
    if (std::string_view(check) != "connect" && std::string_view(check) != "version-leak") {
      EXPECT_NE(find(findings, "110+STLS", check), nullptr) << check;
    }
  }
  EXPECT_NE(find(findings, "110", "plaintext-auth"), nullptr);
  const Finding* capa = find(findings, "995", "capa");
  ASSERT_NE(capa, nullptr);
  EXPECT_EQ(capa->explanation, "CAPA: USER UIDL SASL(PLAIN)");
  EXPECT_EQ(find(findings, "110", "capa")->explanation, "CAPA: UIDL STLS");
  EXPECT_NE(find(findings, "110", "stls"), nullptr);
  CheckReport report{"h", findings, true};
  EXPECT_EQ(report.exit_status(), 0);
}

TEST(AuditRules, PlaintextLoginBeforeTlsFailsWithTheFix) {
  auto p = good_pop3();
  p.user_before_tls = true;
  p.sasl_before_tls = {"PLAIN"};
  const auto findings = judge_pop3(options(), p, nullptr, kNow);
  const Finding* f = find(findings, "110", "plaintext-auth");
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->severity, Severity::fail);
  EXPECT_NE(f->explanation.find("USER/PASS, AUTH PLAIN"), std::string::npos);
  EXPECT_NE(f->fix.find("plaintext_auth"), std::string::npos);
}

TEST(AuditRules, MissingStlsAndMissingCapa) {
  auto p = good_pop3();
  p.stls_offered = false;
  p.tls.reset();
  p.caps.reset();
  p.caps_tls.reset();
  const auto findings = judge_pop3(options(), p, nullptr, kNow);
  EXPECT_EQ(severity_of(findings, "110", "stls"), Severity::fail);
  EXPECT_EQ(severity_of(findings, "110", "capa"), Severity::warn);
  EXPECT_EQ(find(findings, "110+STLS", "tls-versions"), nullptr);
}

TEST(AuditRules, LegacyTlsVersionsFail) {
  auto tls = good_tls();
  tls.versions[TlsVersion::tls1_0] = true;
  const auto findings = judge_tls("995", "mail.example.org", tls, kNow);
  const Finding* f = find(findings, "995", "tls-versions");
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->severity, Severity::fail);
  EXPECT_NE(f->explanation.find("TLS 1.0, TLS 1.2, TLS 1.3"), std::string::npos);
}

TEST(AuditRules, CipherWithoutForwardSecrecyOrAeadAndWeakSuites) {
  auto tls = good_tls();
  tls.negotiated = {"TLS 1.2", "AES128-SHA", "", false, false, false};
  tls.weak_cipher = "AES128-SHA";
  auto findings = judge_tls("995", "h", tls, kNow);
  EXPECT_EQ(severity_of(findings, "995", "cipher"), Severity::fail);
  EXPECT_EQ(severity_of(findings, "995", "weak-ciphers"), Severity::fail);
  tls.negotiated = {"TLS 1.2", "ECDHE-RSA-AES128-SHA", "X25519", false, true, false};
  findings = judge_tls("995", "h", tls, kNow);
  EXPECT_EQ(severity_of(findings, "995", "cipher"), Severity::warn);
}

TEST(AuditRules, CertificateProblems) {
  auto tls = good_tls();
  tls.cert->chain_error = 18;
  tls.cert->chain_error_text = "self-signed certificate";
  tls.cert->name_matches = false;
  tls.cert->names = "localhost, 127.0.0.1";
  tls.cert->not_after = kNow - 3 * kDay;
  auto findings = judge_tls("995", "mail.example.org", tls, kNow);
  const Finding* chain = find(findings, "995", "certificate");
  ASSERT_NE(chain, nullptr);
  EXPECT_EQ(chain->severity, Severity::fail);
  EXPECT_NE(chain->explanation.find("self-signed certificate"), std::string::npos);
  const Finding* name = find(findings, "995", "hostname");
  ASSERT_NE(name, nullptr);
  EXPECT_EQ(name->severity, Severity::fail);
  EXPECT_NE(name->explanation.find("localhost, 127.0.0.1, not mail.example.org"),
            std::string::npos);
  const Finding* expiry = find(findings, "995", "expiry");
  ASSERT_NE(expiry, nullptr);
  EXPECT_EQ(expiry->severity, Severity::fail);
  EXPECT_NE(expiry->explanation.find("expired 3 days ago"), std::string::npos);
}

TEST(AuditRules, ExpiryWarnsUnderThreeWeeks) {
  auto tls = good_tls();
  tls.cert->not_after = kNow + 20 * kDay + 5;
  EXPECT_EQ(severity_of(judge_tls("995", "h", tls, kNow), "995", "expiry"), Severity::warn);
  tls.cert->not_after = kNow + 21 * kDay + 5;
  EXPECT_EQ(severity_of(judge_tls("995", "h", tls, kNow), "995", "expiry"), Severity::pass);
  tls.cert->not_before = kNow + 1;
  EXPECT_EQ(severity_of(judge_tls("995", "h", tls, kNow), "995", "expiry"), Severity::fail);
}

TEST(AuditRules, KeyStrengthAndSignature) {
  auto tls = good_tls();
  tls.cert->key_type = "RSA";
  tls.cert->curve.clear();
  tls.cert->key_bits = 1024;
  tls.cert->signature = "sha256WithRSAEncryption";
  EXPECT_EQ(severity_of(judge_tls("995", "h", tls, kNow), "995", "key"), Severity::fail);
  tls.cert->key_bits = 2048;
  EXPECT_EQ(severity_of(judge_tls("995", "h", tls, kNow), "995", "key"), Severity::pass);
  tls.cert->signature = "sha1WithRSAEncryption";
  EXPECT_EQ(severity_of(judge_tls("995", "h", tls, kNow), "995", "key"), Severity::fail);
}

TEST(AuditRules, NoResumptionWarns) {
  auto tls = good_tls();
  tls.resumed = false;
  EXPECT_EQ(severity_of(judge_tls("995", "h", tls, kNow), "995", "resumption"), Severity::warn);
  tls.resumed.reset();
  EXPECT_EQ(severity_of(judge_tls("995", "h", tls, kNow), "995", "resumption"), Severity::warn);
}

TEST(AuditRules, VersionLeaksAndApop) {
  auto s = good_pop3s();
  s.greeting = "Example POP3 2.3.19 ready <123.456@mail.example.org>";
  auto findings = judge_pop3s(options(), s, nullptr, kNow);
  EXPECT_EQ(severity_of(findings, "995", "version-leak"), Severity::warn);
  EXPECT_EQ(severity_of(findings, "995", "apop"), Severity::warn);
  s.greeting = "ready";
  s.caps = Capabilities::parse({"IMPLEMENTATION Example-1"});
  findings = judge_pop3s(options(), s, nullptr, kNow);
  const Finding* leak = find(findings, "995", "version-leak");
  ASSERT_NE(leak, nullptr);
  EXPECT_EQ(leak->severity, Severity::warn);
  EXPECT_NE(leak->explanation.find("IMPLEMENTATION Example-1"), std::string::npos);
  EXPECT_EQ(find(findings, "995", "apop"), nullptr);
}

TEST(AuditRules, CleartextOnTheTlsPortFails) {
  PortFacts s;
  s.port = 995;
  s.reachable = true;
  s.cleartext = true;
  s.greeting = "POP3 ready";
  const auto findings = judge_pop3s(options(), s, nullptr, kNow);
  ASSERT_EQ(findings.size(), 1u);
  EXPECT_EQ(findings[0].check, "cleartext");
  EXPECT_EQ(findings[0].severity, Severity::fail);
}

TEST(AuditRules, ClosedPortsDependOnTheOtherPort) {
  PortFacts closed_s;
  closed_s.port = 995;
  closed_s.connect_error = "refused";
  const auto p = good_pop3();
  EXPECT_EQ(severity_of(judge_pop3s(options(), closed_s, &p, kNow), "995", "connect"),
            Severity::warn);
  EXPECT_EQ(severity_of(judge_pop3s(options(), closed_s, nullptr, kNow), "995", "connect"),
            Severity::fail);
  auto no_stls = good_pop3();
  no_stls.stls_offered = false;
  no_stls.tls.reset();
  const auto lonely = judge_pop3s(options(), closed_s, &no_stls, kNow);
  EXPECT_EQ(severity_of(lonely, "995", "connect"), Severity::fail);
  EXPECT_NE(lonely[0].fix.find("port 995"), std::string::npos);
  EXPECT_NE(judge_pop3s(options(), closed_s, nullptr, kNow)[0].fix.find("firewall"),
            std::string::npos);
  PortFacts closed_p;
  closed_p.port = 110;
  const auto s = good_pop3s();
  EXPECT_EQ(severity_of(judge_pop3(options(), closed_p, &s, kNow), "110", "connect"),
            Severity::pass);
}

TEST(CheckReport, ExitStatus) {
  CheckReport report;
  EXPECT_EQ(report.exit_status(), 3);
  report.connected = true;
  EXPECT_EQ(report.exit_status(), 0);
  report.findings.push_back({"995", "a", Severity::warn, "x", "y"});
  EXPECT_EQ(report.exit_status(), 1);
  report.findings.push_back({"995", "b", Severity::fail, "x", "y"});
  EXPECT_EQ(report.exit_status(), 2);
}

TEST(CheckReport, TableAndJson) {
  CheckReport report;
  report.host = "mail.example.org";
  report.connected = true;
  report.findings.push_back({"995", "tls-versions", Severity::pass, "accepts TLS 1.3", ""});
  report.findings.push_back({"110", "stls", Severity::fail, "STLS is \"off\"", "Offer STLS."});
  const std::string table = render_table(report, false);
  EXPECT_NE(table.find("PORT  CHECK           RESULT DETAIL\n"), std::string::npos) << table;
  EXPECT_NE(table.find("995   tls-versions    PASS   accepts TLS 1.3\n"), std::string::npos);
  EXPECT_NE(table.find("110   stls            FAIL   STLS is \"off\"\n"), std::string::npos);
  EXPECT_NE(table.find("\n                             fix: Offer STLS.\n"), std::string::npos);
  EXPECT_NE(table.find("1 FAIL, 0 WARN, 1 PASS (exit status 2)"), std::string::npos);
  EXPECT_NE(render_table(report, true).find("\x1b[1;31mFAIL\x1b[0m"), std::string::npos);
  const std::string json = render_json(report);
  EXPECT_NE(json.find("\"host\" : \"mail.example.org\""), std::string::npos) << json;
  EXPECT_NE(json.find("\"exit_status\" : 2"), std::string::npos) << json;
  EXPECT_NE(json.find("STLS is \\\"off\\\""), std::string::npos) << json;
}

TEST(CheckReport, StlsRowsIdenticalToAnotherPortCollapseInTheTableOnly) {
  CheckReport report;
  report.host = "h";
  report.connected = true;
  for (const char* port : {"995", "110+STLS"}) {
    report.findings.push_back({port, "tls-versions", Severity::pass, "accepts TLS 1.3", ""});
    report.findings.push_back({port, "resumption", Severity::warn, "no resumption", "Enable it."});
  }
  std::string table = render_table(report, false);
  EXPECT_NE(table.find("110+STLS  tls             WARN   same 2 TLS results as port 995\n"),
            std::string::npos)
      << table;
  EXPECT_EQ(table.find("110+STLS  resumption"), std::string::npos);
  EXPECT_NE(render_json(report).find("\"port\" : \"110+STLS\""), std::string::npos);
  report.findings.back().explanation = "different";
  table = render_table(report, false);
  EXPECT_NE(table.find("110+STLS  resumption      WARN   different"), std::string::npos) << table;
}

}  // namespace
}  // namespace mailport::client
