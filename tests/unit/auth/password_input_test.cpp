#include "auth/password_input.hpp"

#include <gtest/gtest.h>
#include <poll.h>
#include <pty.h>
#include <termios.h>
#include <unistd.h>

#include <optional>
#include <string>
#include <thread>

#include "core/unique_fd.hpp"

namespace mailport::auth {
namespace {

struct Pipe {
  UniqueFd read_end;
  UniqueFd write_end;
  Pipe() {
    int fds[2];
    if (::pipe(fds) != 0) ADD_FAILURE() << "pipe failed";
    read_end.reset(fds[0]);
    write_end.reset(fds[1]);
  }
};

void write_text(int fd, const std::string& text) {
  ASSERT_EQ(::write(fd, text.data(), text.size()), static_cast<ssize_t>(text.size()));
}

// Reads what is available within `timeout_ms`, until `until` shows up or the time is over.
std::string read_until(int fd, const std::string& until, int timeout_ms = 5000) {
  std::string seen;
  for (int waited = 0; waited < timeout_ms && seen.find(until) == std::string::npos; waited += 10) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 10) == 1 && (p.revents & POLLIN)) {
      char buffer[256];
      const ssize_t n = ::read(fd, buffer, sizeof buffer);
      if (n > 0) seen.append(buffer, static_cast<std::size_t>(n));
    }
  }
  return seen;
}

Result<std::string> from_pipe(const std::string& input) {
  Pipe in;
  write_text(in.write_end.get(), input);
  in.write_end.reset();
  Pipe prompts;
  return read_new_password(in.read_end.get(), prompts.write_end.get());
}

TEST(PasswordInput, ReadsOneLineFromAPipe) {
  auto pw = from_pipe("secret\n");
  ASSERT_TRUE(pw.ok()) << pw.error().describe();
  EXPECT_EQ(*pw, "secret");
}

TEST(PasswordInput, StripsCrLfAndAcceptsAMissingNewline) {
  auto crlf = from_pipe("secret\r\n");
  ASSERT_TRUE(crlf.ok());
  EXPECT_EQ(*crlf, "secret");
  auto bare = from_pipe("with spaces inside");
  ASSERT_TRUE(bare.ok());
  EXPECT_EQ(*bare, "with spaces inside");
}

TEST(PasswordInput, ConsumesOnlyTheFirstLine) {
  Pipe in;
  write_text(in.write_end.get(), "one\ntwo\n");
  in.write_end.reset();
  auto pw = read_new_password(in.read_end.get(), STDERR_FILENO);
  ASSERT_TRUE(pw.ok());
  EXPECT_EQ(*pw, "one");
  EXPECT_EQ(read_until(in.read_end.get(), "two\n", 1000), "two\n");
}

TEST(PasswordInput, RefusesEmptyMissingOversizedAndNul) {
  for (const std::string& input :
       {std::string(""), std::string("\n"), std::string("\r\n"), std::string("a\0b\n", 4),
        std::string(kMaxPasswordLength + 1, 'x') + "\n"}) {
    auto pw = from_pipe(input);
    ASSERT_FALSE(pw.ok()) << input.size();
    EXPECT_TRUE(pw.error().is(errc::invalid_input));
  }
  auto longest = from_pipe(std::string(kMaxPasswordLength, 'x') + "\n");
  ASSERT_TRUE(longest.ok());
  EXPECT_EQ(longest->size(), kMaxPasswordLength);
}

class TerminalInput : public ::testing::Test {
 protected:
  void SetUp() override {
    int master = -1;
    int slave = -1;
    ASSERT_EQ(::openpty(&master, &slave, nullptr, nullptr, nullptr), 0);
    master_.reset(master);
    slave_.reset(slave);
  }

  // Answers each prompt only once it appears: echo is switched off before the prompt is shown,
  // so typing earlier would be echoed by the terminal regardless of the code under test.
  std::optional<Result<std::string>> run(const std::string& first, const std::string& second,
                                         std::string& echoed) {
    std::optional<Result<std::string>> result;
    std::thread reader(
        [&] { result.emplace(read_new_password(slave_.get(), prompts_.write_end.get(), true)); });
    EXPECT_NE(read_until(prompts_.read_end.get(), "Password: ").find("Password: "),
              std::string::npos);
    write_text(master_.get(), first + "\n");
    EXPECT_NE(read_until(prompts_.read_end.get(), "Retype password: ").find("Retype"),
              std::string::npos);
    write_text(master_.get(), second + "\n");
    reader.join();
    echoed = read_until(master_.get(), "\n\n", 500);
    return result;
  }

  UniqueFd master_;
  UniqueFd slave_;
  Pipe prompts_;
};

TEST_F(TerminalInput, PromptsTwiceWithoutEcho) {
  std::string echoed;
  auto result = run("hunter2", "hunter2", echoed);
  ASSERT_TRUE(result.has_value());
  ASSERT_TRUE(result->ok()) << result->error().describe();
  EXPECT_EQ(**result, "hunter2");
  EXPECT_EQ(echoed.find("hunter2"), std::string::npos) << echoed;
  termios after{};
  ASSERT_EQ(::tcgetattr(slave_.get(), &after), 0);
  EXPECT_NE(after.c_lflag & ECHO, 0u) << "echo must be restored";
}

TEST_F(TerminalInput, MismatchIsAnError) {
  std::string echoed;
  auto result = run("hunter2", "hunter3", echoed);
  ASSERT_TRUE(result.has_value());
  ASSERT_FALSE(result->ok());
  EXPECT_TRUE(result->error().is(errc::invalid_input));
  EXPECT_NE(result->error().message.find("do not match"), std::string::npos);
}

}  // namespace
}  // namespace mailport::auth
