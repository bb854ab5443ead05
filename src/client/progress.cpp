#include "client/progress.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace mailport::client {

std::string format_bytes(std::uint64_t bytes) {
  if (bytes < 1000) return fmt::format("{} B", bytes);
  static constexpr const char* kUnits[] = {"kB", "MB", "GB", "TB"};
  double value = static_cast<double>(bytes) / 1000.0;
  std::size_t unit = 0;
  while (value >= 1000.0 && unit + 1 < std::size(kUnits)) {
    value /= 1000.0;
    ++unit;
  }
  return fmt::format("{:.1f} {}", value, kUnits[unit]);
}

std::string progress_line(std::string_view account, const AccountProgress& progress,
                          std::chrono::steady_clock::duration elapsed, std::size_t width) {
  using Phase = AccountProgress::Phase;
  const auto phase = progress.phase.load();
  const std::size_t total = progress.to_fetch.load();
  const std::size_t done = progress.fetched.load();
  const std::uint64_t bytes = progress.bytes.load();
  std::string status;
  switch (phase) {
    case Phase::waiting:
      status = "waiting";
      break;
    case Phase::connecting:
      status = "connecting";
      break;
    case Phase::finishing:
      status = "finishing";
      break;
    case Phase::done:
      status = "done";
      break;
    case Phase::failed:
      status = "failed";
      break;
    case Phase::fetching: {
      const double seconds = std::chrono::duration<double>(elapsed).count();
      const auto rate =
          seconds > 0 ? static_cast<std::uint64_t>(static_cast<double>(bytes) / seconds) : 0;
      status = fmt::format("{}/{} msgs  {} of {}  {}/s", done, total, format_bytes(bytes),
                           format_bytes(progress.bytes_to_fetch.load()), format_bytes(rate));
      break;
    }
  }
  constexpr std::size_t kBar = 20;
  const std::size_t filled =
      total == 0 ? (phase == Phase::done ? kBar : 0) : std::min(kBar, done * kBar / total);
  std::string line = fmt::format("{}  [{}{}]  {}", account, std::string(filled, '#'),
                                 std::string(kBar - filled, '-'), status);
  if (width > 1 && line.size() >= width) line.resize(width - 1);
  return line;
}

std::string error_text(const Error& error) {
  const bool own = error.code.category() == mailport_category() && !error.message.empty();
  return own ? error.message : error.describe();
}

std::string summary_line(std::string_view account, const AccountReport& report) {
  if (report.skipped) return fmt::format("{}: skipped: {}", account, *report.skipped);
  std::string line =
      fmt::format("{}: {} fetched ({}), {} deleted on the server, {} left there", account,
                  report.fetched, format_bytes(report.bytes), report.deleted, report.on_server);
  if (report.error) line += "; FAILED: " + error_text(*report.error);
  return line;
}

}  // namespace mailport::client
