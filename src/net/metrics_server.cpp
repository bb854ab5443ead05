#include "net/metrics_server.hpp"

#include <prometheus/collectable.h>
#include <prometheus/exposer.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>

#include <stdexcept>
#include <string>
#include <vector>

namespace mailport::net::metrics {
namespace {

// Kept small: a scrape request is one short line and a few headers.
constexpr const char* kMaxRequestSize = "8192";
constexpr const char* kRequestTimeoutMs = "10000";

// /healthz answers 200 with "mailport_up 1" while the process serves.
std::shared_ptr<prometheus::Registry> health_registry() {
  auto registry = std::make_shared<prometheus::Registry>();
  prometheus::BuildGauge()
      .Name("mailport_up")
      .Help("1 while the server runs")
      .Register(*registry)
      .Add({})
      .Set(1);
  return registry;
}

}  // namespace

Result<std::unique_ptr<MetricsServer>> MetricsServer::start(const config::Endpoint& endpoint,
                                                            const Registry& registry) {
  const std::string address = config::format_endpoint(endpoint);
  std::unique_ptr<MetricsServer> server(new MetricsServer());
  try {
    server->exposer_ = std::make_unique<prometheus::Exposer>(std::vector<std::string>{
        "listening_ports", address, "num_threads", "2", "max_request_size", kMaxRequestSize,
        "request_timeout_ms", kRequestTimeoutMs, "enable_keep_alive", "no"});
  } catch (const std::exception& e) {
    return make_error(errc::invalid_input,
                      "metrics.listen " + address + ": cannot listen (" + e.what() + ")");
  }
  server->metrics_ = registry.collectable();
  server->health_ = health_registry();
  server->exposer_->RegisterCollectable(server->metrics_, "/metrics");
  server->exposer_->RegisterCollectable(server->health_, "/healthz");
  const std::vector<int> ports = server->exposer_->GetListeningPorts();
  server->port_ = ports.empty() ? endpoint.port : static_cast<std::uint16_t>(ports.front());
  return server;
}

MetricsServer::~MetricsServer() = default;

}  // namespace mailport::net::metrics
