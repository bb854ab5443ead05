#include "client/reply.hpp"

#include <algorithm>
#include <charconv>

namespace mailport::client {
namespace {

Error malformed(std::string_view what, std::string_view line) {
  constexpr std::size_t kQuoted = 80;  // enough to recognise the line, short enough for a log
  std::string shown(line.substr(0, kQuoted));
  for (char& c : shown) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = '?';
  }
  return make_error(errc::invalid_input,
                    "malformed " + std::string(what) + " from the server: '" + shown + "'");
}

template <class T>
std::optional<T> parse_number(std::string_view text) {
  T value{};
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || text.empty()) return std::nullopt;
  return value;
}

// Splits "n rest" at the first run of spaces.
std::optional<std::pair<std::uint64_t, std::string_view>> split_number(std::string_view line) {
  const auto space = line.find(' ');
  if (space == std::string_view::npos) return std::nullopt;
  auto number = parse_number<std::uint64_t>(line.substr(0, space));
  auto rest = line.substr(space + 1);
  while (rest.starts_with(' ')) rest.remove_prefix(1);
  while (rest.ends_with(' ')) rest.remove_suffix(1);
  if (!number || *number == 0 || rest.empty()) return std::nullopt;
  return std::pair{*number, rest};
}

}  // namespace

std::string to_upper_ascii(std::string_view text) {
  std::string out(text);
  std::ranges::transform(out, out.begin(), [](char c) {
    return c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c;
  });
  return out;
}

Result<Reply> parse_reply(std::string_view line) {
  Reply reply;
  std::string_view rest;
  // Status indicators are case-sensitive in RFC 1939, but lenient parsing costs nothing here.
  const std::string upper = to_upper_ascii(line.substr(0, 4));
  if (upper.starts_with("+OK")) {
    reply.ok = true;
    rest = line.substr(3);
  } else if (upper.starts_with("-ERR")) {
    rest = line.substr(4);
  } else {
    return malformed("status line", line);
  }
  if (!rest.empty() && rest.front() != ' ') return malformed("status line", line);
  while (rest.starts_with(' ')) rest.remove_prefix(1);
  if (rest.starts_with('[')) {
    const auto close = rest.find(']');
    if (close != std::string_view::npos) {
      reply.code = to_upper_ascii(rest.substr(1, close - 1));
      rest.remove_prefix(close + 1);
      while (rest.starts_with(' ')) rest.remove_prefix(1);
    }
  }
  reply.text = std::string(rest);
  return reply;
}

Error reply_error(const Reply& reply, std::string_view command, errc fallback) {
  errc code = fallback;
  if (reply.code == "AUTH") code = errc::auth_failed;
  if (reply.code == "IN-USE") code = errc::in_use;
  if (reply.code == "SYS/TEMP" || reply.code == "LOGIN-DELAY") code = errc::temporary_failure;
  if (reply.code == "SYS/PERM") code = errc::permanent_failure;
  std::string message = std::string(command) + " refused by the server: -ERR ";
  if (!reply.code.empty()) message += "[" + reply.code + "] ";
  message += reply.text;
  return make_error(code, std::move(message));
}

Capabilities Capabilities::parse(const std::vector<std::string>& lines) {
  Capabilities caps;
  caps.lines_ = lines;
  for (const auto& line : lines) {
    const auto space = line.find(' ');
    const std::string tag = to_upper_ascii(std::string_view(line).substr(0, space));
    if (tag.empty()) continue;
    caps.tags_.emplace(tag, space == std::string::npos ? "" : line.substr(space + 1));
  }
  return caps;
}

bool Capabilities::has(std::string_view tag) const {
  return tags_.contains(to_upper_ascii(tag));
}

std::optional<std::string> Capabilities::argument(std::string_view tag) const {
  const auto it = tags_.find(to_upper_ascii(tag));
  if (it == tags_.end()) return std::nullopt;
  return it->second;
}

std::vector<std::string> Capabilities::sasl_mechanisms() const {
  std::vector<std::string> names;
  const auto text = argument("SASL");
  if (!text) return names;
  std::string_view rest = *text;
  while (!rest.empty()) {
    const auto space = rest.find(' ');
    if (space != 0) names.push_back(to_upper_ascii(rest.substr(0, space)));
    if (space == std::string_view::npos) break;
    rest.remove_prefix(space + 1);
  }
  return names;
}

bool Capabilities::sasl(std::string_view mechanism) const {
  const auto names = sasl_mechanisms();
  return std::ranges::find(names, to_upper_ascii(mechanism)) != names.end();
}

std::optional<ExpirePolicy> Capabilities::expire() const {
  const auto text = argument("EXPIRE");
  if (!text) return std::nullopt;
  ExpirePolicy policy;
  std::string_view value = *text;
  const auto space = value.find(' ');
  if (space != std::string_view::npos) {
    policy.per_user = to_upper_ascii(value.substr(space + 1)) == "USER";
    value = value.substr(0, space);
  }
  if (to_upper_ascii(value) == "NEVER") return policy;
  policy.days = parse_number<std::uint64_t>(value);
  if (!policy.days) return std::nullopt;
  return policy;
}

std::optional<std::uint64_t> Capabilities::login_delay() const {
  const auto text = argument("LOGIN-DELAY");
  if (!text) return std::nullopt;
  return parse_number<std::uint64_t>(std::string_view(*text).substr(0, text->find(' ')));
}

Result<ListingEntry> parse_uidl_line(std::string_view line) {
  const auto parts = split_number(line);
  if (!parts) return malformed("UIDL line", line);
  const auto uid = parts->second;
  const bool valid =
      uid.size() <= 70 && std::ranges::all_of(uid, [](char c) { return c >= 0x21 && c <= 0x7e; });
  if (!valid) return malformed("unique-id", line);
  return ListingEntry{parts->first, std::string(uid)};
}

Result<std::pair<std::uint64_t, std::uint64_t>> parse_list_line(std::string_view line) {
  const auto parts = split_number(line);
  if (!parts) return malformed("LIST line", line);
  // RFC 1939 allows more text after the size; only the first word is the size.
  const auto size = parse_number<std::uint64_t>(parts->second.substr(0, parts->second.find(' ')));
  if (!size) return malformed("LIST size", line);
  return std::pair{parts->first, *size};
}

std::optional<std::string_view> unstuff_line(std::string_view line) {
  if (line == ".") return std::nullopt;
  if (line.starts_with('.')) line.remove_prefix(1);
  return line;
}

std::optional<std::string> apop_timestamp(std::string_view greeting_text) {
  const auto open = greeting_text.find('<');
  if (open == std::string_view::npos) return std::nullopt;
  const auto close = greeting_text.find('>', open);
  if (close == std::string_view::npos) return std::nullopt;
  const auto stamp = greeting_text.substr(open, close - open + 1);
  if (stamp.find('@') == std::string_view::npos) return std::nullopt;
  return std::string(stamp);
}

}  // namespace mailport::client
