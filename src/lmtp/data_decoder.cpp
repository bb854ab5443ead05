#include "lmtp/data_decoder.hpp"

namespace mailport::lmtp {

void DataDecoder::start(std::uint64_t max_size) {
  state_ = State::line_start;
  max_size_ = max_size;
  size_ = 0;
  message_.clear();
}

void DataDecoder::emit(std::string_view text) {
  size_ += text.size();
  if (!too_big()) message_.append(text);
}

// Stored as LF, counted as CRLF: the size the SIZE extension and POP3 LIST speak of.
void DataDecoder::emit_line_end() {
  size_ += 2;
  if (!too_big()) message_.push_back('\n');
}

std::size_t DataDecoder::feed(std::string_view bytes) {
  std::size_t i = 0;
  while (i < bytes.size() && state_ != State::done) {
    const char c = bytes[i];
    switch (state_) {
      case State::line_start:
        if (c == '.') {
          state_ = State::dot;
          ++i;
        } else {
          state_ = State::middle;
        }
        break;
      case State::dot:
        // A lone "." ends the data; any other leading dot was added by the client's stuffing.
        if (c == '\r') {
          state_ = State::dot_cr;
          ++i;
        } else if (c == '\n') {
          state_ = State::done;
          ++i;
        } else {
          state_ = State::middle;
        }
        break;
      case State::dot_cr:
        if (c == '\n') {
          state_ = State::done;
          ++i;
        } else {
          emit("\r");
          state_ = State::middle;
        }
        break;
      case State::middle: {
        const std::size_t end = bytes.find_first_of("\r\n", i);
        const std::size_t stop = end == std::string_view::npos ? bytes.size() : end;
        emit(bytes.substr(i, stop - i));
        i = stop;
        if (i == bytes.size()) break;
        if (bytes[i] == '\n') {
          emit_line_end();
          state_ = State::line_start;
        } else {
          state_ = State::cr;
        }
        ++i;
        break;
      }
      case State::cr:
        if (c == '\n') {
          emit_line_end();
          state_ = State::line_start;
          ++i;
        } else {
          emit("\r");  // a bare CR is data
          state_ = State::middle;
        }
        break;
      case State::done:
        break;
    }
  }
  return i;
}

}  // namespace mailport::lmtp
