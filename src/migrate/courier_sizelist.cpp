#include "migrate/courier_sizelist.hpp"

#include <charconv>

namespace mailport::migrate {
namespace {

Error line_error(std::string_view origin, std::size_t line, std::string_view what) {
  return make_error(errc::invalid_input,
                    std::string(origin) + ":" + std::to_string(line) + ": " + std::string(what));
}

template <class T>
bool parse_number(std::string_view text, T& value) {
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  return ec == std::errc{} && end == text.data() + text.size() && !text.empty();
}

// "<uid>:<uidvalidity>" or "<uid>:<uidvalidity>:<utf8>" -> the UIDL Courier printed.
bool courier_uidl(std::string_view field, std::string& uidl) {
  const std::size_t colon = field.find(':');
  if (colon == std::string_view::npos) return false;
  std::string_view validity = field.substr(colon + 1);
  if (const std::size_t second = validity.find(':'); second != std::string_view::npos) {
    unsigned utf8 = 0;
    if (!parse_number(validity.substr(second + 1), utf8)) return false;
    validity = validity.substr(0, second);
  }
  unsigned long uid = 0;
  unsigned long uidv = 0;
  if (!parse_number(field.substr(0, colon), uid) || !parse_number(validity, uidv) || uid == 0) {
    return false;
  }
  uidl = "UID" + std::to_string(uid);
  if (uidv != 0) uidl += "-" + std::to_string(uidv);
  return true;
}

}  // namespace

Result<CourierSizelist> parse_courier_sizelist(std::string_view text, std::string_view origin) {
  CourierSizelist list;
  std::size_t number = 0;
  while (!text.empty()) {
    ++number;
    const std::size_t nl = text.find('\n');
    const std::string_view line = text.substr(0, nl);
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    if (number == 1) {
      if (!line.starts_with('/'))
        return line_error(origin, 1, "expected \"/<version> ...\" header");
      const std::size_t space = line.find(' ');
      if (!parse_number(line.substr(1, space == std::string_view::npos ? line.npos : space - 1),
                        list.version) ||
          (list.version != 2 && list.version != 3)) {
        return line_error(origin, 1, "unsupported courierpop3dsizelist version (2 and 3 known)");
      }
      continue;
    }
    if (line.empty()) continue;
    // The file name may contain spaces: the two numeric fields are taken from the right.
    const std::size_t last = line.rfind(' ');
    const std::size_t before = last == std::string_view::npos || last == 0
                                   ? std::string_view::npos
                                   : line.rfind(' ', last - 1);
    if (before == std::string_view::npos || before == 0) {
      return line_error(origin, number, "expected \"<file> <size> <uid>:<uidvalidity>\"");
    }
    CourierEntry entry;
    entry.filename = std::string(line.substr(0, before));
    if (!parse_number(line.substr(before + 1, last - before - 1), entry.size) ||
        !courier_uidl(line.substr(last + 1), entry.uidl)) {
      return line_error(origin, number, "expected \"<file> <size> <uid>:<uidvalidity>\"");
    }
    list.entries.push_back(std::move(entry));
  }
  if (number == 0) return line_error(origin, 1, "empty file");
  return list;
}

}  // namespace mailport::migrate
