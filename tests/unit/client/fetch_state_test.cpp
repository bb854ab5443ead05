#include "client/fetch_state.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include "support/temp_dir.hpp"

namespace mailport::client {
namespace {

using test_support::read_file;
using test_support::TempDir;
using test_support::write_file;

TEST(FetchState, StartsEmptyAndCreatesItsDirectoryPrivately) {
  TempDir dir;
  const auto path = dir.path() / "a" / "b" / "acct.state";
  auto state = FetchState::open(path);
  ASSERT_TRUE(state) << state.error().describe();
  EXPECT_EQ(state->fetched_count(), 0u);
  EXPECT_FALSE(state->last_login());
  struct stat st {};
  ASSERT_EQ(::stat((dir.path() / "a" / "b").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
}

TEST(FetchState, EveryRecordSurvivesWithoutCompaction) {
  TempDir dir;
  const auto path = dir.path() / "acct.state";
  {
    auto state = FetchState::open(path);
    ASSERT_TRUE(state);
    ASSERT_TRUE(state->record_pending("u1", "tok1"));
    ASSERT_TRUE(state->record_fetched("u1", 100));
    ASSERT_TRUE(state->record_pending("u2", "tok2"));
    ASSERT_TRUE(state->record_fetched("u3", 300));
    ASSERT_TRUE(state->record_login(400, 900));
    // No compact(): as if the process were killed here.
  }
  auto state = FetchState::open(path);
  ASSERT_TRUE(state);
  EXPECT_TRUE(state->fetched("u1"));
  EXPECT_EQ(state->first_seen("u1"), 100);
  EXPECT_EQ(state->pending("u1"), nullptr);
  ASSERT_NE(state->pending("u2"), nullptr);
  EXPECT_EQ(*state->pending("u2"), "tok2");
  EXPECT_FALSE(state->fetched("u2"));
  EXPECT_TRUE(state->fetched("u3"));
  EXPECT_EQ(state->last_login(), 400);
  EXPECT_EQ(state->login_delay(), 900u);
}

TEST(FetchState, FirstFetchTimeIsKept) {
  TempDir dir;
  auto state = FetchState::open(dir.path() / "s");
  ASSERT_TRUE(state);
  ASSERT_TRUE(state->record_fetched("u", 10));
  ASSERT_TRUE(state->record_fetched("u", 20));
  EXPECT_EQ(state->first_seen("u"), 10);
}

TEST(FetchState, CompactionFoldsTheJournalIntoTheStateFile) {
  TempDir dir;
  const auto path = dir.path() / "acct.state";
  {
    auto state = FetchState::open(path);
    ASSERT_TRUE(state);
    ASSERT_TRUE(state->record_fetched("keep-me", 5));
    ASSERT_TRUE(state->record_fetched("drop-me", 6));
    ASSERT_TRUE(state->forget({"drop-me"}));
    ASSERT_TRUE(state->record_login(7, std::nullopt));
    ASSERT_TRUE(state->compact());
  }
  EXPECT_EQ(read_file(path.string() + ".journal"), "");
  EXPECT_EQ(read_file(path), "mailport-fetch-state 1\nlogin 7 -\nfetched keep-me 5\n");
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  auto state = FetchState::open(path);
  ASSERT_TRUE(state);
  EXPECT_TRUE(state->fetched("keep-me"));
  EXPECT_FALSE(state->fetched("drop-me"));
  EXPECT_FALSE(state->login_delay());
}

TEST(FetchState, ReplayingAJournalAlreadyFoldedInChangesNothing) {
  // A crash between the rename of the state file and the truncation of the journal.
  TempDir dir;
  const auto path = dir.path() / "acct.state";
  write_file(path, "mailport-fetch-state 1\nfetched a 1\nfetched c 3\n");
  write_file(path.string() + ".journal",
             "pending a t\nfetched a 1\nfetched b 2\nforget b\nfetched c 3\n");
  auto state = FetchState::open(path);
  ASSERT_TRUE(state) << state.error().describe();
  EXPECT_TRUE(state->fetched("a"));
  EXPECT_EQ(state->pending("a"), nullptr);
  EXPECT_FALSE(state->fetched("b"));
  EXPECT_TRUE(state->fetched("c"));
  EXPECT_EQ(state->known_uidls().size(), 2u);
}

TEST(FetchState, TornLastRecordIsDroppedAndAppendsStartClean) {
  TempDir dir;
  const auto path = dir.path() / "acct.state";
  write_file(path.string() + ".journal", "fetched a 1\nfetched b 1");
  {
    auto state = FetchState::open(path);
    ASSERT_TRUE(state) << state.error().describe();
    EXPECT_TRUE(state->fetched("a"));
    EXPECT_FALSE(state->fetched("b"));
    ASSERT_TRUE(state->record_fetched("c", 2));
  }
  EXPECT_EQ(read_file(path.string() + ".journal"), "fetched a 1\nfetched c 2\n");
}

TEST(FetchState, DamagedFilesAreRefusedWithTheirLine) {
  TempDir dir;
  const auto path = dir.path() / "acct.state";
  write_file(path, "mailport-fetch-state 1\nfetched a\n");
  auto state = FetchState::open(path);
  ASSERT_FALSE(state);
  EXPECT_TRUE(state.error().is(errc::invalid_input));
  EXPECT_NE(state.error().message.find("acct.state:2:"), std::string::npos);

  write_file(path, "something else\n");
  EXPECT_FALSE(FetchState::open(path));

  write_file(path, "mailport-fetch-state 1\n");
  write_file(path.string() + ".journal", "fetched a 1\nexplode now\nfetched b 2\n");
  auto journal = FetchState::open(path);
  ASSERT_FALSE(journal);
  EXPECT_NE(journal.error().message.find(".journal:2:"), std::string::npos);
}

TEST(FetchState, SecondOpenOfTheSameAccountIsInUse) {
  TempDir dir;
  const auto path = dir.path() / "acct.state";
  auto first = FetchState::open(path);
  ASSERT_TRUE(first);
  auto second = FetchState::open(path);
  ASSERT_FALSE(second);
  EXPECT_TRUE(second.error().is(errc::in_use));
}

TEST(FetchState, TokensAndUidlsMustBeSingleWords) {
  TempDir dir;
  auto state = FetchState::open(dir.path() / "s");
  ASSERT_TRUE(state);
  EXPECT_FALSE(state->record_pending("u", "two words"));
  EXPECT_FALSE(state->record_pending("u v", "tok"));
  EXPECT_FALSE(state->record_fetched("", 1));
  EXPECT_FALSE(state->record_fetched("caf\xc3\xa9", 1));
}

TEST(StateFileFor, EncodesEverythingOutsideASafeSet) {
  EXPECT_EQ(state_file_for("/s", "alice@mail.example.org:995"),
            "/s/alice@mail.example.org%3A995.state");
  EXPECT_EQ(state_file_for("/s", "a/b@h:1"), "/s/a%2Fb@h%3A1.state");
  EXPECT_EQ(state_file_for("/s", "..@h:1"), "/s/%2E.@h%3A1.state");
  EXPECT_NE(state_file_for("/s", "a_b@h:1"), state_file_for("/s", "a/b@h:1"));
}

TEST(DefaultStateDir, FollowsXdgStateHomeThenHome) {
  const char* old_xdg = std::getenv("XDG_STATE_HOME");
  const std::string saved_xdg = old_xdg ? old_xdg : "";
  ::setenv("XDG_STATE_HOME", "/xdg", 1);
  EXPECT_EQ(*default_state_dir(), "/xdg/mailport/fetch");
  ::unsetenv("XDG_STATE_HOME");
  const char* home = std::getenv("HOME");
  if (home && *home == '/') {
    EXPECT_EQ(*default_state_dir(), std::filesystem::path(home) / ".local/state/mailport/fetch");
  }
  if (old_xdg) ::setenv("XDG_STATE_HOME", saved_xdg.c_str(), 1);
}

}  // namespace
}  // namespace mailport::client
