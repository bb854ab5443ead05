// The metrics registry's exposition: names, labels, histogram buckets and the open-connection
// gauge's bookkeeping, checked on the text a scraper would read.
#include "net/metrics.hpp"

#include <gtest/gtest.h>

#include <sstream>
#include <string>

namespace mailport::net::metrics {
namespace {

using namespace std::chrono_literals;

// The value of the sample line that starts with `series` ("name{labels}"), or -1 if absent.
double sample(const std::string& text, const std::string& series) {
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind(series + " ", 0) == 0) return std::stod(line.substr(series.size() + 1));
  }
  return -1;
}

TEST(Metrics, StartsAtZeroWithHelpAndType) {
  Registry registry;
  const std::string text = registry.text();
  EXPECT_NE(text.find("# TYPE mailport_connections_total counter"), std::string::npos) << text;
  EXPECT_NE(text.find("# TYPE mailport_auth_duration_seconds histogram"), std::string::npos);
  EXPECT_NE(text.find("# HELP mailport_messages_retrieved_total "), std::string::npos);
  EXPECT_EQ(sample(text, "mailport_messages_retrieved_total"), 0);
  EXPECT_EQ(sample(text, "mailport_uidl_churn_alarms_total"), 0);
  EXPECT_EQ(sample(text, "mailport_penalties_in_force{kind=\"ban\"}"), 0);
  EXPECT_EQ(sample(text, "mailport_connections_total{listener=\"pop3s\"}"), 0);
  EXPECT_EQ(sample(text, "mailport_connections_open{listener=\"lmtp\",tls=\"none\"}"), 0);
  EXPECT_EQ(sample(text, "mailport_tls_handshake_failures_total{listener=\"pop3s\"}"), 0);
  // A family appears with its first series: logins, once someone logged in.
  EXPECT_EQ(text.find("mailport_logins_total"), std::string::npos);
}

TEST(Metrics, CountsLoginsByMechanismAndResult) {
  Registry registry;
  registry.login("PLAIN", "ok", 20ms);
  registry.login("PLAIN", "ok", 30ms);
  registry.login("USER", "failed", 2s);
  registry.login("USER", "in-use", 1ms);
  const std::string text = registry.text();
  EXPECT_EQ(sample(text, "mailport_logins_total{mechanism=\"PLAIN\",result=\"ok\"}"), 2) << text;
  EXPECT_EQ(sample(text, "mailport_logins_total{mechanism=\"USER\",result=\"failed\"}"), 1);
  EXPECT_EQ(sample(text, "mailport_lock_conflicts_total"), 1);
}

TEST(Metrics, CountsChurnAlarms) {
  Registry registry;
  registry.uidl_churn_alarm();
  registry.uidl_churn_alarm();
  EXPECT_EQ(sample(registry.text(), "mailport_uidl_churn_alarms_total"), 2);
}

TEST(Metrics, HistogramBucketsAreCumulative) {
  Registry registry;
  registry.login("PLAIN", "ok", 3ms);
  registry.login("PLAIN", "ok", 70ms);
  registry.login("PLAIN", "failed", 2s);
  const std::string text = registry.text();
  EXPECT_EQ(sample(text, "mailport_auth_duration_seconds_bucket{le=\"0.001\"}"), 0) << text;
  EXPECT_EQ(sample(text, "mailport_auth_duration_seconds_bucket{le=\"0.005\"}"), 1);
  EXPECT_EQ(sample(text, "mailport_auth_duration_seconds_bucket{le=\"0.1\"}"), 2);
  EXPECT_EQ(sample(text, "mailport_auth_duration_seconds_bucket{le=\"2.5\"}"), 3);
  EXPECT_EQ(sample(text, "mailport_auth_duration_seconds_bucket{le=\"+Inf\"}"), 3);
  EXPECT_EQ(sample(text, "mailport_auth_duration_seconds_count"), 3);
  EXPECT_NEAR(sample(text, "mailport_auth_duration_seconds_sum"), 2.073, 1e-9);
}

TEST(Metrics, OpenConnectionsFollowTheTlsVersion) {
  Registry registry;
  {
    OpenConnection plain(registry, "pop3");
    OpenConnection upgraded(registry, "pop3");
    upgraded.tls_established("TLSv1.3");
    const std::string text = registry.text();
    EXPECT_EQ(sample(text, "mailport_connections_open{listener=\"pop3\",tls=\"none\"}"), 1) << text;
    EXPECT_EQ(sample(text, "mailport_connections_open{listener=\"pop3\",tls=\"TLSv1.3\"}"), 1);
    EXPECT_EQ(sample(text, "mailport_connections_total{listener=\"pop3\"}"), 2);
    EXPECT_EQ(sample(text, "mailport_tls_handshakes_total{listener=\"pop3\",tls=\"TLSv1.3\"}"), 1);
  }
  const std::string text = registry.text();
  EXPECT_EQ(sample(text, "mailport_connections_open{listener=\"pop3\",tls=\"none\"}"), 0) << text;
  EXPECT_EQ(sample(text, "mailport_connections_open{listener=\"pop3\",tls=\"TLSv1.3\"}"), 0);
  EXPECT_EQ(sample(text, "mailport_connections_total{listener=\"pop3\"}"), 2);
}

TEST(Metrics, CountersAddUp) {
  Registry registry;
  registry.bytes_sent(100);
  registry.bytes_sent(23);
  registry.message_retrieved();
  registry.messages_deleted(3);
  registry.tls_failed("pop3s");
  registry.connection_refused("pop3");
  registry.message_delivered(true);
  registry.message_delivered(false);
  registry.command(2ms);
  const std::string text = registry.text();
  EXPECT_EQ(sample(text, "mailport_sent_bytes_total"), 123) << text;
  EXPECT_EQ(sample(text, "mailport_messages_retrieved_total"), 1);
  EXPECT_EQ(sample(text, "mailport_messages_deleted_total"), 3);
  EXPECT_EQ(sample(text, "mailport_tls_handshake_failures_total{listener=\"pop3s\"}"), 1);
  EXPECT_EQ(sample(text, "mailport_connections_refused_total{listener=\"pop3\"}"), 1);
  EXPECT_EQ(sample(text, "mailport_lmtp_deliveries_total{result=\"failed\"}"), 1);
  EXPECT_EQ(sample(text, "mailport_command_duration_seconds_count"), 1);
  EXPECT_EQ(sample(text, "mailport_command_duration_seconds_bucket{le=\"0.001\"}"), 0);
  EXPECT_EQ(sample(text, "mailport_command_duration_seconds_bucket{le=\"0.0025\"}"), 1);
}

TEST(Metrics, PenaltiesAreReadAtScrapeTime) {
  Registry registry;
  Penalties now;
  registry.set_penalty_source([&now] { return now; });
  now.delayed = 4;
  now.banned = 1;
  std::string text = registry.text();
  EXPECT_EQ(sample(text, "mailport_penalties_in_force{kind=\"delay\"}"), 4) << text;
  EXPECT_EQ(sample(text, "mailport_penalties_in_force{kind=\"ban\"}"), 1);
  now.banned = 0;
  text = registry.text();
  EXPECT_EQ(sample(text, "mailport_penalties_in_force{kind=\"ban\"}"), 0);
}

}  // namespace
}  // namespace mailport::net::metrics
