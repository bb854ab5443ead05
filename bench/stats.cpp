#include "bench/stats.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace mailport::bench {
namespace {

constexpr std::size_t kMaxSamples = 8;

double nearest_rank(const std::vector<double>& sorted, double q) {
  const auto rank = static_cast<std::size_t>(std::ceil(q * static_cast<double>(sorted.size())));
  return sorted[std::clamp<std::size_t>(rank, 1, sorted.size()) - 1];
}

void append(std::vector<double>& to, std::vector<double>& from) {
  to.insert(to.end(), from.begin(), from.end());
}

}  // namespace

Percentiles percentiles(std::vector<double> samples) {
  Percentiles p;
  p.count = samples.size();
  if (samples.empty()) return p;
  std::sort(samples.begin(), samples.end());
  p.mean = std::accumulate(samples.begin(), samples.end(), 0.0) / static_cast<double>(p.count);
  p.p50 = nearest_rank(samples, 0.50);
  p.p90 = nearest_rank(samples, 0.90);
  p.p99 = nearest_rank(samples, 0.99);
  p.max = samples.back();
  return p;
}

double ms_since(Clock::time_point start, Clock::time_point end) {
  return std::chrono::duration<double, std::milli>(end - start).count();
}

void Stats::error(std::string_view kind, std::string_view detail) {
  ++errors[std::string(kind)];
  if (samples.size() < kMaxSamples) samples.push_back(std::string(kind) + ": " + std::string(detail));
}

std::uint64_t Stats::error_count() const {
  std::uint64_t total = 0;
  for (const auto& [kind, count] : errors) total += count;
  return total;
}

void Stats::merge(Stats&& other) {
  append(session_ms, other.session_ms);
  append(login_ms, other.login_ms);
  append(uidl_ms, other.uidl_ms);
  append(list_ms, other.list_ms);
  sessions += other.sessions;
  messages += other.messages;
  bytes += other.bytes;
  deleted += other.deleted;
  delivered += other.delivered;
  handshakes += other.handshakes;
  resumed += other.resumed;
  held += other.held;
  for (const auto& [kind, count] : other.errors) errors[kind] += count;
  for (auto& sample : other.samples) {
    if (samples.size() < kMaxSamples) samples.push_back(std::move(sample));
  }
}

}  // namespace mailport::bench
