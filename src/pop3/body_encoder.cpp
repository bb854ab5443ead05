#include "pop3/body_encoder.hpp"

#include <algorithm>
#include <cstddef>

#include "pop3/response.hpp"

namespace mailport::pop3 {

bool enable_client_workaround(ClientWorkarounds& workarounds, std::string_view name) {
  if (name == "outlook-no-nuls") {
    workarounds.outlook_no_nuls = true;
  } else if (name == "oe-ns-eoh") {
    workarounds.oe_ns_eoh = true;
  } else {
    return false;
  }
  return true;
}

BodyEncoder::BodyEncoder(std::optional<std::uint64_t> top_lines, ClientWorkarounds workarounds)
    : top_lines_(top_lines), workarounds_(workarounds) {}

void BodyEncoder::encode(std::string_view chunk, std::string& out) {
  while (!chunk.empty() && !done_) {
    if (at_line_start_) {
      // Only the first byte matters, so a line start is decided even if it is a chunk's last.
      if (needs_dot_stuffing(chunk)) out.push_back('.');
      at_line_start_ = false;
    }
    const auto lf = chunk.find('\n');
    const auto text = chunk.substr(0, lf);
    if (!text.empty()) {
      append_text(text, out);
      line_octets_ += text.size();
      after_cr_ = text.back() == '\r';
    }
    if (lf == std::string_view::npos) return;
    out.append(after_cr_ ? "\n" : "\r\n");
    end_line();
    chunk.remove_prefix(lf + 1);
  }
}

void BodyEncoder::append_text(std::string_view text, std::string& out) const {
  const auto start = out.size();
  out.append(text);
  if (workarounds_.outlook_no_nuls) {
    std::replace(out.begin() + static_cast<std::ptrdiff_t>(start), out.end(), '\0', '\x80');
  }
}

void BodyEncoder::end_line() {
  const bool empty = line_octets_ == 0 || (line_octets_ == 1 && after_cr_);
  at_line_start_ = true;
  after_cr_ = false;
  line_octets_ = 0;
  if (in_header_) {
    if (!empty) return;
    in_header_ = false;
    done_ = top_lines_ && *top_lines_ == 0;
    return;
  }
  if (top_lines_) done_ = ++body_lines_ >= *top_lines_;
}

void BodyEncoder::finish(std::string& out) {
  if (!at_line_start_) out.append("\r\n");
  if (workarounds_.oe_ns_eoh && in_header_) out.append("\r\n");
  out.append(".\r\n");
}

std::uint64_t wire_octets(std::string_view content) {
  std::uint64_t octets = content.size();
  for (std::size_t i = 0; i < content.size(); ++i) {
    if (content[i] == '\n' && (i == 0 || content[i - 1] != '\r')) ++octets;
  }
  return octets;
}

}  // namespace mailport::pop3
