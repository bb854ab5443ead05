// Counting logins per listener from the server's log lines.
#include "migrate/login_report.hpp"

#include <gtest/gtest.h>

namespace mailport::migrate {
namespace {

constexpr const char* kPlain =
    "2026-11-20T08:00:00.001 info session=1 event=login result=ok user=\"alice\" mech=USER "
    "rip=127.0.0.1 rport=4000 listener=pop3 tls=none";
constexpr const char* kStls =
    "2026-11-21T09:00:00.001 info session=2 event=login result=ok user=\"alice\" mech=PLAIN "
    "rip=127.0.0.1 rport=4001 listener=pop3 tls=TLSv1.3";
constexpr const char* kPop3s =
    "2026-11-22T10:00:00.001 info session=3 event=login result=ok user=\"bob\" mech=PLAIN "
    "rip=127.0.0.1 rport=4002 listener=pop3s tls=TLSv1.3";
constexpr const char* kFailed =
    "2026-11-22T10:00:00.001 warn session=4 event=login result=failed user=\"carol\" mech=USER "
    "rip=127.0.0.1 rport=4003 listener=pop3 tls=none reason=\"bad password\"";

TEST(LoginReport, CountsSuccessfulLoginsPerListener) {
  LoginReport report;
  EXPECT_TRUE(report.add_line(kPlain));
  EXPECT_TRUE(report.add_line(kStls));
  EXPECT_TRUE(report.add_line(kPop3s));
  EXPECT_FALSE(report.add_line(kFailed));
  EXPECT_FALSE(report.add_line("2026-11-22T10:00:00.001 info session=3 event=connect rip=x"));
  const auto& alice = report.users().at("alice");
  EXPECT_EQ(alice.plain_110, 1u);
  EXPECT_EQ(alice.stls_110, 1u);
  EXPECT_EQ(alice.last_110, "2026-11-21T09:00:00.001");
  EXPECT_EQ(alice.last_110_kind, "stls");
  EXPECT_EQ(report.users().at("bob").pop3s, 1u);
  EXPECT_FALSE(report.users().contains("carol"));
  EXPECT_EQ(report.lines_counted(), 3u);
}

TEST(LoginReport, SinceSkipsOlderLines) {
  LoginReport report("2026-11-21");
  EXPECT_FALSE(report.add_line(kPlain));
  EXPECT_TRUE(report.add_line(kStls));
  EXPECT_EQ(report.users().at("alice").plain_110, 0u);
}

TEST(LoginReport, QuotedNamesCannotForgeFields) {
  LoginReport report;
  EXPECT_TRUE(report.add_line(
      "2026-11-20T08:00:00.001 info session=1 event=login result=ok "
      "user=\"eve listener=pop3s tls=x \\\"q\" mech=USER rip=1 rport=2 listener=pop3 tls=none"));
  EXPECT_EQ(report.users().begin()->first, "eve listener=pop3s tls=x \"q");
  EXPECT_EQ(report.users().begin()->second.plain_110, 1u);
}

TEST(LogField, BareAndQuotedValues) {
  EXPECT_EQ(log_field("a=1 ba=2 b=3", "b"), "3");
  EXPECT_EQ(log_field("x user=\"a \\\\ b\" y=1", "user"), "a \\ b");
  EXPECT_EQ(log_field("x=1", "y"), "");
}

}  // namespace
}  // namespace mailport::migrate
