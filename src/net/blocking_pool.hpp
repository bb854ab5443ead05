// Runs blocking work (password hashing, directory scans, fsync) on a thread pool and resumes the
// awaiting coroutine on its own executor, so I/O threads never stall.
#pragma once

#include <asio/any_io_executor.hpp>
#include <asio/async_result.hpp>
#include <asio/dispatch.hpp>
#include <asio/post.hpp>
#include <asio/thread_pool.hpp>
#include <asio/use_awaitable.hpp>
#include <optional>
#include <type_traits>
#include <utility>

namespace mailport::net {

class BlockingPool {
 public:
  explicit BlockingPool(unsigned threads) : pool_(threads) {}
  ~BlockingPool() { pool_.join(); }
  BlockingPool(const BlockingPool&) = delete;
  BlockingPool& operator=(const BlockingPool&) = delete;

  void stop() { pool_.stop(); }
  asio::thread_pool::executor_type executor() { return pool_.get_executor(); }

  // co_await pool.run([]{ return blocking_call(); }) -> the call's result.
  template <class F>
  auto run(F fn) -> asio::awaitable<std::invoke_result_t<F>> {
    using R = std::invoke_result_t<F>;
    // Asio's awaitable machinery wants default-constructible results; Result<T> is not.
    auto wrapped = co_await asio::async_initiate<decltype(asio::use_awaitable),
                                                 void(std::optional<R>)>(
        [this, fn = std::move(fn)](auto handler) mutable {
          asio::post(pool_, [handler = std::move(handler), fn = std::move(fn)]() mutable {
            std::optional<R> result(std::in_place, fn());
            auto home = asio::get_associated_executor(handler);
            asio::dispatch(home, [handler = std::move(handler),
                                  result = std::move(result)]() mutable {
              std::move(handler)(std::move(result));
            });
          });
        },
        asio::use_awaitable);
    co_return std::move(*wrapped);
  }

 private:
  asio::thread_pool pool_;
};

}  // namespace mailport::net
