// The idle scenario: N authenticated connections held open so the server's memory per
// connection can be measured from outside, then each proves it is alive (NOOP) and quits.
#pragma once

#include <asio/awaitable.hpp>
#include <asio/steady_timer.hpp>
#include <atomic>
#include <condition_variable>
#include <map>
#include <mutex>
#include <vector>

#include "bench/scenarios.hpp"

namespace mailport::bench {

class IdleRun {
 public:
  IdleRun(unsigned total, const std::vector<LoadThread*>& threads);

  // One of the concurrent openers on `thread`: connects and logs in until N are attempted.
  asio::awaitable<void> opener(const LoadContext& ctx, LoadThread& thread);
  // Blocks until every connection is either held or has failed.
  void wait_settled();
  // Lets every held connection go on to NOOP and QUIT.
  void release();

 private:
  asio::awaitable<void> hold(LoadThread& thread, std::unique_ptr<Pop3Client> client);
  void settle_one();

  const unsigned total_;
  std::map<LoadThread*, asio::steady_timer> gates_;  // held connections wait on these
  std::atomic<unsigned> next_{0};
  std::mutex mutex_;
  std::condition_variable settled_cv_;
  unsigned settled_ = 0;
};

}  // namespace mailport::bench
