// SCRAM-SHA-256 against a real SCRAM server (GNU SASL's server side) on a socket pair, so the
// client's proof and its check of the server's signature are both exercised for real.
#include "client/scram.hpp"

#include <gsasl.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <string>
#include <thread>

#include "client/pop3_client.hpp"
#include "core/unique_fd.hpp"

namespace mailport::client {
namespace {

class FdTransport final : public Transport {
 public:
  explicit FdTransport(int fd) : fd_(fd) {}
  Result<std::size_t> read_some(std::span<char> buffer) override {
    const ssize_t n = ::read(fd_, buffer.data(), buffer.size());
    if (n < 0) return Error::from_errno(errno, "read");
    return static_cast<std::size_t>(n);
  }
  Result<void> write_all(std::string_view bytes) override {
    while (!bytes.empty()) {
      const ssize_t n = ::write(fd_, bytes.data(), bytes.size());
      if (n <= 0) return Error::from_errno(errno, "write");
      bytes.remove_prefix(static_cast<std::size_t>(n));
    }
    return {};
  }
  Result<void> start_tls() override { return make_error(errc::permanent_failure, "no TLS here"); }

 private:
  int fd_;
};

enum class ServerMode { honest, skips_final };

int password_callback(Gsasl*, Gsasl_session* session, Gsasl_property property) {
  if (property != GSASL_PASSWORD) return GSASL_NO_CALLBACK;
  return gsasl_property_set(session, GSASL_PASSWORD, "correct horse");
}

// The server side of "AUTH SCRAM-SHA-256" as RFC 5034 frames it.
void serve(int fd, ServerMode mode) {
  std::string buffer;
  const auto read_line = [&]() -> std::string {
    for (;;) {
      if (const auto end = buffer.find("\r\n"); end != std::string::npos) {
        std::string line = buffer.substr(0, end);
        buffer.erase(0, end + 2);
        return line;
      }
      char chunk[512];
      const ssize_t n = ::read(fd, chunk, sizeof chunk);
      if (n <= 0) return "*";
      buffer.append(chunk, static_cast<std::size_t>(n));
    }
  };
  const auto send = [&](const std::string& line) {
    const std::string wire = line + "\r\n";
    (void)!::write(fd, wire.data(), wire.size());
  };
  Gsasl* ctx = nullptr;
  Gsasl_session* session = nullptr;
  gsasl_init(&ctx);
  gsasl_callback_set(ctx, password_callback);
  gsasl_server_start(ctx, "SCRAM-SHA-256", &session);
  if (read_line() != "AUTH SCRAM-SHA-256") return send("-ERR unexpected");
  send("+ ");
  for (int round = 0; round < 4; ++round) {
    const std::string response = read_line();
    if (response == "*") {
      send("-ERR cancelled");
      break;
    }
    char* out = nullptr;
    const int rc = gsasl_step64(session, response.c_str(), &out);
    const std::string challenge = out ? out : "";
    gsasl_free(out);
    if (rc == GSASL_NEEDS_MORE) {
      send("+ " + challenge);
    } else if (rc == GSASL_OK) {
      if (mode == ServerMode::honest) {
        send("+ " + challenge);
        read_line();  // the client's empty answer to server-final
      }
      send("+OK logged in");
      break;
    } else {
      send("-ERR [AUTH] Authentication failed.");
      break;
    }
  }
  gsasl_finish(session);
  gsasl_done(ctx);
}

Result<void> login(std::string_view password, ServerMode mode) {
  int fds[2];
  EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
  UniqueFd client_fd(fds[0]);
  UniqueFd server_fd(fds[1]);
  std::thread server([&] { serve(server_fd.get(), mode); });
  FdTransport transport(client_fd.get());
  Pop3Client client(transport);
  auto result = client.login_scram("alice", password);
  client_fd.reset();  // unblocks the server if the client stopped early
  server.join();
  return result;
}

TEST(Scram, AvailableInThisBuild) {
  EXPECT_TRUE(scram_available());
}

TEST(Scram, LogsInAndVerifiesTheServer) {
  auto result = login("correct horse", ServerMode::honest);
  EXPECT_TRUE(result) << (result ? "" : result.error().message);
}

TEST(Scram, WrongPasswordIsAuthFailed) {
  auto result = login("wrong", ServerMode::honest);
  ASSERT_FALSE(result);
  EXPECT_TRUE(result.error().is(errc::auth_failed));
}

TEST(Scram, ServerThatNeverProvesItselfIsRefused) {
  auto result = login("correct horse", ServerMode::skips_final);
  ASSERT_FALSE(result);
  EXPECT_TRUE(result.error().is(errc::auth_failed));
  EXPECT_NE(result.error().message.find("without proving"), std::string::npos);
}

TEST(Scram, AutomaticLoginChoosesScramWhenOffered) {
  int fds[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
  UniqueFd client_fd(fds[0]);
  UniqueFd server_fd(fds[1]);
  std::thread server([&] { serve(server_fd.get(), ServerMode::honest); });
  FdTransport transport(client_fd.get());
  Pop3Client client(transport);
  const auto caps = Capabilities::parse({"USER", "SASL PLAIN SCRAM-SHA-256"});
  auto method = client.login(AuthMethod::automatic, caps, "alice", "correct horse");
  client_fd.reset();
  server.join();
  ASSERT_TRUE(method) << method.error().message;
  EXPECT_EQ(*method, AuthMethod::scram_sha_256);
}

}  // namespace
}  // namespace mailport::client
