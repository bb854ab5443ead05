#include "pop3/line_reader.hpp"

#include <algorithm>

namespace mailport::pop3 {

namespace {

// Buffers that grew for one big pipelined read are released once drained.
constexpr std::size_t kRetainedCapacity = 16 * 1024;

bool control_byte(char c) {
  const auto byte = static_cast<unsigned char>(c);
  return byte < 0x20 || byte == 0x7F;
}

}  // namespace

void LineReader::feed(std::string_view bytes, std::size_t next_limit) {
  compact();
  while (!bytes.empty()) {
    if (discarding_) {
      const auto lf = bytes.find('\n');
      if (lf == std::string_view::npos) return;
      if (cut_line_buffered_) {
        buffer_.push_back('\n');
        line_start_ = buffer_.size();
      }
      discarding_ = cut_line_buffered_ = false;
      bytes.remove_prefix(lf + 1);
      continue;
    }
    const auto last_lf = bytes.rfind('\n');
    if (last_lf != std::string_view::npos) {
      buffer_.append(bytes.substr(0, last_lf + 1));
      line_start_ = buffer_.size();
      bytes.remove_prefix(last_lf + 1);
    }
    append_partial(bytes, line_start_ == read_pos_ ? next_limit : max_limit_);
    return;
  }
}

void LineReader::append_partial(std::string_view bytes, std::size_t limit) {
  const std::size_t have = buffer_.size() - line_start_;
  // Without its LF yet, a line of `limit` octets can only end up longer than the limit.
  if (have + bytes.size() < limit) {
    buffer_.append(bytes);
    return;
  }
  if (have < limit) {
    buffer_.append(bytes.substr(0, limit - have));
  } else {
    buffer_.resize(line_start_ + limit);
  }
  discarding_ = true;
  cut_line_buffered_ = true;
}

std::optional<LineReader::Line> LineReader::next(std::size_t limit) {
  const std::string_view pending = std::string_view(buffer_).substr(read_pos_);
  const auto lf = pending.find('\n');
  if (lf == std::string_view::npos) {
    if (pending.empty() || (pending.size() < limit && !cut_line_buffered_)) return std::nullopt;
    // Too long already: answer now and drop the rest of the line as it arrives.
    buffer_.resize(read_pos_);
    line_start_ = read_pos_;
    discarding_ = true;
    cut_line_buffered_ = false;
    return Line{{}, Problem::too_long};
  }
  read_pos_ += lf + 1;
  if (lf + 1 > limit) return Line{{}, Problem::too_long};
  std::string_view text = pending.substr(0, lf);
  if (!text.empty() && text.back() == '\r') text.remove_suffix(1);
  if (std::ranges::any_of(text, control_byte)) return Line{text, Problem::control_byte};
  return Line{text, Problem::none};
}

void LineReader::clear() {
  buffer_.clear();
  read_pos_ = line_start_ = 0;
  discarding_ = cut_line_buffered_ = false;
  compact();
}

void LineReader::compact() {
  buffer_.erase(0, read_pos_);
  line_start_ -= read_pos_;
  read_pos_ = 0;
  if (buffer_.empty() && buffer_.capacity() > kRetainedCapacity) std::string().swap(buffer_);
}

}  // namespace mailport::pop3
