// mailport-bench: drives a POP3 server (any RFC 1939 server) with one of the load scenarios and
// prints one JSON object with the results. Exit status 0 means no error was seen, 1 that errors
// were counted (the JSON says which), 64 a usage error.
#include <sys/resource.h>

#include <CLI/CLI.hpp>
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <cstdio>
#include <iostream>
#include <memory>
#include <thread>

#include <fmt/format.h>

#include "bench/delivery.hpp"
#include "bench/idle.hpp"
#include "bench/scenarios.hpp"

namespace mailport::bench {
namespace {

constexpr int kUsageError = 64;

struct CliInput {
  std::string users_file;
  std::string user;
  std::string password;
  std::size_t max_users = 0;
  std::string tls = "none";
  std::string auth = "user";
  std::string deliver_owner;
};

void add_flags(CLI::App& app, Options& o, CliInput& in) {
  app.add_option("scenario", o.scenario, "login, retr, idle, bigbox or mixed")
      ->required()
      ->check(CLI::IsMember({"login", "retr", "idle", "bigbox", "mixed"}));
  app.add_option("--host", o.host, "Server address (numeric)");
  app.add_option("--port", o.port, "Server port")->required();
  app.add_option("--tls", in.tls, "none, implicit or stls")
      ->check(CLI::IsMember({"none", "implicit", "stls"}));
  app.add_option("--auth", in.auth, "user (USER/PASS) or plain (AUTH PLAIN)")
      ->check(CLI::IsMember({"user", "plain"}));
  app.add_option("--cafile", o.cafile, "Verify the server certificate against this CA");
  app.add_option("--sni", o.sni, "Server name sent (and verified with --cafile)");
  app.add_flag("--tls-resume", o.tls_resume, "Resume each client's previous TLS session");
  app.add_option("--users", in.users_file, "File of user:password lines");
  app.add_option("--user", in.user, "A single account (with --password)");
  app.add_option("--password", in.password, "Password of --user");
  app.add_option("--max-users", in.max_users, "Use only the first N accounts");
  app.add_option("--clients", o.clients, "Concurrent clients (idle: concurrent openers)");
  app.add_option("--threads", o.threads, "Load threads, one io_context each");
  app.add_option("--duration", o.duration_s, "Measured seconds (login, retr, mixed)");
  app.add_option("--warmup", o.warmup_s, "Seconds of load before measuring");
  app.add_option("--timeout", o.op_timeout_s, "Seconds one operation may take");
  app.add_option("--label", o.label, "Free text copied into the result");
  app.add_option("--connections", o.connections, "idle: connections to hold");
  app.add_option("--hold", o.hold_s, "idle: seconds to hold them after all are open");
  app.add_flag("--hold-until-stdin", o.hold_until_stdin,
               "idle: hold until a line or EOF arrives on standard input");
  app.add_option("--iterations", o.iterations, "bigbox: sessions to run, one at a time");
  app.add_option("--expect-messages", o.expect_messages, "bigbox: messages the box must hold");
  app.add_option("--dele-percent", o.dele_percent, "mixed: share of new messages deleted")
      ->check(CLI::Range(0, 100));
  app.add_option("--deliver", o.deliver_template,
                 "mixed: deliver new mail into this Maildir path (%u = user)");
  app.add_option("--deliver-rate", o.deliver_rate, "mixed: deliveries per second");
  app.add_option("--deliver-owner", in.deliver_owner, "mixed: UID:GID of delivered files");
}

bool finish_options(Options& o, const CliInput& in, std::string& error) {
  o.tls = in.tls == "implicit" ? TlsMode::implicit
          : in.tls == "stls"   ? TlsMode::stls
                               : TlsMode::none;
  o.auth = in.auth == "plain" ? AuthMode::sasl_plain : AuthMode::user_pass;
  if (!in.users_file.empty()) {
    auto loaded = load_accounts(in.users_file, error);
    if (!loaded) return false;
    o.accounts = std::move(*loaded);
  }
  if (!in.user.empty()) o.accounts.push_back({in.user, in.password});
  if (in.max_users && o.accounts.size() > in.max_users) o.accounts.resize(in.max_users);
  if (!in.deliver_owner.empty() &&
      std::sscanf(in.deliver_owner.c_str(), "%d:%d", &o.deliver_uid, &o.deliver_gid) != 2) {
    error = "--deliver-owner wants UID:GID";
    return false;
  }
  if (o.accounts.empty()) error = "no accounts: give --users or --user";
  else if (o.clients == 0 || o.threads == 0) error = "--clients and --threads must be positive";
  else if (o.scenario != "idle" && o.scenario != "bigbox" && o.accounts.size() < o.clients)
    error = "each client needs an account of its own: fewer accounts than --clients";
  return error.empty();
}

// Descriptors for thousands of idle connections; the hard limit is as far as we may go.
void raise_fd_limit() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    setrlimit(RLIMIT_NOFILE, &limit);
  }
}

double cpu_seconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  auto seconds = [](const timeval& t) { return t.tv_sec + t.tv_usec / 1e6; };
  return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

std::string json_string(std::string_view text) {
  std::string out = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\') out += '\\';
    if (static_cast<unsigned char>(c) < 0x20) {
      out += fmt::format("\\u{:04x}", static_cast<unsigned char>(c));
    } else {
      out += c;
    }
  }
  return out + "\"";
}

std::string json_latency(const std::vector<double>& samples) {
  const Percentiles p = percentiles(samples);
  return fmt::format(
      "{{\"count\":{},\"mean\":{:.3f},\"p50\":{:.3f},\"p90\":{:.3f},\"p99\":{:.3f},"
      "\"max\":{:.3f}}}",
      p.count, p.mean, p.p50, p.p90, p.p99, p.max);
}

struct Measured {
  double wall_s = 0;
  double cpu_s = 0;
  double setup_s = 0;
};

std::string result_json(const Options& o, const Stats& s, const Measured& m) {
  std::string kinds, samples;
  for (const auto& [kind, count] : s.errors) {
    kinds += fmt::format("{}{}:{}", kinds.empty() ? "" : ",", json_string(kind), count);
  }
  for (const auto& sample : s.samples) {
    samples += (samples.empty() ? "" : ",") + json_string(sample);
  }
  const double wall = m.wall_s > 0 ? m.wall_s : 1;
  return fmt::format(
      "{{\"scenario\":{},\"label\":{},\"tls\":{},\"clients\":{},\"threads\":{},"
      "\"window_s\":{:.3f},\"sessions\":{},\"sessions_per_s\":{:.2f},\"messages\":{},"
      "\"msgs_per_s\":{:.2f},\"bytes\":{},\"mb_per_s\":{:.2f},\"deleted\":{},\"delivered\":{},"
      "\"handshakes\":{},\"resumed\":{},\"held\":{},\"setup_s\":{:.3f},\"latency_ms\":{},"
      "\"login_ms\":{},\"uidl_ms\":{},\"list_ms\":{},\"bench_cpu_s\":{:.3f},"
      "\"bench_cpu_cores\":{:.3f},\"errors\":{},\"error_kinds\":{{{}}},\"error_samples\":[{}]}}",
      json_string(o.scenario), json_string(o.label),
      json_string(o.tls == TlsMode::none ? "none" : o.tls == TlsMode::implicit ? "implicit"
                                                                                : "stls"),
      o.clients, o.threads, m.wall_s, s.sessions, s.sessions / wall, s.messages,
      s.messages / wall, s.bytes, s.bytes / wall / 1e6, s.deleted, s.delivered, s.handshakes,
      s.resumed, s.held, m.setup_s, json_latency(s.session_ms), json_latency(s.login_ms),
      json_latency(s.uidl_ms), json_latency(s.list_ms), m.cpu_s, m.cpu_s / wall,
      s.error_count(), kinds, samples);
}

void print_line(const std::string& line) {
  std::cout << line << std::endl;  // flushed: the runner reads events as they come
}

// Holds the idle connections, lets the runner measure, then releases them.
void run_idle_phase(const Options& o, IdleRun& idle, Measured& m, Clock::time_point start) {
  const double cpu_start = cpu_seconds();
  idle.wait_settled();
  m.setup_s = ms_since(start, Clock::now()) / 1000;
  m.cpu_s = cpu_seconds() - cpu_start;
  m.wall_s = m.setup_s;
  print_line(fmt::format("{{\"event\":\"ready\",\"connections\":{},\"setup_s\":{:.3f}}}",
                         o.connections, m.setup_s));
  if (o.hold_until_stdin) {
    std::string line;
    std::getline(std::cin, line);
  } else {
    std::this_thread::sleep_for(std::chrono::duration<double>(o.hold_s));
  }
  idle.release();
}

int run(const Options& o) {
  raise_fd_limit();
  std::string error;
  auto tls = make_client_tls_context(o, error);
  asio::error_code ec;
  const auto address = asio::ip::make_address(o.host, ec);
  if (!tls || ec) {
    std::cerr << "mailport-bench: " << (tls ? "bad --host " + o.host : error) << "\n";
    return kUsageError;
  }
  const auto start = Clock::now();
  const bool windowed = o.scenario == "login" || o.scenario == "retr" || o.scenario == "mixed";
  Window window{start, Clock::time_point::max()};
  if (windowed) {
    window.start = start + std::chrono::duration_cast<Clock::duration>(
                               std::chrono::duration<double>(o.warmup_s));
    window.end = window.start + std::chrono::duration_cast<Clock::duration>(
                                    std::chrono::duration<double>(o.duration_s));
  }
  const LoadContext ctx{o, *tls, asio::ip::tcp::endpoint(address, o.port), window};
  std::vector<std::unique_ptr<LoadThread>> threads;
  std::vector<LoadThread*> pointers;
  for (unsigned i = 0; i < o.threads; ++i) {
    pointers.push_back(threads.emplace_back(std::make_unique<LoadThread>()).get());
  }
  std::unique_ptr<IdleRun> idle;
  if (o.scenario == "idle") {
    idle = std::make_unique<IdleRun>(o.connections, pointers);
    for (unsigned c = 0; c < o.clients; ++c) {
      LoadThread& thread = *threads[c % o.threads];
      spawn_tracked(thread, idle->opener(ctx, thread));
    }
  } else {
    const Worker worker = find_worker(o.scenario);
    for (unsigned c = 0; c < o.clients; ++c) {
      LoadThread& thread = *threads[c % o.threads];
      spawn_tracked(thread, worker(ctx, thread, c));
    }
    if (o.scenario == "mixed") {
      spawn_tracked(*threads[0], run_deliveries(o, window, threads[0]->stats));
    }
  }
  for (auto& thread : threads) {
    asio::co_spawn(thread->io, run_sweeper(thread->registry, &thread->stop_sweeper),
                   asio::detached);
  }
  std::vector<std::thread> runners;
  for (auto& thread : threads) runners.emplace_back([&io = thread->io] { io.run(); });

  Measured measured;
  if (idle) {
    run_idle_phase(o, *idle, measured, start);
  } else if (windowed) {
    std::this_thread::sleep_until(window.start);
    const double cpu_start = cpu_seconds();
    std::this_thread::sleep_until(window.end);
    measured.cpu_s = cpu_seconds() - cpu_start;
    measured.wall_s = window.seconds();
  }
  for (auto& runner : runners) runner.join();
  if (!windowed && !idle) {
    measured.wall_s = ms_since(start, Clock::now()) / 1000;
    measured.cpu_s = cpu_seconds();
  }
  Stats total;
  for (auto& thread : threads) total.merge(std::move(thread->stats));
  print_line(result_json(o, total, measured));
  for (const auto& sample : total.samples) std::cerr << "mailport-bench: error: " << sample << "\n";
  return total.error_count() == 0 ? 0 : 1;
}

}  // namespace
}  // namespace mailport::bench

int main(int argc, char** argv) {
  using namespace mailport::bench;
  CLI::App app{"mailport-bench: POP3 load generator (login, retr, idle, bigbox, mixed)"};
  Options options;
  CliInput input;
  add_flags(app, options, input);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : kUsageError;
  }
  std::string error;
  if (!finish_options(options, input, error)) {
    std::cerr << "mailport-bench: " << error << "\n";
    return kUsageError;
  }
  return run(options);
}
