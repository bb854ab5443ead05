// Maildir file-name parsing on arbitrary names. The input is split at NUL bytes (which no file
// name contains) into up to three names; each is parsed and checked on its own, and the three
// together check that natural_compare is a consistent order (std::sort relies on it).
#include <array>
#include <charconv>
#include <compare>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "store/maildir_name.hpp"

namespace {

using namespace mailport::store;

void check(bool condition) {
  if (!condition) std::abort();
}

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

void check_parse(std::string_view name) {
  const MaildirName parsed = parse_maildir_name(name);
  // The base is everything before the first ':' and points into the name.
  check(parsed.base.data() == name.data());
  check(parsed.base.find(':') == std::string_view::npos);
  check(parsed.base.size() == name.size() || name[parsed.base.size()] == ':');
  if (parsed.wire_size) {
    // Only a ",W=<digits>" field of the base counts, and it holds exactly that value.
    const std::size_t field = parsed.base.find(",W=");
    check(field != std::string_view::npos);
    std::string_view digits = parsed.base.substr(field + 3);
    digits = digits.substr(0, digits.find(','));
    std::uint64_t value = 0;
    const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
    check(ec == std::errc{} && end == digits.data() + digits.size() && value == *parsed.wire_size);
  }
  if (parsed.timestamp) check(!name.empty() && is_digit(name.front()));
}

void check_names(std::string_view name) {
  const std::string base(parse_maildir_name(name).base);
  const std::string uidl = maildir_uidl(base);
  check(is_valid_uidl(uidl));
  check(uidl == maildir_uidl(base));
  check(is_valid_uidl(base) ? uidl == base : uidl.starts_with(kDigestUidlPrefix));
  // Moving new/ -> cur/ keeps the base, so the UIDL survives the move.
  const std::string cur = cur_name_for(name);
  check(parse_maildir_name(cur).base == base);
  check(cur.find(':') != std::string::npos);
  check(cur_name_for(cur) == cur);
}

void check_hostname(std::string_view host) {
  const std::string encoded = encode_maildir_hostname(host);
  check(encoded.find_first_of("/:,") == std::string::npos);
  std::size_t specials = 0;
  for (char c : host) specials += c == '/' || c == ':' || c == ',';
  check(encoded.size() == host.size() + 3 * specials);
}

std::strong_ordering flipped(std::strong_ordering order) {
  return 0 <=> order;
}

void check_order(const std::array<std::string_view, 3>& names) {
  for (std::string_view a : names) {
    check(natural_compare(a, a) == std::strong_ordering::equal);
    for (std::string_view b : names) {
      check(natural_compare(a, b) == flipped(natural_compare(b, a)));
      for (std::string_view c : names) {
        if (natural_compare(a, b) <= 0 && natural_compare(b, c) <= 0) {
          check(natural_compare(a, c) <= 0);
        }
      }
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view rest(reinterpret_cast<const char*>(data), size);
  std::array<std::string_view, 3> names{};
  for (std::string_view& name : names) {
    const std::size_t nul = rest.find('\0');
    name = rest.substr(0, nul);
    rest = nul == std::string_view::npos ? std::string_view() : rest.substr(nul + 1);
  }
  for (std::string_view name : names) {
    check_parse(name);
    check_names(name);
    check_hostname(name);
  }
  check_order(names);
  return 0;
}
