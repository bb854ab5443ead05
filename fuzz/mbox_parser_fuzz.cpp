// Splits arbitrary bytes as an mbox spool, fed in chunks, and aborts unless every message lies
// inside the input, starts at a "From " line, and the result does not depend on the chunking.
// Input layout: byte 0: chunk size - 1; rest: the spool.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>
#include <vector>

#include "store/maildir_name.hpp"
#include "store/mbox_format.hpp"

namespace {

using namespace mailport::store;

void check(bool condition) {
  if (!condition) std::abort();
}

std::vector<MboxEntry> scan(std::string_view spool, std::size_t chunk) {
  MboxScanner scanner;
  for (std::size_t pos = 0; pos < spool.size(); pos += chunk)
    scanner.feed(spool.substr(pos, chunk));
  return scanner.finish();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const std::size_t chunk = static_cast<std::size_t>(data[0]) + 1;
  const std::string_view spool(reinterpret_cast<const char*>(data) + 1, size - 1);
  const std::vector<MboxEntry> entries = scan(spool, chunk);
  const std::vector<MboxEntry> whole = scan(spool, spool.size() + 1);
  check(entries.size() == whole.size());
  std::uint64_t previous_end = 0;
  for (std::size_t i = 0; i < entries.size(); ++i) {
    const MboxEntry& e = entries[i];
    check(e.from_offset == whole[i].from_offset && e.content_length == whole[i].content_length &&
          e.wire_size == whole[i].wire_size && e.uidl == whole[i].uidl);
    check(e.from_offset >= previous_end);
    check(spool.substr(e.from_offset, 5) == "From ");
    check(e.content_offset > e.from_offset && e.content_offset <= spool.size());
    check(e.content_offset + e.content_length <= spool.size());
    // Each LF adds at most one CR on the wire.
    check(e.wire_size >= e.content_length && e.wire_size <= 2 * e.content_length);
    check(is_valid_uidl(e.uidl));
    previous_end = e.content_offset + e.content_length;
  }
  return 0;
}
