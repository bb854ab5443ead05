#include "pop3/body_encoder.hpp"

#include "pop3/response.hpp"

namespace mailport::pop3 {

BodyEncoder::BodyEncoder(std::optional<std::uint64_t> top_lines) : top_lines_(top_lines) {}

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
      out.append(text);
      line_octets_ += text.size();
      after_cr_ = text.back() == '\r';
    }
    if (lf == std::string_view::npos) return;
    out.append(after_cr_ ? "\n" : "\r\n");
    end_line();
    chunk.remove_prefix(lf + 1);
  }
}

void BodyEncoder::end_line() {
  const bool empty = line_octets_ == 0 || (line_octets_ == 1 && after_cr_);
  at_line_start_ = true;
  after_cr_ = false;
  line_octets_ = 0;
  if (!top_lines_) return;
  if (in_header_) {
    if (!empty) return;
    in_header_ = false;
    done_ = *top_lines_ == 0;
    return;
  }
  done_ = ++body_lines_ >= *top_lines_;
}

void BodyEncoder::finish(std::string& out) {
  if (!at_line_start_) out.append("\r\n");
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
