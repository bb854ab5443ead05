// Runs the probes and presents the findings: a table for people, JSON for monitoring.
#include <fmt/format.h>
#include <toml++/toml.h>

#include <ctime>
#include <sstream>
#include <thread>

#include "client/audit_facts.hpp"

namespace mailport::client {
namespace {

struct Counts {
  std::size_t pass = 0, warn = 0, fail = 0;
};

Counts count(const CheckReport& report) {
  Counts counts;
  for (const auto& f : report.findings) {
    (f.severity == Severity::pass   ? counts.pass
     : f.severity == Severity::warn ? counts.warn
                                    : counts.fail)++;
  }
  return counts;
}

std::string colored(Severity severity, bool color) {
  const std::string_view text = to_string(severity);
  if (!color) return std::string(text);
  const char* code = severity == Severity::pass ? "32" : severity == Severity::warn ? "33" : "31";
  return fmt::format("\x1b[1;{}m{}\x1b[0m", code, text);
}

}  // namespace

std::string_view to_string(Severity severity) {
  switch (severity) {
    case Severity::pass:
      return "PASS";
    case Severity::warn:
      return "WARN";
    case Severity::fail:
      return "FAIL";
  }
  return "FAIL";
}

int CheckReport::exit_status() const {
  if (!connected) return 3;
  const Counts counts = count(*this);
  if (counts.fail > 0) return 2;
  if (counts.warn > 0) return 1;
  return 0;
}

CheckReport run_check(const CheckOptions& options) {
  CheckReport report;
  report.host = options.host;
  const std::int64_t now =
      options.clock ? options.clock() : static_cast<std::int64_t>(std::time(nullptr));
  std::optional<PortFacts> pop3s, pop3;
  {
    // The two ports are independent; probing them side by side halves the wait.
    std::jthread secure([&] {
      if (options.pop3s_port != 0) pop3s = probe_pop3s(options);
    });
    if (options.pop3_port != 0) pop3 = probe_pop3(options);
  }
  report.connected = (pop3s && pop3s->reachable) || (pop3 && pop3->reachable);
  if (pop3s) {
    auto found = judge_pop3s(options, *pop3s, pop3 ? &*pop3 : nullptr, now);
    report.findings.insert(report.findings.end(), found.begin(), found.end());
  }
  if (pop3) {
    auto found = judge_pop3(options, *pop3, pop3s ? &*pop3s : nullptr, now);
    report.findings.insert(report.findings.end(), found.begin(), found.end());
  }
  return report;
}

std::string render_table(const CheckReport& report, bool color) {
  std::string out = fmt::format("mailport check {}\n\n", report.host);
  out += fmt::format("{:<10} {:<15} {:<6} {}\n", "PORT", "CHECK", "RESULT", "DETAIL");
  for (const auto& f : report.findings) {
    // Pad by the plain width: colour codes take no room on screen.
    const std::string verdict = colored(f.severity, color);
    const std::size_t pad = 6 - to_string(f.severity).size();
    out += fmt::format("{:<10} {:<15} {}{} {}\n", f.port, f.check, verdict, std::string(pad, ' '),
                       f.explanation);
    if (!f.fix.empty()) out += fmt::format("{:<34}fix: {}\n", "", f.fix);
  }
  const Counts counts = count(report);
  if (!report.connected) {
    out += "\nCould not connect to any probed port.\n";
  }
  out += fmt::format("\n{} FAIL, {} WARN, {} PASS (exit status {})\n", counts.fail, counts.warn,
                     counts.pass, report.exit_status());
  return out;
}

std::string render_json(const CheckReport& report) {
  toml::array findings;
  for (const auto& f : report.findings) {
    findings.push_back(toml::table{{"port", f.port},
                                   {"check", f.check},
                                   {"severity", std::string(to_string(f.severity))},
                                   {"explanation", f.explanation},
                                   {"fix", f.fix}});
  }
  const Counts counts = count(report);
  const toml::table root{{"host", report.host},
                         {"connected", report.connected},
                         {"exit_status", report.exit_status()},
                         {"summary", toml::table{{"pass", static_cast<std::int64_t>(counts.pass)},
                                                 {"warn", static_cast<std::int64_t>(counts.warn)},
                                                 {"fail", static_cast<std::int64_t>(counts.fail)}}},
                         {"findings", std::move(findings)}};
  std::ostringstream out;
  out << toml::json_formatter{root} << '\n';
  return out.str();
}

}  // namespace mailport::client
