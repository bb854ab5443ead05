#include "bench/idle.hpp"

#include <asio/experimental/as_tuple.hpp>
#include <asio/post.hpp>
#include <asio/use_awaitable.hpp>

namespace mailport::bench {
namespace {

constexpr auto kAsTuple = asio::experimental::as_tuple(asio::use_awaitable);

}  // namespace

IdleRun::IdleRun(unsigned total, const std::vector<LoadThread*>& threads) : total_(total) {
  for (LoadThread* thread : threads) {
    gates_.try_emplace(thread, thread->io, Clock::time_point::max());
  }
}

void IdleRun::settle_one() {
  std::lock_guard lock(mutex_);
  if (++settled_ == total_) settled_cv_.notify_all();
}

void IdleRun::wait_settled() {
  std::unique_lock lock(mutex_);
  settled_cv_.wait(lock, [this] { return settled_ >= total_; });
}

void IdleRun::release() {
  for (auto& [thread, gate] : gates_) {
    asio::post(thread->io, [&gate = gate] { gate.cancel(); });
  }
}

asio::awaitable<void> IdleRun::opener(const LoadContext& ctx, LoadThread& thread) {
  for (unsigned index = next_++; index < total_; index = next_++) {
    const Account& account = ctx.options.accounts[index % ctx.options.accounts.size()];
    auto client = std::make_unique<Pop3Client>(thread.io, ctx.tls, ctx.options, thread.registry);
    if (co_await client->open(account, ctx.server)) {
      client->release_buffers();
      ++thread.stats.held;
      if (client->handshaken()) ++thread.stats.handshakes;
      spawn_tracked(thread, hold(thread, std::move(client)));
    } else {
      thread.stats.error(client->error_kind(), client->error_detail());
    }
    settle_one();
  }
}

asio::awaitable<void> IdleRun::hold(LoadThread& thread, std::unique_ptr<Pop3Client> client) {
  co_await gates_.at(&thread).async_wait(kAsTuple);
  bool ok = co_await client->command("NOOP", "idle-noop");
  if (ok) ok = co_await client->quit();
  if (!ok) {
    thread.stats.error(client->error_kind(), client->error_detail());
    co_return;
  }
  ++thread.stats.sessions;
}

}  // namespace mailport::bench
