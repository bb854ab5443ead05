#include "auth/passwd_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>

#include <array>
#include <cerrno>
#include <charconv>
#include <cstring>

#include "auth/passwd_text.hpp"
#include "core/unique_fd.hpp"

namespace mailport::auth {
namespace detail {

std::vector<std::string_view> split_lines(std::string_view text) {
  std::vector<std::string_view> lines;
  while (!text.empty()) {
    const auto end = text.find('\n');
    if (end == std::string_view::npos) {
      lines.push_back(text);
      break;
    }
    lines.push_back(text.substr(0, end));
    text.remove_prefix(end + 1);
  }
  return lines;
}

std::string_view logical_line(std::string_view raw) {
  if (raw.ends_with('\r')) raw.remove_suffix(1);
  return raw;
}

bool is_ignored_line(std::string_view line) {
  return line.starts_with('#') || line.find_first_not_of(" \t") == std::string_view::npos;
}

std::string_view line_user_name(std::string_view line) {
  return line.substr(0, line.find(':'));
}

namespace {

constexpr std::size_t kFieldCount = 8;  // user:password:uid:gid:gecos:home:shell:extra

// The extra field is the rest of the line, so it may itself contain ':'.
std::vector<std::string_view> split_fields(std::string_view line) {
  std::vector<std::string_view> fields;
  while (fields.size() + 1 < kFieldCount) {
    const auto colon = line.find(':');
    if (colon == std::string_view::npos) break;
    fields.push_back(line.substr(0, colon));
    line.remove_prefix(colon + 1);
  }
  fields.push_back(line);
  return fields;
}

template <class Id>
Result<std::optional<Id>> parse_id(std::string_view text, std::string_view what) {
  if (text.empty()) return std::optional<Id>();
  Id value{};
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) {
    return make_error(errc::invalid_input, "bad " + std::string(what) + " '" + std::string(text) +
                                               "' (expected a decimal number)");
  }
  return std::optional<Id>(value);
}

// Names go into error messages; keep terminals safe from whatever bytes a broken file holds.
std::string printable(std::string_view text) {
  std::string out;
  for (const char c : text.substr(0, 64)) {
    const auto byte = static_cast<unsigned char>(c);
    out += byte < 0x20 || byte == 0x7f ? '?' : c;
  }
  return out;
}

}  // namespace

Result<UserRecord> parse_user_line(std::string_view line) {
  if (line.find('\0') != std::string_view::npos) {
    return make_error(errc::invalid_input, "NUL byte in line");
  }
  const auto fields = split_fields(line);
  if (fields[0].empty()) return make_error(errc::invalid_input, "empty user name");
  if (!valid_user_name(fields[0])) {
    return make_error(errc::invalid_input, "invalid user name '" + printable(fields[0]) +
                                               "' (control byte, space or over 255 octets)");
  }
  if (fields.size() < 2) {
    return make_error(errc::invalid_input,
                      "missing password field (expected user:{SCHEME}hash[:uid:gid:...])");
  }
  auto field = [&](std::size_t i) { return i < fields.size() ? fields[i] : std::string_view(); };
  auto uid = parse_id<uid_t>(field(2), "uid");
  if (!uid) return uid.error();
  auto gid = parse_id<gid_t>(field(3), "gid");
  if (!gid) return gid.error();
  return UserRecord{std::string(fields[0]),
                    std::string(fields[1]),
                    *uid,
                    *gid,
                    std::string(field(4)),
                    std::string(field(5)),
                    std::string(field(6)),
                    std::string(field(7))};
}

Result<std::string> read_all(int fd, const std::filesystem::path& path) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) return Error::from_errno(errno, "cannot stat " + path.string());
  if (!S_ISREG(st.st_mode)) {
    return make_error(errc::invalid_input, path.string() + ": not a regular file");
  }
  std::string text;
  std::array<char, 64 * 1024> chunk{};
  // Bounded by the size cap, not by st_size: the file may grow while it is read.
  while (text.size() <= kMaxFileSize) {
    const ssize_t n = ::read(fd, chunk.data(), chunk.size());
    if (n == 0) return text;
    if (n < 0) {
      if (errno == EINTR) continue;
      return Error::from_errno(errno, "cannot read " + path.string());
    }
    text.append(chunk.data(), static_cast<std::size_t>(n));
  }
  return make_error(errc::invalid_input, path.string() + ": file larger than " +
                                             std::to_string(kMaxFileSize / (1024 * 1024)) + " MiB");
}

}  // namespace detail

namespace {

Error located(std::string_view origin, std::size_t line, const std::string& message) {
  return make_error(errc::invalid_input,
                    std::string(origin) + ":" + std::to_string(line) + ": " + message);
}

// Decodes one UTF-8 sequence at the start of `text`; returns its length, or 0 if malformed
// (overlong forms, surrogates and values above U+10FFFF included).
std::size_t utf8_sequence(std::string_view text, char32_t& code_point) {
  const auto lead = static_cast<unsigned char>(text[0]);
  const std::size_t length = lead < 0x80         ? 1
                             : lead >> 5 == 0x6  ? 2
                             : lead >> 4 == 0xe  ? 3
                             : lead >> 3 == 0x1e ? 4
                                                 : 0;
  if (length == 0 || text.size() < length) return 0;
  code_point = length == 1 ? lead : lead & (0x7f >> length);
  for (std::size_t i = 1; i < length; ++i) {
    const auto next = static_cast<unsigned char>(text[i]);
    if ((next & 0xc0) != 0x80) return 0;
    code_point = (code_point << 6) | (next & 0x3f);
  }
  constexpr std::array<char32_t, 5> kMinimum{0, 0, 0x80, 0x800, 0x10000};
  if (code_point < kMinimum[length] || code_point > 0x10ffff) return 0;
  if (code_point >= 0xd800 && code_point <= 0xdfff) return 0;
  return length;
}

// Control characters and the Unicode White_Space set.
bool forbidden_in_name(char32_t c) {
  if (c <= 0x20 || (c >= 0x7f && c <= 0xa0) || c == ':') return true;
  if (c == 0x1680 || (c >= 0x2000 && c <= 0x200a)) return true;
  return c == 0x2028 || c == 0x2029 || c == 0x202f || c == 0x205f || c == 0x3000;
}

}  // namespace

bool valid_user_name(std::string_view name) {
  if (name.empty() || name.size() > 255) return false;
  while (!name.empty()) {
    char32_t c = 0;
    const std::size_t length = utf8_sequence(name, c);
    if (length == 0 || forbidden_in_name(c)) return false;
    name.remove_prefix(length);
  }
  return true;
}

Result<std::vector<UserRecord>> parse_passwd_text(std::string_view text, std::string_view origin) {
  std::vector<UserRecord> users;
  std::map<std::string, std::size_t, std::less<>> first_seen;
  const auto lines = detail::split_lines(text);
  for (std::size_t i = 0; i < lines.size(); ++i) {
    const std::size_t number = i + 1;
    if (lines[i].size() > detail::kMaxLineLength) {
      return located(origin, number,
                     "line too long (over " + std::to_string(detail::kMaxLineLength) + " octets)");
    }
    const auto line = detail::logical_line(lines[i]);
    if (line.find('\0') != std::string_view::npos) return located(origin, number, "NUL byte");
    if (detail::is_ignored_line(line)) continue;
    auto user = detail::parse_user_line(line);
    if (!user) return located(origin, number, user.error().message);
    const auto [it, inserted] = first_seen.emplace(user->name, number);
    if (!inserted) {
      return located(
          origin, number,
          "duplicate user '" + user->name + "' (first on line " + std::to_string(it->second) + ")");
    }
    users.push_back(std::move(user).value());
  }
  return users;
}

Result<std::vector<UserRecord>> parse_passwd_file(const std::filesystem::path& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return Error::from_errno(errno, "cannot open " + path.string());
  auto text = detail::read_all(fd.get(), path);
  if (!text) return text.error();
  return parse_passwd_text(*text, path.string());
}

std::string format_passwd_line(const UserRecord& user) {
  auto id = [](const auto& value) { return value ? std::to_string(*value) : std::string(); };
  std::array<std::string, 8> fields{user.name,  user.password, id(user.uid), id(user.gid),
                                    user.gecos, user.home,     user.shell,   user.extra};
  std::size_t used = 2;  // user and password are always written
  for (std::size_t i = fields.size(); i > 2; --i) {
    if (!fields[i - 1].empty()) {
      used = i;
      break;
    }
  }
  std::string line = fields[0];
  for (std::size_t i = 1; i < used; ++i) line += ":" + fields[i];
  return line;
}

PasswdFileDb::PasswdFileDb(std::filesystem::path path) : path_(std::move(path)) {}

Result<std::optional<UserRecord>> PasswdFileDb::lookup(std::string_view user) {
  const std::lock_guard lock(mutex_);
  if (auto refreshed = refresh_locked(); !refreshed) return refreshed.error();
  const auto it = users_.find(user);
  if (it == users_.end()) return std::optional<UserRecord>();
  return std::optional<UserRecord>(it->second);
}

std::uint64_t PasswdFileDb::generation() {
  const std::lock_guard lock(mutex_);
  return generation_;
}

namespace {

std::int64_t nanoseconds(const timespec& t) {
  return std::int64_t{t.tv_sec} * 1'000'000'000 + t.tv_nsec;
}

Error unavailable(const std::filesystem::path& path, std::string_view what, int err) {
  return make_error(errc::temporary_failure,
                    std::string(what) + " " + path.string() + ": " + std::strerror(err));
}

}  // namespace

// One stat() per lookup; the file is only read again when that stat shows another version.
Result<void> PasswdFileDb::refresh_locked() {
  auto identity_of = [](const struct stat& st) {
    return FileIdentity{st.st_dev, st.st_ino, st.st_size, nanoseconds(st.st_mtim),
                        nanoseconds(st.st_ctim)};
  };
  struct stat st {};
  if (::stat(path_.c_str(), &st) != 0) return unavailable(path_, "cannot stat", errno);
  if (loaded_ && *loaded_ == identity_of(st)) return {};
  if (rejected_ && *rejected_ == identity_of(st)) {
    if (loaded_) return {};
    return *rejected_error_;
  }
  UniqueFd fd(::open(path_.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return unavailable(path_, "cannot open", errno);
  // Identify what was actually opened: the path may have been replaced since the stat().
  if (::fstat(fd.get(), &st) != 0) return unavailable(path_, "cannot stat", errno);
  auto text = detail::read_all(fd.get(), path_);
  if (!text) return make_error(errc::temporary_failure, text.error().describe());
  auto parsed = parse_passwd_text(*text, path_.string());
  if (!parsed) {
    rejected_ = identity_of(st);
    rejected_error_ = make_error(errc::temporary_failure, parsed.error().message);
    if (loaded_) return {};
    return *rejected_error_;
  }
  users_.clear();
  for (auto& user : *parsed) {
    std::string name = user.name;
    users_.emplace(std::move(name), std::move(user));
  }
  loaded_ = identity_of(st);
  ++generation_;
  rejected_.reset();
  rejected_error_.reset();
  return {};
}

}  // namespace mailport::auth
