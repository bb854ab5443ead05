#include "net/metrics.hpp"

#include <prometheus/collectable.h>
#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include <mutex>

namespace mailport::net::metrics {
namespace {

using prometheus::Labels;

double seconds(Duration took) {
  return std::chrono::duration<double>(took).count();
}

// Password hashes take ~0.1 s by design and failures wait seconds before the answer.
const prometheus::Histogram::BucketBoundaries& auth_buckets() {
  static const prometheus::Histogram::BucketBoundaries buckets = {
      0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30};
  return buckets;
}

// Most commands answer in microseconds; RETR of a large message streams for seconds.
const prometheus::Histogram::BucketBoundaries& command_buckets() {
  static const prometheus::Histogram::BucketBoundaries buckets = {
      0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.1, 0.5, 1, 5};
  return buckets;
}

std::string label(std::string_view value) {
  return std::string(value);
}

}  // namespace

// Refreshes the callback gauges before every scrape, then hands out the registry's families.
struct Registry::Impl : prometheus::Collectable {
  Impl()
      : registry(std::make_shared<prometheus::Registry>()),
        connections_total(prometheus::BuildCounter()
                              .Name("mailport_connections_total")
                              .Help("Connections accepted, by listener")
                              .Register(*registry)),
        connections_open(prometheus::BuildGauge()
                             .Name("mailport_connections_open")
                             .Help("Connections open now, by listener and TLS version")
                             .Register(*registry)),
        connections_refused(prometheus::BuildCounter()
                                .Name("mailport_connections_refused_total")
                                .Help("Connections closed at once by the connection caps")
                                .Register(*registry)),
        tls_handshakes(prometheus::BuildCounter()
                           .Name("mailport_tls_handshakes_total")
                           .Help("Completed TLS handshakes, by listener and TLS version")
                           .Register(*registry)),
        tls_failures(prometheus::BuildCounter()
                         .Name("mailport_tls_handshake_failures_total")
                         .Help("TLS handshakes that failed, by listener")
                         .Register(*registry)),
        logins(prometheus::BuildCounter()
                   .Name("mailport_logins_total")
                   .Help("Login attempts, by mechanism and result")
                   .Register(*registry)),
        auth_duration(prometheus::BuildHistogram()
                          .Name("mailport_auth_duration_seconds")
                          .Help("Time to answer a login, failure delay included")
                          .Register(*registry)
                          .Add({}, auth_buckets())),
        command_duration(prometheus::BuildHistogram()
                             .Name("mailport_command_duration_seconds")
                             .Help("Time from reading POP3 commands to the end of their responses")
                             .Register(*registry)
                             .Add({}, command_buckets())),
        sent_bytes(prometheus::BuildCounter()
                       .Name("mailport_sent_bytes_total")
                       .Help("Bytes sent to POP3 clients (before TLS)")
                       .Register(*registry)
                       .Add({})),
        retrieved(prometheus::BuildCounter()
                      .Name("mailport_messages_retrieved_total")
                      .Help("Messages sent in full by RETR")
                      .Register(*registry)
                      .Add({})),
        deleted(prometheus::BuildCounter()
                    .Name("mailport_messages_deleted_total")
                    .Help("Messages removed from maildrops at UPDATE")
                    .Register(*registry)
                    .Add({})),
        lock_conflicts(prometheus::BuildCounter()
                           .Name("mailport_lock_conflicts_total")
                           .Help("Logins refused because the maildrop was in use ([IN-USE])")
                           .Register(*registry)
                           .Add({})),
        churn_alarms(prometheus::BuildCounter()
                         .Name("mailport_uidl_churn_alarms_total")
                         .Help("Logins that found most UIDLs seen last time gone (botched "
                               "migration)")
                         .Register(*registry)
                         .Add({})),
        deliveries(prometheus::BuildCounter()
                       .Name("mailport_lmtp_deliveries_total")
                       .Help("LMTP deliveries to one recipient, by result")
                       .Register(*registry)),
        penalties(prometheus::BuildGauge()
                      .Name("mailport_penalties_in_force")
                      .Help("Client addresses under a failed-login delay or a ban, by kind")
                      .Register(*registry)),
        delayed(penalties.Add({{"kind", "delay"}})),
        banned(penalties.Add({{"kind", "ban"}})) {
    // Series that exist from the start, so that rate() and alerts see them before the first event.
    for (const char* listener : {"pop3", "pop3s", "lmtp"}) {
      connections_total.Add({{"listener", listener}});
      connections_open.Add({{"listener", listener}, {"tls", "none"}});
      connections_refused.Add({{"listener", listener}});
    }
    for (const char* listener : {"pop3", "pop3s"}) tls_failures.Add({{"listener", listener}});
  }

  std::vector<prometheus::MetricFamily> Collect() const override {
    Penalties now;
    {
      std::lock_guard lock(source_mutex);
      if (penalty_source) now = penalty_source();
    }
    delayed.Set(static_cast<double>(now.delayed));
    banned.Set(static_cast<double>(now.banned));
    return registry->Collect();
  }

  std::shared_ptr<prometheus::Registry> registry;
  prometheus::Family<prometheus::Counter>& connections_total;
  prometheus::Family<prometheus::Gauge>& connections_open;
  prometheus::Family<prometheus::Counter>& connections_refused;
  prometheus::Family<prometheus::Counter>& tls_handshakes;
  prometheus::Family<prometheus::Counter>& tls_failures;
  prometheus::Family<prometheus::Counter>& logins;
  prometheus::Histogram& auth_duration;
  prometheus::Histogram& command_duration;
  prometheus::Counter& sent_bytes;
  prometheus::Counter& retrieved;
  prometheus::Counter& deleted;
  prometheus::Counter& lock_conflicts;
  prometheus::Counter& churn_alarms;
  prometheus::Family<prometheus::Counter>& deliveries;
  prometheus::Family<prometheus::Gauge>& penalties;
  prometheus::Gauge& delayed;
  prometheus::Gauge& banned;
  mutable std::mutex source_mutex;
  PenaltySource penalty_source;
};

Registry::Registry() : impl_(std::make_shared<Impl>()) {}
Registry::~Registry() = default;

void Registry::connection_opened(std::string_view listener) {
  impl_->connections_total.Add({{"listener", label(listener)}}).Increment();
  impl_->connections_open.Add({{"listener", label(listener)}, {"tls", "none"}}).Increment();
}

void Registry::connection_closed(std::string_view listener, std::string_view tls) {
  impl_->connections_open.Add({{"listener", label(listener)}, {"tls", label(tls)}}).Decrement();
}

void Registry::connection_moved(std::string_view listener, std::string_view from,
                                std::string_view to) {
  impl_->connections_open.Add({{"listener", label(listener)}, {"tls", label(from)}}).Decrement();
  impl_->connections_open.Add({{"listener", label(listener)}, {"tls", label(to)}}).Increment();
}

void Registry::connection_refused(std::string_view listener) {
  impl_->connections_refused.Add({{"listener", label(listener)}}).Increment();
}

void Registry::tls_established(std::string_view listener, std::string_view version) {
  impl_->tls_handshakes.Add({{"listener", label(listener)}, {"tls", label(version)}}).Increment();
}

void Registry::tls_failed(std::string_view listener) {
  impl_->tls_failures.Add({{"listener", label(listener)}}).Increment();
}

void Registry::login(std::string_view mechanism, std::string_view result, Duration took) {
  impl_->logins.Add({{"mechanism", label(mechanism)}, {"result", label(result)}}).Increment();
  impl_->auth_duration.Observe(seconds(took));
  if (result == "in-use") impl_->lock_conflicts.Increment();
}

void Registry::command(Duration took) {
  impl_->command_duration.Observe(seconds(took));
}

void Registry::bytes_sent(std::size_t bytes) {
  impl_->sent_bytes.Increment(static_cast<double>(bytes));
}

void Registry::message_retrieved() {
  impl_->retrieved.Increment();
}

void Registry::messages_deleted(std::size_t count) {
  impl_->deleted.Increment(static_cast<double>(count));
}

void Registry::lock_conflict() {
  impl_->lock_conflicts.Increment();
}

void Registry::uidl_churn_alarm() {
  impl_->churn_alarms.Increment();
}

void Registry::message_delivered(bool ok) {
  impl_->deliveries.Add({{"result", ok ? "ok" : "failed"}}).Increment();
}

void Registry::set_penalty_source(PenaltySource source) {
  std::lock_guard lock(impl_->source_mutex);
  impl_->penalty_source = std::move(source);
}

std::string Registry::text() const {
  return prometheus::TextSerializer().Serialize(impl_->Collect());
}

std::shared_ptr<prometheus::Collectable> Registry::collectable() const {
  return impl_;
}

Registry& metrics() {
  static Registry registry;
  return registry;
}

OpenConnection::OpenConnection(Registry& registry, std::string_view listener)
    : registry_(registry), listener_(listener) {
  registry_.connection_opened(listener_);
}

OpenConnection::~OpenConnection() {
  registry_.connection_closed(listener_, tls_);
}

void OpenConnection::tls_established(std::string_view version) {
  registry_.tls_established(listener_, version);
  registry_.connection_moved(listener_, tls_, version);
  tls_ = version;
}

}  // namespace mailport::net::metrics
