// `mailport check HOST`: audits a POP3 server's ports 995 and 110, TLS and login policy; see
// docs/check.md and src/client/audit.hpp. The exit status is the verdict, for cron and
// monitoring: 0 all pass, 1 warnings, 2 failures, 3 could not connect.
#include <unistd.h>

#include <csignal>
#include <iostream>
#include <memory>
#include <optional>
#include <string>

#include "cli/commands.hpp"
#include "client/audit.hpp"

namespace mailport::cli {
namespace {

struct CheckFlags {
  std::string host;
  std::uint16_t pop3s_port = 995;
  std::uint16_t pop3_port = 110;
  std::optional<std::filesystem::path> cafile;
  unsigned timeout = 10;
  bool json = false;
};

void run_check(const CheckFlags& flags) {
  std::signal(SIGPIPE, SIG_IGN);  // a server hanging up mid-probe is a finding, not a crash
  client::CheckOptions options;
  options.host = flags.host;
  options.pop3s_port = flags.pop3s_port;
  options.pop3_port = flags.pop3_port;
  options.cafile = flags.cafile;
  options.timeout = std::chrono::seconds(flags.timeout);
  const client::CheckReport report = client::run_check(options);
  if (flags.json) {
    std::cout << client::render_json(report);
  } else {
    std::cout << client::render_table(report, ::isatty(STDOUT_FILENO) == 1);
  }
  std::cout << std::flush;
  if (const int status = report.exit_status(); status != 0) throw CLI::RuntimeError(status);
}

}  // namespace

void setup_check_command(CLI::App& app) {
  auto flags = std::make_shared<CheckFlags>();
  CLI::App* check = app.add_subcommand(
      "check", "Audit a POP3 server: ports 995/110, TLS, certificate and login policy");
  check->add_option("host", flags->host, "Server host name or address")->required();
  check->add_option("--pop3s-port", flags->pop3s_port, "Implicit-TLS port (default 995, 0 = skip)");
  check->add_option("--pop3-port", flags->pop3_port, "Plain POP3 port (default 110, 0 = skip)");
  check
      ->add_option("--cafile", flags->cafile,
                   "Judge certificates against this CA file (PEM) instead of the system CAs")
      ->check(CLI::ExistingFile);
  check->add_option("--timeout", flags->timeout, "Seconds to wait for each answer (default 10)")
      ->check(CLI::Range(1, 300));
  check->add_flag("--json", flags->json, "Print the findings as JSON");
  check->callback([flags] { run_check(*flags); });
}

}  // namespace mailport::cli
