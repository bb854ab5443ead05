// Counters and latency samples one load thread collects; merged once the run is over.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace mailport::bench {

using Clock = std::chrono::steady_clock;

// Only work that completes inside [start, end) is counted, so warm-up and drain do not skew rates.
struct Window {
  Clock::time_point start;
  Clock::time_point end;
  bool contains(Clock::time_point t) const { return t >= start && t < end; }
  double seconds() const { return std::chrono::duration<double>(end - start).count(); }
};

struct Percentiles {
  std::size_t count = 0;
  double mean = 0, p50 = 0, p90 = 0, p99 = 0, max = 0;
};

Percentiles percentiles(std::vector<double> samples);

double ms_since(Clock::time_point start, Clock::time_point end);

struct Stats {
  std::vector<double> session_ms;
  std::vector<double> login_ms;
  std::vector<double> uidl_ms;
  std::vector<double> list_ms;
  std::uint64_t sessions = 0;
  std::uint64_t messages = 0;
  std::uint64_t bytes = 0;  // message octets as the server counts them (before dot-stuffing)
  std::uint64_t deleted = 0;
  std::uint64_t delivered = 0;
  std::uint64_t handshakes = 0;
  std::uint64_t resumed = 0;
  std::uint64_t held = 0;  // idle: connections authenticated and held open
  std::map<std::string, std::uint64_t> errors;
  std::vector<std::string> samples;  // first few error details, for the report

  void error(std::string_view kind, std::string_view detail);
  std::uint64_t error_count() const;
  void merge(Stats&& other);
};

}  // namespace mailport::bench
