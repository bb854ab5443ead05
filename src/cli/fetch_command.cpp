// `mailport fetch`: downloads one maildrop (a URL) or several (--config) into a Maildir, an mbox
// or an MDA without ever losing a message; see docs/fetch.md and src/client/fetch_account.hpp.
#include <fcntl.h>
#include <openssl/crypto.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <csignal>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "auth/password_input.hpp"
#include "cli/commands.hpp"
#include "cli/common.hpp"
#include "cli/password_input.hpp"
#include "client/fetch_account.hpp"
#include "client/fetch_config.hpp"
#include "client/fetch_state.hpp"
#include "client/password_file.hpp"
#include "client/progress.hpp"

namespace mailport::cli {
namespace {

constexpr std::string_view kCommand = "fetch";
constexpr auto kRedrawInterval = std::chrono::milliseconds(200);

struct FetchFlags {
  std::optional<std::string> url;
  std::optional<std::filesystem::path> config_file;
  std::optional<std::string> to, mbox, mda;
  bool keep = false;
  std::optional<std::uint64_t> delete_after_days;
  std::optional<std::filesystem::path> password_file, cafile, state_dir;
  bool insecure_plaintext = false;
  std::string auth = "auto";
  unsigned timeout = 60;
  std::optional<unsigned> jobs;
  bool quiet = false;
};

struct Job {
  client::AccountSettings settings;
  std::string password;
  client::AccountProgress progress;
  client::AccountReport report;
  std::string name;
};

// Passwords live in these strings only; wipe them before the memory is reused.
struct Jobs {
  std::vector<std::unique_ptr<Job>> list;
  ~Jobs() {
    for (auto& job : list) OPENSSL_cleanse(job->password.data(), job->password.size());
  }
};

[[noreturn]] void usage(const std::string& message) {
  fail_command(kCommand, message, kExitUsage);
}

void say(std::string_view line) {
  std::cerr << "mailport: fetch: " << line << std::endl;
}

// --password-file, else MAILPORT_PASSWORD, else a prompt on the terminal. Never argv.
std::string obtain_password(const std::optional<std::filesystem::path>& file,
                            const std::string& account) {
  if (file) {
    auto read = client::read_password_file(*file);
    if (!read) fail_command(kCommand, read.error());
    if (read->readable_by_others) {
      say("warning: " + file->string() + " is readable by other users (chmod 600 it)");
    }
    return std::move(read->password);
  }
  if (const char* env = std::getenv("MAILPORT_PASSWORD"); env && *env) return env;
  const UniqueFd tty(::open("/dev/tty", O_RDWR | O_CLOEXEC | O_NOCTTY));
  if (!tty) {
    fail_command(kCommand,
                 "no password for " + account +
                     ": use --password-file FILE or MAILPORT_PASSWORD (no terminal to ask on)",
                 kExitUsage);
  }
  const std::string prompt = "Password for " + account + "\n";
  (void)!::write(tty.get(), prompt.data(), prompt.size());
  auto password = auth::read_new_password(tty.get(), tty.get(), false);
  if (!password) fail_command(kCommand, password.error());
  return std::move(*password);
}

std::filesystem::path state_dir_or_default(const std::optional<std::filesystem::path>& dir) {
  if (dir) return *dir;
  auto fallback = client::default_state_dir();
  if (!fallback) fail_command(kCommand, fallback.error().message, kExitConfig);
  return *fallback;
}

client::AccountSettings settings_from_flags(const FetchFlags& flags) {
  client::AccountSettings s;
  auto url = client::parse_server_url(*flags.url);
  if (!url) usage(url.error().message);
  s.url = std::move(*url);
  const int destinations = !!flags.to + !!flags.mbox + !!flags.mda;
  if (destinations != 1)
    usage("say where the mail goes: one of --to DIR, --mbox FILE or --mda CMD");
  using Kind = client::Destination::Kind;
  if (flags.to) s.destination = {Kind::maildir, *flags.to};
  if (flags.mbox) s.destination = {Kind::mbox, *flags.mbox};
  if (flags.mda) s.destination = {Kind::mda, *flags.mda};
  if (flags.keep) s.policy = client::DeletePolicy::keep;
  if (flags.delete_after_days) {
    s.policy = client::DeletePolicy::after_days;
    s.delete_after_days = *flags.delete_after_days;
  }
  s.cafile = flags.cafile;
  s.insecure_plaintext = flags.insecure_plaintext;
  const auto method = client::parse_auth_method(flags.auth);
  if (!method) usage("--auth: expected auto, scram-sha-256, plain or user");
  s.auth = *method;
  s.timeout = std::chrono::seconds(flags.timeout);
  s.state_file = client::state_file_for(state_dir_or_default(flags.state_dir), s.url.display());
  return s;
}

std::unique_ptr<Job> make_job(client::AccountSettings settings,
                              const std::optional<std::filesystem::path>& password_file) {
  auto job = std::make_unique<Job>();
  job->name = settings.url.display();
  job->settings = std::move(settings);
  job->password = obtain_password(password_file, job->name);
  return job;
}

void add_jobs_from_config(const FetchFlags& flags, Jobs& jobs, unsigned& parallel) {
  const bool account_flags = flags.to || flags.mbox || flags.mda || flags.keep ||
                             flags.delete_after_days || flags.password_file || flags.cafile ||
                             flags.insecure_plaintext || flags.auth != "auto";
  if (flags.url || account_flags) {
    usage(
        "with --config, accounts and their settings come from the file; "
        "only --state-dir, --jobs, --timeout and --quiet combine with it");
  }
  auto config = client::load_fetch_config(*flags.config_file);
  if (!config) fail_command(kCommand, config.error().message, kExitConfig);
  const auto state_dir =
      state_dir_or_default(flags.state_dir ? flags.state_dir : config->state_dir);
  parallel = flags.jobs.value_or(config->jobs);
  for (auto& account : config->accounts) {
    auto& s = account.settings;
    s.state_file = client::state_file_for(state_dir, s.url.display());
    jobs.list.push_back(make_job(std::move(s), account.password_file));
  }
}

// Progress on a terminal: one line per account, redrawn in place; warnings scroll above them.
// Elsewhere (cron, a pipe): every event as a log line.
class Console {
 public:
  Console(Jobs& jobs, bool quiet)
      : jobs_(jobs), quiet_(quiet), tty_(!quiet && ::isatty(STDERR_FILENO) == 1) {}
  Console(const Console&) = delete;
  Console& operator=(const Console&) = delete;
  ~Console() { stop(); }

  void start() {
    started_ = std::chrono::steady_clock::now();
    if (!tty_) return;
    painter_ = std::thread([this] { paint_loop(); });
  }

  void stop() {
    if (!painter_.joinable()) return;
    {
      const std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    wake_.notify_all();
    painter_.join();
    const std::lock_guard lock(mutex_);
    redraw_locked();
  }

  void log(const std::string& account, std::string_view line) {
    const bool warning = line.starts_with("warning:");
    if ((tty_ || quiet_) && !warning) return;
    const std::lock_guard lock(mutex_);
    erase_locked();
    std::cerr << "mailport: fetch: " << account << ": " << line << '\n';
    redraw_locked();
  }

 private:
  void paint_loop() {
    std::unique_lock lock(mutex_);
    while (!stopping_) {
      redraw_locked();
      wake_.wait_for(lock, kRedrawInterval);
    }
  }

  void erase_locked() {
    if (drawn_ > 0) std::cerr << "\x1b[" << drawn_ << "F\x1b[J";
    drawn_ = 0;
  }

  void redraw_locked() {
    if (!tty_) return;
    erase_locked();
    winsize ws{};
    const std::size_t width =
        ::ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0 ? ws.ws_col : 80;
    const auto elapsed = std::chrono::steady_clock::now() - started_;
    for (const auto& job : jobs_.list) {
      std::cerr << client::progress_line(job->name, job->progress, elapsed, width) << '\n';
      ++drawn_;
    }
    std::cerr << std::flush;
  }

  Jobs& jobs_;
  const bool quiet_;
  const bool tty_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::size_t drawn_ = 0;
  std::chrono::steady_clock::time_point started_;
  std::thread painter_;
};

void run_all(Jobs& jobs, unsigned parallel, Console& console) {
  std::atomic<std::size_t> next{0};
  auto worker = [&] {
    for (std::size_t i = next++; i < jobs.list.size(); i = next++) {
      Job& job = *jobs.list[i];
      const client::LogFn log = [&](std::string_view line) { console.log(job.name, line); };
      job.report = client::fetch_account(job.settings, job.password, job.progress, log);
    }
  };
  std::vector<std::jthread> workers;
  const auto count = std::min<std::size_t>(std::max(1u, parallel), jobs.list.size());
  for (std::size_t i = 0; i < count; ++i) workers.emplace_back(worker);
}

bool network_errno(int value) {
  switch (value) {
    case ECONNREFUSED:
    case ECONNRESET:
    case ECONNABORTED:
    case ETIMEDOUT:
    case EHOSTUNREACH:
    case ENETUNREACH:
    case ENETDOWN:
    case EPIPE:
      return true;
    default:
      return false;
  }
}

int exit_code_for(const Error& error) {
  if (error.code.category() != mailport_category()) {
    // The network may come back by itself; a state directory we cannot write will not.
    return network_errno(error.code.value()) ? kExitTempFail : kExitIoErr;
  }
  if (error.is(errc::auth_failed)) return 77;                                     // EX_NOPERM
  if (error.is(errc::invalid_input)) return 76;                                   // EX_PROTOCOL
  if (error.is(errc::permanent_failure) || error.is(errc::not_found)) return 69;  // EX_UNAVAILABLE
  return kExitTempFail;
}

void run_fetch(const FetchFlags& flags) {
  std::signal(SIGPIPE, SIG_IGN);  // a dropped connection or MDA is an error value, not a crash
  Jobs jobs;
  unsigned parallel = flags.jobs.value_or(4);
  if (flags.config_file) {
    add_jobs_from_config(flags, jobs, parallel);
  } else if (flags.url) {
    jobs.list.push_back(make_job(settings_from_flags(flags), flags.password_file));
  } else {
    usage("give a server URL (pop3s://USER@HOST) or --config FILE");
  }
  Console console(jobs, flags.quiet);
  console.start();
  run_all(jobs, parallel, console);
  console.stop();
  int status = kExitOk;
  for (const auto& job : jobs.list) {
    std::cout << client::summary_line(job->name, job->report) << '\n';
    if (job->report.error && status == kExitOk) status = exit_code_for(*job->report.error);
  }
  std::cout << std::flush;
  if (status != kExitOk) throw CLI::RuntimeError(status);
}

}  // namespace

void setup_fetch_command(CLI::App& app) {
  auto flags = std::make_shared<FetchFlags>();
  CLI::App* fetch = app.add_subcommand(
      "fetch", "Download a maildrop over POP3S/STLS into a Maildir, an mbox or an MDA, safely");
  fetch->add_option("url", flags->url, "pop3s://USER@HOST[:PORT] or pop3://USER@HOST[:PORT]");
  fetch->add_option("--config", flags->config_file, "TOML file with several [[account]] tables")
      ->check(CLI::ExistingFile);
  fetch->add_option("--to", flags->to, "Deliver into this Maildir (created if missing)");
  fetch->add_option("--mbox", flags->mbox, "Append to this mbox file (fcntl-locked)");
  fetch->add_option("--mda", flags->mda, "Pipe each message to this shell command");
  auto* keep = fetch->add_flag("--keep", flags->keep, "Never delete messages on the server");
  auto* days = fetch->add_option("--delete-after-days", flags->delete_after_days,
                                 "Delete on the server N days after the first fetch");
  keep->excludes(days);
  fetch->add_option("--password-file", flags->password_file,
                    "Read the password from the first line of FILE");
  fetch->add_option("--cafile", flags->cafile, "Trust this CA certificate (PEM) for the server")
      ->check(CLI::ExistingFile);
  fetch->add_flag("--insecure-plaintext", flags->insecure_plaintext,
                  "Allow pop3:// to log in without TLS when the server offers no STLS");
  fetch->add_option("--auth", flags->auth, "auto (default), scram-sha-256, plain or user");
  fetch->add_option("--state-dir", flags->state_dir,
                    "Where the per-account state lives (default ~/.local/state/mailport/fetch)");
  fetch->add_option("--timeout", flags->timeout, "Seconds to wait for the server (default 60)")
      ->check(CLI::Range(1, 3600));
  fetch->add_option("--jobs", flags->jobs, "Accounts fetched at the same time (default 4)")
      ->check(CLI::Range(1u, client::kMaxJobs));
  fetch->add_flag("--quiet", flags->quiet, "Only warnings, errors and the summary");
  fetch->callback([flags] { run_fetch(*flags); });
}

}  // namespace mailport::cli
