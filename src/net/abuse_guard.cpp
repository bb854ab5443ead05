#include "net/abuse_guard.hpp"

#include <algorithm>
#include <charconv>

namespace mailport::net {
namespace {

// Normalises v4-mapped IPv6 ("::ffff:1.2.3.4") to IPv4 so both forms share one budget.
asio::ip::address unmapped(const asio::ip::address& address) {
  if (address.is_v6() && address.to_v6().is_v4_mapped()) {
    return asio::ip::make_address_v4(asio::ip::v4_mapped, address.to_v6());
  }
  return address;
}

template <std::size_t N>
bool prefix_equal(const std::array<unsigned char, N>& a, const std::array<unsigned char, N>& b,
                  unsigned prefix) {
  for (unsigned bit = 0; bit < prefix; ++bit) {
    const unsigned mask = 0x80u >> (bit % 8);
    if ((a[bit / 8] & mask) != (b[bit / 8] & mask)) return false;
  }
  return true;
}

}  // namespace

bool Cidr::contains(const asio::ip::address& candidate) const {
  const asio::ip::address address = unmapped(candidate);
  if (address.is_v4() != network.is_v4()) return false;
  if (address.is_v4())
    return prefix_equal(address.to_v4().to_bytes(), network.to_v4().to_bytes(), prefix);
  return prefix_equal(address.to_v6().to_bytes(), network.to_v6().to_bytes(), prefix);
}

Result<Cidr> parse_cidr(std::string_view text) {
  const auto slash = text.find('/');
  asio::error_code ec;
  auto network = asio::ip::make_address(std::string(text.substr(0, slash)), ec);
  if (ec) return make_error(errc::invalid_input, "not an IP address: " + std::string(text));
  network = unmapped(network);
  const unsigned max_prefix = network.is_v4() ? 32 : 128;
  unsigned prefix = max_prefix;
  if (slash != std::string_view::npos) {
    const std::string_view digits = text.substr(slash + 1);
    auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), prefix);
    if (error != std::errc() || end != digits.data() + digits.size() || digits.empty() ||
        prefix > max_prefix) {
      return make_error(errc::invalid_input, "bad prefix length in " + std::string(text));
    }
  }
  return Cidr{network, prefix};
}

AbuseGuard::AbuseGuard(AbuseSettings settings) : settings_(std::move(settings)) {}

bool AbuseGuard::trusted(const asio::ip::address& address) const {
  return std::ranges::any_of(settings_.trusted_networks,
                             [&](const Cidr& cidr) { return cidr.contains(address); });
}

std::string AbuseGuard::key_of(const asio::ip::address& candidate) {
  const asio::ip::address address = unmapped(candidate);
  if (address.is_v4()) return address.to_string();
  auto bytes = address.to_v6().to_bytes();
  std::fill(bytes.begin() + 8, bytes.end(), 0);  // one budget per /64
  return asio::ip::address_v6(bytes).to_string() + "/64";
}

AbuseGuard::Ticket::~Ticket() {
  if (guard_) guard_->release(key_);
}

AbuseGuard::Ticket AbuseGuard::admit(const asio::ip::address& address) {
  const bool exempt = trusted(address);
  std::string key = key_of(address);
  std::lock_guard lock(mutex_);
  if (open_ >= settings_.max_connections) return {};
  unsigned& count = per_address_[key];
  if (!exempt && count >= settings_.max_connections_per_ip) return {};
  ++count;
  ++open_;
  return Ticket(this, std::move(key));
}

void AbuseGuard::release(const std::string& key) {
  std::lock_guard lock(mutex_);
  --open_;
  auto it = per_address_.find(key);
  if (it != per_address_.end() && --it->second == 0) per_address_.erase(it);
}

bool AbuseGuard::banned(const asio::ip::address& address) {
  if (trusted(address)) return false;
  std::lock_guard lock(mutex_);
  auto it = penalties_.find(key_of(address));
  return it != penalties_.end() && Clock::now() < it->second.banned_until;
}

std::chrono::milliseconds AbuseGuard::record_failure(const asio::ip::address& address) {
  if (trusted(address)) return std::chrono::milliseconds(0);
  const auto now = Clock::now();
  std::lock_guard lock(mutex_);
  if (penalties_.size() >= settings_.max_tracked_addresses) forget_stale(now);
  Penalty& penalty = penalties_[key_of(address)];
  if (penalty.failures == 0 || now - penalty.window_start > settings_.failure_window) {
    penalty.failures = 0;
    penalty.window_start = now;
  }
  ++penalty.failures;
  if (settings_.ban_after_failures && penalty.failures >= settings_.ban_after_failures) {
    penalty.banned_until = now + settings_.ban_duration;
  }
  // 1x, 2x, 4x ... the base delay, capped; the shift is bounded so it cannot overflow.
  const unsigned doublings = std::min(penalty.failures - 1, 16u);
  auto delay = settings_.failure_delay * (1u << doublings);
  return std::min(delay, std::max(settings_.failure_delay, settings_.max_failure_delay));
}

void AbuseGuard::record_success(const asio::ip::address& address) {
  std::lock_guard lock(mutex_);
  auto it = penalties_.find(key_of(address));
  if (it != penalties_.end() && Clock::now() >= it->second.banned_until) penalties_.erase(it);
}

void AbuseGuard::forget_stale(Clock::time_point now) {
  std::erase_if(penalties_, [&](const auto& entry) {
    const Penalty& p = entry.second;
    return now >= p.banned_until && now - p.window_start > settings_.failure_window;
  });
  // Still full (a flood of distinct addresses): drop everything that is not banned.
  if (penalties_.size() >= settings_.max_tracked_addresses) {
    std::erase_if(penalties_, [&](const auto& entry) { return now >= entry.second.banned_until; });
  }
}

std::size_t AbuseGuard::open_connections() const {
  std::lock_guard lock(mutex_);
  return open_;
}

std::size_t AbuseGuard::penalized_addresses() const {
  std::lock_guard lock(mutex_);
  return penalties_.size();
}

AbuseGuard::PenaltyCounts AbuseGuard::penalties_in_force() const {
  const auto now = Clock::now();
  std::lock_guard lock(mutex_);
  PenaltyCounts counts;
  for (const auto& [key, penalty] : penalties_) {
    if (now < penalty.banned_until) {
      ++counts.banned;
    } else if (now - penalty.window_start <= settings_.failure_window) {
      ++counts.delayed;
    }
  }
  return counts;
}

}  // namespace mailport::net
