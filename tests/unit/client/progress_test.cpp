#include "client/progress.hpp"

#include <gtest/gtest.h>

namespace mailport::client {
namespace {

TEST(FormatBytes, SiUnits) {
  EXPECT_EQ(format_bytes(0), "0 B");
  EXPECT_EQ(format_bytes(999), "999 B");
  EXPECT_EQ(format_bytes(1000), "1.0 kB");
  EXPECT_EQ(format_bytes(1536), "1.5 kB");
  EXPECT_EQ(format_bytes(12'300'000), "12.3 MB");
  EXPECT_EQ(format_bytes(5'000'000'000'000'000), "5000.0 TB");
}

TEST(ProgressLine, BarCountsAndRate) {
  AccountProgress progress;
  progress.phase = AccountProgress::Phase::fetching;
  progress.to_fetch = 40;
  progress.fetched = 10;
  progress.bytes = 2'000'000;
  progress.bytes_to_fetch = 8'000'000;
  const auto line = progress_line("alice@h:995", progress, std::chrono::seconds(2), 200);
  EXPECT_EQ(line, "alice@h:995  [#####---------------]  10/40 msgs  2.0 MB of 8.0 MB  1.0 MB/s");
  EXPECT_EQ(progress_line("alice@h:995", progress, std::chrono::seconds(2), 20).size(), 19u);
  progress.phase = AccountProgress::Phase::done;
  progress.to_fetch = 0;
  EXPECT_EQ(progress_line("a", progress, {}, 80), "a  [####################]  done");
}

TEST(SummaryLine, CountsSkipsAndErrors) {
  AccountReport report;
  report.fetched = 3;
  report.bytes = 4500;
  report.deleted = 3;
  report.on_server = 1;
  EXPECT_EQ(summary_line("a@h:995", report),
            "a@h:995: 3 fetched (4.5 kB), 3 deleted on the server, 1 left there");
  report.error = make_error(errc::auth_failed, "PASS refused by the server: -ERR [AUTH] no");
  EXPECT_TRUE(summary_line("a@h:995", report)
                  .ends_with("; FAILED: PASS refused by the server: -ERR [AUTH] no"));
  AccountReport skipped;
  skipped.skipped = "wait";
  EXPECT_EQ(summary_line("a@h:995", skipped), "a@h:995: skipped: wait");
}

TEST(ErrorText, OwnErrorsAreSentencesSystemErrorsGetErrnoText) {
  EXPECT_EQ(error_text(make_error(errc::in_use, "busy")), "busy");
  EXPECT_EQ(error_text(Error::from_errno(ECONNREFUSED, "cannot connect to h:1")),
            "cannot connect to h:1: Connection refused");
}

TEST(ShouldDelete, Policies) {
  constexpr std::int64_t kDay = 86400;
  EXPECT_TRUE(should_delete(DeletePolicy::after_fetch, 0, 100, 100));
  EXPECT_FALSE(should_delete(DeletePolicy::keep, 0, 0, 100 * kDay));
  EXPECT_FALSE(should_delete(DeletePolicy::after_days, 7, 0, 7 * kDay - 1));
  EXPECT_TRUE(should_delete(DeletePolicy::after_days, 7, 0, 7 * kDay));
  EXPECT_TRUE(should_delete(DeletePolicy::after_days, 0, 50, 50));
}

}  // namespace
}  // namespace mailport::client
