// The state that the server's I/O threads, its blocking pools and the metrics exposer's threads
// share, driven from several threads at once. The totals are checked in every build; the TSan
// stage of CI (.ci/sanitizers.sh tsan) runs these tests to find data races in the same code.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/executor_work_guard.hpp>
#include <asio/io_context.hpp>
#include <atomic>
#include <mutex>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "core/unique_fd.hpp"
#include "net/blocking_pool.hpp"
#include "net/credential_cache.hpp"
#include "net/metrics.hpp"
#include "net/metrics_server.hpp"

namespace mailport::net {
namespace {

using namespace std::chrono_literals;

constexpr int kThreads = 4;

double sample(const std::string& text, const std::string& series) {
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind(series + " ", 0) == 0) return std::stod(line.substr(series.size() + 1));
  }
  return -1;
}

// One HTTP/1.0 GET to 127.0.0.1:port, as a scraper sends it; the whole response, or "" on error.
std::string http_get(std::uint16_t port, const std::string& path) {
  UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd) return {};
  timeval timeout{};
  timeout.tv_sec = 5;
  ::setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) return {};
  const std::string request = "GET " + path + " HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
  if (::send(fd.get(), request.data(), request.size(), MSG_NOSIGNAL) !=
      static_cast<ssize_t>(request.size())) {
    return {};
  }
  std::string response;
  char buffer[4096];
  for (int reads = 0; reads < 10000; ++reads) {
    const ssize_t got = ::recv(fd.get(), buffer, sizeof buffer, 0);
    if (got <= 0) break;
    response.append(buffer, static_cast<std::size_t>(got));
  }
  return response;
}

TEST(Concurrency, MetricsFromManyThreadsAddUpWhileScrapedOverHttp) {
  metrics::Registry registry;
  std::atomic<std::size_t> delayed{0};
  registry.set_penalty_source([&delayed] {
    metrics::Penalties now;
    now.delayed = delayed.load();
    return now;
  });
  config::Endpoint endpoint;
  endpoint.address = "127.0.0.1";
  auto server = metrics::MetricsServer::start(endpoint, registry);
  ASSERT_TRUE(server) << server.error().message;

  constexpr int kRounds = 300;
  std::atomic<bool> done{false};
  std::atomic<int> scrapes{0};
  // Scrapes race with the updates, as Prometheus does against a busy server.
  std::thread scraper([&] {
    for (int i = 0; i < 200 && !done.load(); ++i) {
      if (http_get((*server)->port(), "/metrics").find("mailport_connections_total") !=
          std::string::npos) {
        ++scrapes;
      }
    }
  });
  std::vector<std::thread> workers;
  for (int t = 0; t < kThreads; ++t) {
    workers.emplace_back([&registry, &delayed, t] {
      for (int i = 0; i < kRounds; ++i) {
        metrics::OpenConnection connection(registry, t % 2 ? "pop3" : "pop3s");
        if (i % 3 == 0) connection.tls_established("TLSv1.3");
        // A label value that no other thread uses yet creates a series while others scrape.
        registry.login(i % 2 ? "PLAIN" : "USER", "ok" + std::to_string(i % 7), 5ms);
        registry.command(1ms);
        registry.bytes_sent(10);
        registry.message_retrieved();
        delayed.store(static_cast<std::size_t>(i));
      }
    });
  }
  for (auto& worker : workers) worker.join();
  done = true;
  scraper.join();

  const std::string text = registry.text();
  const double total = kThreads * kRounds;
  EXPECT_EQ(sample(text, "mailport_connections_total{listener=\"pop3\"}") +
                sample(text, "mailport_connections_total{listener=\"pop3s\"}"),
            total)
      << text;
  EXPECT_EQ(sample(text, "mailport_connections_open{listener=\"pop3\",tls=\"TLSv1.3\"}"), 0);
  EXPECT_EQ(sample(text, "mailport_connections_open{listener=\"pop3s\",tls=\"none\"}"), 0);
  EXPECT_EQ(sample(text, "mailport_command_duration_seconds_count"), total);
  EXPECT_EQ(sample(text, "mailport_auth_duration_seconds_count"), total);
  EXPECT_EQ(sample(text, "mailport_sent_bytes_total"), 10 * total);
  EXPECT_EQ(sample(text, "mailport_messages_retrieved_total"), total);
  EXPECT_GT(scrapes.load(), 0) << "no scrape got through";
  const std::string final_scrape = http_get((*server)->port(), "/metrics");
  EXPECT_NE(
      final_scrape.find("mailport_messages_retrieved_total " + std::to_string(kThreads * kRounds)),
      std::string::npos)
      << final_scrape;
}

TEST(Concurrency, CredentialCacheSharedByLoginThreadsStaysBounded) {
  constexpr std::size_t kCapacity = 8;
  CredentialCache cache(60s, kCapacity);
  const auto start = CredentialCache::Clock::now();
  std::atomic<int> wrong_hits{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 500; ++i) {
        const std::string user = "user" + std::to_string((t * 7 + i) % 13);
        const auto now = start + std::chrono::milliseconds(i);
        // The users file is replaced now and then, which empties the cache under the others.
        const std::uint64_t generation = 1 + static_cast<std::uint64_t>(i / 100);
        cache.remember(user, "secret-" + user, "record", generation, now);
        if (cache.verified(user, "wrong", "record", generation, now)) ++wrong_hits;
        (void)cache.verified(user, "secret-" + user, "record", generation, now);
        EXPECT_LE(cache.size(), kCapacity);
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(wrong_hits.load(), 0);
  cache.remember("alice", "secret", "record", 9, start + 1s);
  EXPECT_TRUE(cache.verified("alice", "secret", "record", 9, start + 2s));
}

// As in the server: several I/O threads, each coroutine hands blocking work to the pool and must
// continue on an I/O thread, never on a pool thread.
TEST(Concurrency, BlockingPoolResumesEveryCoroutineOnItsIoThread) {
  constexpr int kCoroutines = 200;
  asio::io_context io;
  BlockingPool pool(3);
  std::mutex mutex;
  std::set<std::thread::id> io_threads;
  std::set<std::thread::id> pool_threads;
  int resumed_on_pool = 0;
  long long sum = 0;
  int finished = 0;

  auto work = [&](int n) -> asio::awaitable<void> {
    const int value = co_await pool.run([&mutex, &pool_threads, n] {
      std::lock_guard lock(mutex);
      pool_threads.insert(std::this_thread::get_id());
      return n * 2;
    });
    std::lock_guard lock(mutex);
    sum += value;
    ++finished;
    if (pool_threads.count(std::this_thread::get_id())) ++resumed_on_pool;
  };
  for (int n = 0; n < kCoroutines; ++n) asio::co_spawn(io, work(n), asio::detached);

  std::vector<std::thread> runners;
  for (int t = 0; t < kThreads; ++t) {
    runners.emplace_back([&] {
      {
        std::lock_guard lock(mutex);
        io_threads.insert(std::this_thread::get_id());
      }
      io.run();
    });
  }
  for (auto& runner : runners) runner.join();

  EXPECT_EQ(finished, kCoroutines);
  EXPECT_EQ(sum, static_cast<long long>(kCoroutines) * (kCoroutines - 1));
  EXPECT_EQ(resumed_on_pool, 0);
  for (const auto& id : pool_threads) EXPECT_EQ(io_threads.count(id), 0u);
}

}  // namespace
}  // namespace mailport::net
