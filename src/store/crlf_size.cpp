#include "store/crlf_size.hpp"

namespace mailport::store {

void CrlfSizeCounter::feed(std::string_view chunk) {
  total_ += chunk.size();
  for (const char c : chunk) {
    if (c == '\n' && !previous_was_cr_) ++total_;
    previous_was_cr_ = c == '\r';
  }
}

std::uint64_t crlf_size(std::string_view message) {
  CrlfSizeCounter counter;
  counter.feed(message);
  return counter.total();
}

}  // namespace mailport::store
