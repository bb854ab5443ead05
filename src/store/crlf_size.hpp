// Wire size of a stored message: every line end counted as CRLF, before dot-stuffing. A bare LF
// becomes CRLF on the wire (2 octets), an existing CRLF stays 2, a bare CR is sent as is (1).
#pragma once

#include <cstdint>
#include <string_view>

namespace mailport::store {

// Streaming form for files read in chunks; a CR at the end of one chunk pairs with an LF at the
// start of the next.
class CrlfSizeCounter {
 public:
  void feed(std::string_view chunk);
  std::uint64_t total() const { return total_; }

 private:
  std::uint64_t total_ = 0;
  bool previous_was_cr_ = false;
};

std::uint64_t crlf_size(std::string_view message);

}  // namespace mailport::store
