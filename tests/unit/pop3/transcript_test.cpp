// Replays the dialogues in tests/transcripts/*.txt against the session, fed whole and split into
// chunks of many sizes: the responses must be the same byte for byte.
//
// File format, one item per line:
//   C: <command line>          sent by the client (CRLF appended)
//   S: <response line>         expected from the server (CRLF appended)
//   !greeting <text>           Options::greeting
//   !apop <timestamp>          enable APOP with this greeting timestamp
//   !option no-plaintext | tls | no-stls
//   !user <name> <password>    the rest of the line is the password
//   !apop-digest <name> <hex>  the digest the fake accepts for <name>
//   !message <uidl> <content>  content with \n, \r and \\ escapes
//   # comment, blank lines ignored
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "session_driver.hpp"

namespace mailport::pop3::testing {
namespace {

struct Transcript {
  Options options = default_options();
  FakeBackend backend;
  std::string input;
  std::string expected;
};

std::string unescape(std::string_view text) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '\\' || i + 1 == text.size()) {
      out.push_back(text[i]);
      continue;
    }
    const char c = text[++i];
    out.push_back(c == 'n' ? '\n' : c == 'r' ? '\r' : c);
  }
  return out;
}

// "key rest" -> {key, rest}
std::pair<std::string, std::string> split_word(std::string_view text) {
  const auto space = text.find(' ');
  if (space == std::string_view::npos) return {std::string(text), {}};
  return {std::string(text.substr(0, space)), std::string(text.substr(space + 1))};
}

void apply_directive(Transcript& t, std::string_view directive) {
  const auto [key, rest] = split_word(directive);
  if (key == "greeting") {
    t.options.greeting = rest;
  } else if (key == "apop") {
    t.options.apop_enabled = true;
    t.options.apop_timestamp = rest;
  } else if (key == "option" && rest == "no-plaintext") {
    t.options.plaintext_auth_allowed = false;
  } else if (key == "option" && rest == "tls") {
    t.options.tls_active = true;
  } else if (key == "option" && rest == "no-stls") {
    t.options.stls_offered = false;
  } else if (key == "user") {
    const auto [name, password] = split_word(rest);
    t.backend.passwords[name] = password;
  } else if (key == "apop-digest") {
    const auto [name, digest] = split_word(rest);
    t.backend.apop_digests[name] = digest;
  } else if (key == "message") {
    const auto [uidl, content] = split_word(rest);
    t.backend.messages.push_back({uidl, unescape(content)});
  } else {
    ADD_FAILURE() << "unknown directive: " << directive;
  }
}

// "C: x" or "C:" (an empty line)
std::string_view payload(std::string_view line) {
  line.remove_prefix(2);
  if (!line.empty() && line.front() == ' ') line.remove_prefix(1);
  return line;
}

Transcript load(const std::filesystem::path& path) {
  Transcript t;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line.front() == '#') continue;
    if (line.starts_with("C:")) {
      t.input.append(payload(line)).append("\r\n");
    } else if (line.starts_with("S:")) {
      t.expected.append(payload(line)).append("\r\n");
    } else if (line.front() == '!') {
      apply_directive(t, std::string_view(line).substr(1));
    } else {
      ADD_FAILURE() << path << ": unparsable line: " << line;
    }
  }
  return t;
}

std::vector<std::string> transcript_files() {
  std::vector<std::string> files;
  for (const auto& entry : std::filesystem::directory_iterator(MAILPORT_TRANSCRIPT_DIR)) {
    if (entry.path().extension() == ".txt") files.push_back(entry.path().filename().string());
  }
  std::ranges::sort(files);
  return files;
}

class TranscriptReplay : public ::testing::TestWithParam<std::string> {};

TEST_P(TranscriptReplay, SameBytesAtEveryChunkSize) {
  const Transcript t = load(std::filesystem::path(MAILPORT_TRANSCRIPT_DIR) / GetParam());
  ASSERT_FALSE(t.expected.empty());
  for (std::size_t chunk : {std::string::npos, std::size_t{1}, std::size_t{2}, std::size_t{3},
                            std::size_t{4}, std::size_t{7}, std::size_t{64}, std::size_t{512}}) {
    Driver driver(t.options, t.backend);
    const std::string out = driver.start() + driver.send(t.input, chunk);
    EXPECT_EQ(out, t.expected) << "chunk size " << chunk;
  }
}

TEST_P(TranscriptReplay, SameBytesLineByLine) {
  const Transcript t = load(std::filesystem::path(MAILPORT_TRANSCRIPT_DIR) / GetParam());
  Driver driver(t.options, t.backend);
  std::string out = driver.start();
  std::string_view input = t.input;
  while (!input.empty()) {
    const auto end = input.find('\n') + 1;
    out += driver.send(input.substr(0, end));
    input.remove_prefix(end);
  }
  EXPECT_EQ(out, t.expected);
}

INSTANTIATE_TEST_SUITE_P(Files, TranscriptReplay, ::testing::ValuesIn(transcript_files()),
                         [](const auto& info) {
                           std::string name = info.param.substr(0, info.param.size() - 4);
                           std::ranges::replace_if(
                               name,
                               [](char c) { return !std::isalnum(static_cast<unsigned char>(c)); },
                               '_');
                           return name;
                         });

}  // namespace
}  // namespace mailport::pop3::testing
