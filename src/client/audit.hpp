// `mailport check HOST`: probes a POP3 server's ports 995 and 110 and judges what it finds
// (TLS versions, certificate, plaintext logins before STLS, version leaks) as PASS/WARN/FAIL
// findings, each with a one-line explanation and the fix.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mailport::client {

enum class Severity { pass, warn, fail };
std::string_view to_string(Severity severity);  // "PASS", "WARN", "FAIL"

struct Finding {
  std::string port;   // "995", "110", "110+STLS"
  std::string check;  // short stable id: "tls-versions", "plaintext-auth", ...
  Severity severity = Severity::pass;
  std::string explanation;  // what was seen and why it matters, one line
  std::string fix;          // what to change; empty for PASS
};

struct CheckOptions {
  std::string host;
  std::uint16_t pop3s_port = 995;  // 0: not probed
  std::uint16_t pop3_port = 110;   // 0: not probed
  std::optional<std::filesystem::path> cafile;
  std::chrono::milliseconds timeout{std::chrono::seconds(10)};
  std::function<std::int64_t()> clock;  // Unix seconds; the system clock when empty
};

struct CheckReport {
  std::string host;
  std::vector<Finding> findings;
  bool connected = false;  // some probed port answered at all

  // 0 all PASS, 1 some WARN, 2 some FAIL, 3 no port could be reached.
  int exit_status() const;
};

CheckReport run_check(const CheckOptions& options);

// One screen for people: a table, then the fixes. `color` adds ANSI colours to the verdicts.
std::string render_table(const CheckReport& report, bool color);
// The same as a JSON document for monitoring.
std::string render_json(const CheckReport& report);

}  // namespace mailport::client
