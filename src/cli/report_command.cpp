// `mailport report port110 --log FILE`: who still logs in over port 110, and whether with STLS,
// so that admins can contact them before switching 110 off (docs/migrating-to-995.md).
#include <fstream>
#include <iomanip>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "cli/commands.hpp"
#include "cli/common.hpp"
#include "cli/password_input.hpp"
#include "migrate/login_report.hpp"

namespace mailport::cli {
namespace {

constexpr std::string_view kCommand = "report port110";

struct Port110Flags {
  std::vector<std::string> logs;
  std::string since;
  bool all = false;
};

void read_log(migrate::LoginReport& report, std::istream& in) {
  for (std::string line; std::getline(in, line);) report.add_line(line);
}

void print_table(const migrate::LoginReport& report, bool all) {
  std::cout << std::left << std::setw(24) << "USER" << std::right << std::setw(10) << "110-PLAIN"
            << std::setw(10) << "110-STLS" << std::setw(8) << "995"
            << "  LAST-110\n";
  std::size_t listed = 0;
  for (const auto& [user, logins] : report.users()) {
    const bool uses_110 = logins.plain_110 + logins.stls_110 > 0;
    if (!uses_110 && !all) continue;
    ++listed;
    std::cout << std::left << std::setw(24) << user << std::right << std::setw(10)
              << logins.plain_110 << std::setw(10) << logins.stls_110 << std::setw(8)
              << logins.pop3s << "  "
              << (uses_110 ? logins.last_110 + " (" + logins.last_110_kind + ")" : "-") << '\n';
  }
  std::cout << listed << " users" << (all ? "" : " logged in over port 110") << " in "
            << report.lines_counted() << " logins\n";
}

void run_port110(const Port110Flags& flags) {
  migrate::LoginReport report(flags.since);
  for (const auto& path : flags.logs) {
    if (path == "-") {
      read_log(report, std::cin);
      continue;
    }
    std::ifstream in(path);
    if (!in) fail_command(kCommand, "cannot read log file " + path, kExitIoErr);
    read_log(report, in);
  }
  print_table(report, flags.all);
  std::cout << std::flush;
}

}  // namespace

void setup_report_command(CLI::App& app) {
  CLI::App* report = app.add_subcommand("report", "Reports from the server's log");
  report->require_subcommand(1);
  auto flags = std::make_shared<Port110Flags>();
  CLI::App* port110 = report->add_subcommand(
      "port110", "Users who logged in over port 110 (without TLS or with STLS), and when last");
  port110->add_option("--log", flags->logs, "Server log file (repeatable; - for standard input)")
      ->required();
  port110->add_option("--since", flags->since,
                      "Only logins at or after this ISO 8601 time, e.g. 2026-11-01T08:00");
  port110->add_flag("--all", flags->all, "Also list users seen only on port 995");
  port110->callback([flags] { run_port110(*flags); });
}

}  // namespace mailport::cli
