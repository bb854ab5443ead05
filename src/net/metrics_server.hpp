// The Prometheus scrape endpoint: GET /metrics (text exposition format) and GET /healthz. HTTP
// is served by prometheus-cpp's exposer (civetweb, Debian's prometheus-cpp-dev) on its own two
// threads, so a slow scraper never holds an I/O thread; requests are bounded in size and time.
#pragma once

#include <cstdint>
#include <memory>

#include "config/config.hpp"
#include "core/result.hpp"
#include "net/metrics.hpp"

namespace prometheus {
class Exposer;
}

namespace mailport::net::metrics {

class MetricsServer {
 public:
  // Binds `endpoint` and starts serving `registry`. The error names the address.
  static Result<std::unique_ptr<MetricsServer>> start(const config::Endpoint& endpoint,
                                                      const Registry& registry);
  ~MetricsServer();
  MetricsServer(const MetricsServer&) = delete;
  MetricsServer& operator=(const MetricsServer&) = delete;

  std::uint16_t port() const { return port_; }

 private:
  MetricsServer() = default;
  std::unique_ptr<prometheus::Exposer> exposer_;
  std::shared_ptr<prometheus::Collectable> metrics_;
  std::shared_ptr<prometheus::Collectable> health_;
  std::uint16_t port_ = 0;
};

}  // namespace mailport::net::metrics
