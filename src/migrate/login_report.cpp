#include "migrate/login_report.hpp"

#include <cctype>

namespace mailport::migrate {
namespace {

// "2026-11-26T11:45:00.123 info ..." as the server writes its log; empty for other prefixes
// (journald or syslog add their own, which are not comparable as strings).
std::string_view leading_timestamp(std::string_view line) {
  const std::size_t end = line.find(' ');
  const std::string_view first = line.substr(0, end);
  if (first.size() < 19 || first[4] != '-' || first[7] != '-' || first[10] != 'T') return {};
  for (const std::size_t digit : {0u, 1u, 2u, 3u, 5u, 6u, 8u, 9u}) {
    if (!std::isdigit(static_cast<unsigned char>(first[digit]))) return {};
  }
  return first;
}

}  // namespace

std::string log_field(std::string_view line, std::string_view key) {
  // Walks the fields in order so that text inside a quoted value never counts as a field.
  std::size_t pos = 0;
  while (pos < line.size()) {
    while (pos < line.size() && line[pos] == ' ') ++pos;
    const std::size_t name_start = pos;
    while (pos < line.size() && line[pos] != ' ' && line[pos] != '=') ++pos;
    const std::string_view name = line.substr(name_start, pos - name_start);
    if (pos >= line.size() || line[pos] != '=') continue;  // a word without a value
    ++pos;
    std::string value;
    if (pos < line.size() && line[pos] == '"') {
      for (++pos; pos < line.size() && line[pos] != '"'; ++pos) {
        if (line[pos] == '\\' && pos + 1 < line.size()) ++pos;
        value += line[pos];
      }
      ++pos;  // the closing quote
    } else {
      while (pos < line.size() && line[pos] != ' ') value += line[pos++];
    }
    if (name == key) return value;
  }
  return {};
}

bool LoginReport::add_line(std::string_view line) {
  if (line.find(" event=login ") == std::string_view::npos) return false;
  if (log_field(line, "result") != "ok") return false;
  const std::string_view stamp = leading_timestamp(line);
  if (!since_.empty() && !stamp.empty() && stamp < std::string_view(since_)) return false;
  const std::string user = log_field(line, "user");
  const std::string listener = log_field(line, "listener");
  const std::string tls = log_field(line, "tls");
  if (user.empty() || listener.empty() || tls.empty()) return false;
  UserLogins& logins = users_[user];
  const std::string when = stamp.empty() ? "?" : std::string(stamp);
  if (listener == "pop3s") {
    ++logins.pop3s;
    logins.last_pop3s = when;
  } else if (listener == "pop3") {
    const bool plain = tls == "none";
    ++(plain ? logins.plain_110 : logins.stls_110);
    logins.last_110 = when;
    logins.last_110_kind = plain ? "plain" : "stls";
  } else {
    return false;
  }
  ++counted_;
  return true;
}

}  // namespace mailport::migrate
