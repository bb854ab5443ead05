// New mail arriving during the mixed scenario: Maildir deliveries (tmp/ then rename to new/)
// into the same tree the server under test reads.
#pragma once

#include <asio/awaitable.hpp>

#include "bench/options.hpp"
#include "bench/stats.hpp"

namespace mailport::bench {

// Delivers options.deliver_rate messages per second, round-robin over options.accounts, until
// window.end. Failures are counted in stats as "deliver" errors.
asio::awaitable<void> run_deliveries(const Options& options, Window window, Stats& stats);

}  // namespace mailport::bench
