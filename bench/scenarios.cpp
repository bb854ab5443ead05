#include "bench/scenarios.hpp"

#include <asio/co_spawn.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>
#include <charconv>
#include <exception>
#include <functional>
#include <unordered_map>
#include <unordered_set>

namespace mailport::bench {
namespace {

constexpr auto kAsTuple = asio::experimental::as_tuple(asio::use_awaitable);
constexpr auto kErrorBackoff = std::chrono::milliseconds(20);

struct Listed {
  std::uint64_t number = 0;
  std::uint64_t size = 0;
};

struct Unique {
  std::uint64_t number = 0;
  std::string uidl;
};

bool parse_number(std::string_view text, std::uint64_t& value) {
  const auto* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, value);
  return ec == std::errc() && ptr == end && !text.empty();
}

// "N REST" -> N and REST; false unless N is a positive number and REST is non-empty.
bool split_numbered(std::string_view line, std::uint64_t& number, std::string_view& rest) {
  const auto space = line.find(' ');
  if (space == std::string_view::npos) return false;
  rest = line.substr(space + 1);
  return parse_number(line.substr(0, space), number) && number > 0 && !rest.empty();
}

void record_failure(LoadThread& thread, Pop3Client& client) {
  thread.stats.error(client.error_kind(), client.error_detail());
  client.close();
}

asio::awaitable<void> back_off() {
  asio::steady_timer timer(co_await asio::this_coro::executor, kErrorBackoff);
  co_await timer.async_wait(kAsTuple);
}

// Validates "+OK nn mm" of STAT; returns the message count.
bool check_stat(Pop3Client& client, LoadThread& thread, std::uint64_t& count) {
  std::string_view rest = client.status().substr(3);
  std::uint64_t size = 0;
  const auto space = rest.find(' ', 1);
  if (!rest.starts_with(' ') || space == std::string_view::npos ||
      !parse_number(rest.substr(1, space - 1), count)) {
    thread.stats.error("stat", client.status());
    return false;
  }
  std::string_view tail = rest.substr(space + 1);
  tail = tail.substr(0, tail.find(' '));
  if (!parse_number(tail, size)) {
    thread.stats.error("stat", client.status());
    return false;
  }
  return true;
}

asio::awaitable<bool> list_all(Pop3Client& client, LoadThread& thread,
                               std::vector<Listed>& listed) {
  std::vector<std::string> lines;
  std::uint64_t octets = 0;
  if (!co_await client.command("LIST", "list")) co_return false;
  if (!co_await client.read_body(&lines, octets)) co_return false;
  listed.clear();
  for (const auto& line : lines) {
    Listed item;
    std::string_view rest;
    if (!split_numbered(line, item.number, rest) || !parse_number(rest, item.size)) {
      thread.stats.error("list", line);
      co_return false;
    }
    listed.push_back(item);
  }
  co_return true;
}

asio::awaitable<bool> uidl_all(Pop3Client& client, LoadThread& thread,
                               std::vector<Unique>& unique) {
  std::vector<std::string> lines;
  std::uint64_t octets = 0;
  if (!co_await client.command("UIDL", "uidl")) co_return false;
  if (!co_await client.read_body(&lines, octets)) co_return false;
  unique.clear();
  for (auto& line : lines) {
    Unique item;
    std::string_view rest;
    if (!split_numbered(line, item.number, rest) || rest.size() > 70) {
      thread.stats.error("uidl", line);
      co_return false;
    }
    item.uidl.assign(rest);
    unique.push_back(std::move(item));
  }
  co_return true;
}

// RETR one message and check its octets against the size LIST announced.
asio::awaitable<bool> retrieve(Pop3Client& client, LoadThread& thread, const LoadContext& ctx,
                               const Listed& item) {
  std::uint64_t octets = 0;
  const std::string retr = "RETR " + std::to_string(item.number);
  if (!co_await client.command(retr, "retr")) co_return false;
  if (!co_await client.read_body(nullptr, octets)) co_return false;
  if (octets != item.size) {
    thread.stats.error("retr-size", "message " + std::to_string(item.number) + ": LIST said " +
                                        std::to_string(item.size) + ", RETR sent " +
                                        std::to_string(octets));
    co_return false;
  }
  if (ctx.window.contains(Clock::now())) {
    ++thread.stats.messages;
    thread.stats.bytes += octets;
  }
  co_return true;
}

void count_session(const LoadContext& ctx, LoadThread& thread, const Pop3Client& client,
                   Clock::time_point start) {
  const auto done = Clock::now();
  if (!ctx.window.contains(done)) return;
  ++thread.stats.sessions;
  thread.stats.session_ms.push_back(ms_since(start, done));
  if (client.handshaken()) ++thread.stats.handshakes;
  if (client.resumed()) ++thread.stats.resumed;
}

asio::awaitable<void> login_worker(const LoadContext& ctx, LoadThread& thread, unsigned index) {
  const auto accounts = owned_accounts(ctx.options, index, ctx.options.clients);
  Pop3Client client(thread.io, ctx.tls, ctx.options, thread.registry);
  for (std::size_t n = 0; Clock::now() < ctx.window.end; ++n) {
    const auto start = Clock::now();
    std::uint64_t count = 0;
    bool ok = co_await client.open(*accounts[n % accounts.size()], ctx.server);
    if (ok) ok = co_await client.command("STAT", "stat");
    if (ok && !check_stat(client, thread, count)) {
      client.close();
      co_await back_off();
      continue;
    }
    if (ok) ok = co_await client.quit();
    if (!ok) {
      record_failure(thread, client);
      co_await back_off();
      continue;
    }
    count_session(ctx, thread, client, start);
  }
}

asio::awaitable<bool> retr_session(const LoadContext& ctx, LoadThread& thread,
                                   Pop3Client& client, const Account& account) {
  std::vector<Listed> listed;
  if (!co_await client.open(account, ctx.server)) co_return false;
  if (!co_await list_all(client, thread, listed)) co_return false;
  for (const auto& item : listed) {
    if (Clock::now() >= ctx.window.end) break;
    if (!co_await retrieve(client, thread, ctx, item)) co_return false;
  }
  const bool ok = co_await client.quit();
  co_return ok;
}

asio::awaitable<void> retr_worker(const LoadContext& ctx, LoadThread& thread, unsigned index) {
  const auto accounts = owned_accounts(ctx.options, index, ctx.options.clients);
  Pop3Client client(thread.io, ctx.tls, ctx.options, thread.registry);
  for (std::size_t n = 0; Clock::now() < ctx.window.end; ++n) {
    const auto start = Clock::now();
    const auto errors = thread.stats.error_count();
    if (!co_await retr_session(ctx, thread, client, *accounts[n % accounts.size()])) {
      if (thread.stats.error_count() == errors) record_failure(thread, client);
      client.close();
      co_await back_off();
      continue;
    }
    count_session(ctx, thread, client, start);
  }
}

// What one mixed-load client remembers about a mailbox between polls, like a real client.
struct MailboxMemory {
  std::unordered_set<std::string> seen;
  std::unordered_set<std::string> deleted;
};

bool wants_delete(const std::string& uidl, unsigned percent) {
  return std::hash<std::string>{}(uidl) % 100 < percent;
}

asio::awaitable<bool> mixed_session(const LoadContext& ctx, LoadThread& thread,
                                    Pop3Client& client, const Account& account,
                                    MailboxMemory& memory) {
  std::vector<Unique> unique;
  std::vector<Listed> listed;
  if (!co_await client.open(account, ctx.server)) co_return false;
  if (!co_await uidl_all(client, thread, unique)) co_return false;
  if (!co_await list_all(client, thread, listed)) co_return false;
  if (unique.size() != listed.size()) {
    thread.stats.error("uidl-list", "UIDL and LIST disagree on the message count");
    co_return false;
  }
  std::vector<std::string> marked;
  for (std::size_t i = 0; i < unique.size(); ++i) {
    const std::string& uidl = unique[i].uidl;
    if (memory.deleted.contains(uidl)) {
      thread.stats.error("dele-lost", "message " + uidl + " deleted earlier is listed again");
      co_return false;
    }
    if (memory.seen.contains(uidl)) continue;
    if (!co_await retrieve(client, thread, ctx, listed[i])) co_return false;
    memory.seen.insert(uidl);
    if (!wants_delete(uidl, ctx.options.dele_percent)) continue;
    const std::string dele = "DELE " + std::to_string(listed[i].number);
    if (!co_await client.command(dele, "dele")) co_return false;
    marked.push_back(uidl);
  }
  if (!co_await client.quit()) co_return false;
  for (auto& uidl : marked) {
    memory.seen.erase(uidl);
    memory.deleted.insert(std::move(uidl));
  }
  if (ctx.window.contains(Clock::now())) thread.stats.deleted += marked.size();
  co_return true;
}

asio::awaitable<void> mixed_worker(const LoadContext& ctx, LoadThread& thread, unsigned index) {
  const auto accounts = owned_accounts(ctx.options, index, ctx.options.clients);
  std::vector<MailboxMemory> memory(accounts.size());
  Pop3Client client(thread.io, ctx.tls, ctx.options, thread.registry);
  for (std::size_t n = 0; Clock::now() < ctx.window.end; ++n) {
    const auto start = Clock::now();
    const auto errors = thread.stats.error_count();
    const std::size_t slot = n % accounts.size();
    if (!co_await mixed_session(ctx, thread, client, *accounts[slot], memory[slot])) {
      if (thread.stats.error_count() == errors) record_failure(thread, client);
      client.close();
      co_await back_off();
      continue;
    }
    count_session(ctx, thread, client, start);
  }
}

asio::awaitable<bool> bigbox_session(const LoadContext& ctx, LoadThread& thread,
                                     Pop3Client& client) {
  const auto start = Clock::now();
  std::vector<Unique> unique;
  std::vector<Listed> listed;
  if (!co_await client.open(ctx.options.accounts.front(), ctx.server)) co_return false;
  const auto logged_in = Clock::now();
  if (!co_await uidl_all(client, thread, unique)) co_return false;
  const auto uidl_done = Clock::now();
  if (!co_await list_all(client, thread, listed)) co_return false;
  const auto list_done = Clock::now();
  const auto expected = ctx.options.expect_messages.value_or(unique.size());
  if (unique.size() != listed.size() || unique.size() != expected) {
    thread.stats.error("bigbox-count", "UIDL " + std::to_string(unique.size()) + ", LIST " +
                                           std::to_string(listed.size()) + ", expected " +
                                           std::to_string(expected));
    co_return false;
  }
  if (!co_await client.quit()) co_return false;
  thread.stats.login_ms.push_back(ms_since(start, logged_in));
  thread.stats.uidl_ms.push_back(ms_since(logged_in, uidl_done));
  thread.stats.list_ms.push_back(ms_since(uidl_done, list_done));
  thread.stats.messages += unique.size();
  co_return true;
}

// Sequential by design: the figure is the latency one client sees on a huge maildrop.
asio::awaitable<void> bigbox_worker(const LoadContext& ctx, LoadThread& thread, unsigned index) {
  if (index != 0) co_return;
  Pop3Client client(thread.io, ctx.tls, ctx.options, thread.registry);
  for (unsigned i = 0; i < ctx.options.iterations; ++i) {
    const auto start = Clock::now();
    const auto errors = thread.stats.error_count();
    if (!co_await bigbox_session(ctx, thread, client)) {
      if (thread.stats.error_count() == errors) record_failure(thread, client);
      client.close();
      continue;
    }
    ++thread.stats.sessions;
    thread.stats.session_ms.push_back(ms_since(start, Clock::now()));
  }
}

}  // namespace

Worker find_worker(const std::string& scenario) {
  static const std::unordered_map<std::string, Worker> kWorkers = {
      {"login", login_worker},
      {"retr", retr_worker},
      {"mixed", mixed_worker},
      {"bigbox", bigbox_worker},
  };
  const auto it = kWorkers.find(scenario);
  return it == kWorkers.end() ? Worker() : it->second;
}

std::vector<const Account*> owned_accounts(const Options& options, unsigned index,
                                           unsigned clients) {
  std::vector<const Account*> owned;
  for (std::size_t i = index; i < options.accounts.size(); i += clients) {
    owned.push_back(&options.accounts[i]);
  }
  return owned;
}

void spawn_tracked(LoadThread& thread, asio::awaitable<void> body) {
  ++thread.running;
  asio::co_spawn(thread.io, std::move(body), [&thread](std::exception_ptr error) {
    if (error) {
      try {
        std::rethrow_exception(error);
      } catch (const std::exception& e) {
        thread.stats.error("exception", e.what());
      }
    }
    if (--thread.running == 0) thread.stop_sweeper = true;
  });
}

}  // namespace mailport::bench
