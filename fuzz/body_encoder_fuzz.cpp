// Checks BodyEncoder against a direct model of RFC 1939 §3: the message with every line end as
// CRLF, split into lines, cut after the header and `n` body lines for TOP, dot-stuffed, and
// terminated. Also checks that the chunking of the input never changes the output.
//   byte 0: 0xFF = RETR, otherwise TOP with (byte % 8) body lines
//   byte 1: chunk size - 1
//   rest:   the stored message
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "pop3/body_encoder.hpp"

namespace {

using mailport::pop3::BodyEncoder;

void check(bool condition) {
  if (!condition) std::abort();
}

// Lines of the message once bare LFs are CRLF, without their CRLF; a last line without a line
// end counts as a line.
std::vector<std::string> model_lines(std::string_view message) {
  std::vector<std::string> lines;
  std::string line;
  for (std::size_t i = 0; i < message.size(); ++i) {
    if (message[i] != '\n') {
      line.push_back(message[i]);
      continue;
    }
    if (!line.empty() && line.back() == '\r') line.pop_back();
    lines.push_back(std::move(line));
    line.clear();
  }
  if (!line.empty()) lines.push_back(std::move(line));
  return lines;
}

std::string model(std::string_view message, std::optional<std::uint64_t> top_lines) {
  const auto lines = model_lines(message);
  std::size_t count = lines.size();
  if (top_lines) {
    std::size_t header_end = 0;
    while (header_end < lines.size() && !lines[header_end].empty()) ++header_end;
    if (header_end < lines.size()) {
      count = std::min<std::size_t>(lines.size(), header_end + 1 + *top_lines);
    }
  }
  std::string out;
  for (std::size_t i = 0; i < count; ++i) {
    if (!lines[i].empty() && lines[i].front() == '.') out.push_back('.');
    out += lines[i];
    out += "\r\n";
  }
  return out + ".\r\n";
}

std::string encode(std::string_view message, std::optional<std::uint64_t> top_lines,
                   std::size_t chunk) {
  BodyEncoder encoder(top_lines);
  std::string out;
  while (!message.empty() && !encoder.done()) {
    const auto piece = message.substr(0, chunk);
    message.remove_prefix(piece.size());
    encoder.encode(piece, out);
  }
  encoder.finish(out);
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  const std::optional<std::uint64_t> top_lines =
      data[0] == 0xFF ? std::nullopt : std::optional<std::uint64_t>(data[0] % 8);
  const std::size_t chunk = std::size_t{data[1]} + 1;
  const std::string_view message(reinterpret_cast<const char*>(data) + 2, size - 2);
  const std::string whole = encode(message, top_lines, message.size() + 1);
  check(whole == model(message, top_lines));
  check(encode(message, top_lines, chunk) == whole);
  if (!top_lines) {
    check(whole.size() >= mailport::pop3::wire_octets(message));
  }
  return 0;
}
