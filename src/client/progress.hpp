// How `mailport fetch` shows progress: one redrawn line per account on a terminal, plain log
// lines otherwise, and a summary at the end. Formatting only; the CLI owns the terminal.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "client/fetch_account.hpp"

namespace mailport::client {

// "0 B", "512 B", "1.5 kB", "12.0 MB" (SI units, one decimal above 1 kB).
std::string format_bytes(std::uint64_t bytes);

// "alice@host:995  [#######-----]  12/40 msgs  3.1 MB of 5.0 MB  1.2 MB/s", cut to `width`.
std::string progress_line(std::string_view account, const AccountProgress& progress,
                          std::chrono::steady_clock::duration elapsed, std::size_t width);

// An error for people: mailport's own errors are complete sentences, system errors get the
// errno text appended.
std::string error_text(const Error& error);

// "alice@host:995: 12 fetched (3.1 MB), 12 deleted on the server, 0 left" or the error.
std::string summary_line(std::string_view account, const AccountReport& report);

}  // namespace mailport::client
