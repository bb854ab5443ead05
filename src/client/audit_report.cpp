// Runs the probes and presents the findings: a table for people, JSON for monitoring.
#include <fmt/format.h>
#include <toml++/toml.h>

#include <algorithm>
#include <ctime>
#include <set>
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

namespace {

bool same_result(const Finding& a, const Finding& b) {
  return a.check == b.check && a.severity == b.severity && a.explanation == b.explanation;
}

// The port whose findings include every finding of `port` word for word, if any: STLS on 110
// usually shares its TLS set-up with 995, and one line says so better than nine.
std::optional<std::string> identical_to(const CheckReport& report, const std::string& port) {
  std::vector<const Finding*> mine;
  for (const auto& f : report.findings) {
    if (f.port == port) mine.push_back(&f);
  }
  for (const auto& candidate : report.findings) {
    if (candidate.port == port) continue;
    const bool covers = std::ranges::all_of(mine, [&](const Finding* f) {
      return std::ranges::any_of(report.findings, [&](const Finding& g) {
        return g.port == candidate.port && same_result(*f, g);
      });
    });
    if (covers) return candidate.port;
  }
  return std::nullopt;
}

}  // namespace

std::string render_table(const CheckReport& report, bool color) {
  std::size_t width = 4;
  for (const auto& f : report.findings) width = std::max(width, f.port.size());
  const auto row = [&](const std::string& port, const std::string& check, Severity severity,
                       const std::string& text) {
    // Pad by the plain width: colour codes take no room on screen.
    const std::size_t pad = 7 - to_string(severity).size();
    return fmt::format("{:<{}}  {:<15} {}{}{}\n", port, width, check, colored(severity, color),
                       std::string(pad, ' '), text);
  };
  std::string out = fmt::format("mailport check {}\n\n", report.host);
  out += fmt::format("{:<{}}  {:<15} {:<7}{}\n", "PORT", width, "CHECK", "RESULT", "DETAIL");
  std::set<std::string> collapsed;
  for (const auto& f : report.findings) {
    if (collapsed.contains(f.port)) continue;
    if (f.port.ends_with("+STLS")) {
      if (const auto same = identical_to(report, f.port)) {
        collapsed.insert(f.port);
        Severity worst = Severity::pass;
        std::size_t n = 0;
        for (const auto& g : report.findings) {
          if (g.port == f.port) worst = std::max(worst, g.severity), ++n;
        }
        out += row(f.port, "tls", worst, fmt::format("same {} TLS results as port {}", n, *same));
        continue;
      }
    }
    out += row(f.port, f.check, f.severity, f.explanation);
    if (!f.fix.empty()) out += fmt::format("{:<{}}fix: {}\n", "", width + 25, f.fix);
  }
  const Counts counts = count(report);
  if (!report.connected) out += "\nCould not connect to any probed port.\n";
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
