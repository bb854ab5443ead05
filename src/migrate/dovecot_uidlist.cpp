#include "migrate/dovecot_uidlist.hpp"

#include <charconv>

namespace mailport::migrate {
namespace {

Error line_error(std::string_view origin, std::size_t line, std::string_view what) {
  return make_error(errc::invalid_input,
                    std::string(origin) + ":" + std::to_string(line) + ": " + std::string(what));
}

bool parse_u32(std::string_view text, std::uint32_t& value) {
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  return ec == std::errc{} && end == text.data() + text.size() && !text.empty();
}

std::vector<std::string_view> split_spaces(std::string_view line) {
  std::vector<std::string_view> words;
  while (!line.empty()) {
    const std::size_t start = line.find_first_not_of(' ');
    if (start == std::string_view::npos) break;
    line.remove_prefix(start);
    const std::size_t end = line.find(' ');
    words.push_back(line.substr(0, end));
    line.remove_prefix(end == std::string_view::npos ? line.size() : end);
  }
  return words;
}

Result<void> parse_header(std::string_view line, std::string_view origin, Uidlist& list) {
  const auto words = split_spaces(line);
  if (words.empty()) return line_error(origin, 1, "empty header");
  if (words[0] == "1") {
    list.version = 1;
    if (words.size() < 3 || !parse_u32(words[1], list.uidvalidity) ||
        !parse_u32(words[2], list.next_uid)) {
      return line_error(origin, 1, "expected \"1 <uidvalidity> <next uid>\"");
    }
    return {};
  }
  if (words[0] != "3") {
    return line_error(origin, 1, "unsupported dovecot-uidlist version " + std::string(words[0]));
  }
  list.version = 3;
  bool have_validity = false;
  for (std::size_t i = 1; i < words.size(); ++i) {
    const char key = words[i][0];
    const std::string_view value = words[i].substr(1);
    if (key == 'V') have_validity = parse_u32(value, list.uidvalidity);
    if (key == 'N' && !parse_u32(value, list.next_uid)) {
      return line_error(origin, 1, "bad next UID \"" + std::string(value) + "\"");
    }
    if (key == 'G') list.guid = std::string(value);
  }
  if (!have_validity) return line_error(origin, 1, "header without a valid V<uidvalidity>");
  return {};
}

Result<UidlistEntry> parse_entry(std::string_view line, std::string_view origin, std::size_t number,
                                 unsigned version) {
  UidlistEntry entry;
  const std::size_t space = line.find(' ');
  if (space == std::string_view::npos || !parse_u32(line.substr(0, space), entry.uid) ||
      entry.uid == 0) {
    return line_error(origin, number, "expected \"<uid> ... <file name>\"");
  }
  std::string_view rest = line.substr(space + 1);
  if (version == 1) {
    if (rest.empty() || rest.find(' ') != std::string_view::npos) {
      return line_error(origin, number, "expected \"<uid> <file name>\"");
    }
    entry.filename = std::string(rest);
    return entry;
  }
  // The file name follows the first " :" (or a leading ':'), and may itself contain ':'.
  const std::size_t colon = rest.starts_with(':') ? 0 : rest.find(" :");
  if (colon == std::string_view::npos) {
    return line_error(origin, number, "no \":<file name>\" field");
  }
  const std::size_t name_at = rest.starts_with(':') ? 1 : colon + 2;
  entry.filename = std::string(rest.substr(name_at));
  if (entry.filename.empty()) return line_error(origin, number, "empty file name");
  for (const std::string_view word : split_spaces(rest.substr(0, colon))) {
    entry.fields.insert_or_assign(word[0], std::string(word.substr(1)));
  }
  return entry;
}

}  // namespace

std::optional<std::string_view> UidlistEntry::field(char key) const {
  const auto it = fields.find(key);
  if (it == fields.end()) return std::nullopt;
  return std::string_view(it->second);
}

Result<Uidlist> parse_dovecot_uidlist(std::string_view text, std::string_view origin) {
  Uidlist list;
  std::size_t number = 0;
  while (!text.empty()) {
    ++number;
    const std::size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    if (number == 1) {
      if (auto header = parse_header(line, origin, list); !header) return header.error();
      continue;
    }
    if (line.empty()) continue;
    auto entry = parse_entry(line, origin, number, list.version);
    if (!entry) return entry.error();
    list.entries.push_back(std::move(*entry));
  }
  if (number == 0) return line_error(origin, 1, "empty file");
  return list;
}

}  // namespace mailport::migrate
