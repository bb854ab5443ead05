// The server's Prometheus metrics (docs/operations.md lists them). One process-wide registry,
// reached with metrics(), so that a hook in the connection code is a single call. Every call is
// thread-safe and cheap: counters and gauges are atomics, label sets are resolved once.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

namespace prometheus {
class Collectable;
class Counter;
class Gauge;
class Registry;
}  // namespace prometheus

namespace mailport::net::metrics {

using Duration = std::chrono::steady_clock::duration;

// Addresses under a failed-login delay and under a ban, read when the metrics are scraped.
struct Penalties {
  std::size_t delayed = 0;
  std::size_t banned = 0;
};
using PenaltySource = std::function<Penalties()>;

class Registry {
 public:
  Registry();
  ~Registry();
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  // `listener` is "pop3", "pop3s" or "lmtp"; `tls` a protocol name ("TLSv1.3") or "none".
  void connection_opened(std::string_view listener);
  void connection_closed(std::string_view listener, std::string_view tls);
  void connection_refused(std::string_view listener);
  void tls_established(std::string_view listener, std::string_view version);
  // An open connection changed its TLS version (STLS).
  void connection_moved(std::string_view listener, std::string_view from, std::string_view to);
  void tls_failed(std::string_view listener);

  // `mechanism` is USER, APOP or a SASL name; `result` the login log's result word, where
  // "in-use" also counts as a lock conflict.
  void login(std::string_view mechanism, std::string_view result, Duration took);
  void command(Duration took);
  void bytes_sent(std::size_t bytes);
  void message_retrieved();
  void messages_deleted(std::size_t count);
  void lock_conflict();
  void message_delivered(bool ok);
  // A login found most UIDLs its client saw last time gone (the event=uidl_churn warning).
  void uidl_churn_alarm();

  // What the exposition reports as penalties in force; empty = zero.
  void set_penalty_source(PenaltySource source);

  // The Prometheus text exposition format (version 0.0.4) of everything above.
  std::string text() const;
  std::shared_ptr<prometheus::Collectable> collectable() const;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

// The registry the server's hooks report to.
Registry& metrics();

// Counts one connection as open from construction to destruction, under its TLS version.
class OpenConnection {
 public:
  OpenConnection(Registry& registry, std::string_view listener);
  ~OpenConnection();
  OpenConnection(const OpenConnection&) = delete;
  OpenConnection& operator=(const OpenConnection&) = delete;

  // The handshake finished: the connection moves from tls="none" to `version`.
  void tls_established(std::string_view version);

 private:
  Registry& registry_;
  std::string listener_;
  std::string tls_ = "none";
};

}  // namespace mailport::net::metrics
