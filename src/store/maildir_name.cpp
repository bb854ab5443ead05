#include "store/maildir_name.hpp"

#include <openssl/evp.h>

#include <array>
#include <charconv>
#include <cstddef>

namespace mailport::store {
namespace {

constexpr std::size_t kMaxUidlLength = 70;
constexpr std::size_t kDigestHexLength = 32;

std::optional<std::uint64_t> parse_decimal(std::string_view digits) {
  std::uint64_t value = 0;
  const char* end = digits.data() + digits.size();
  const auto [ptr, ec] = std::from_chars(digits.data(), end, value);
  if (digits.empty() || ec != std::errc{} || ptr != end) return std::nullopt;
  return value;
}

// Fields after the unique part are comma-separated "K=V" pairs; only W matters here. The first
// comma-separated piece is the unique name itself and is never a field.
std::optional<std::uint64_t> find_wire_size(std::string_view base) {
  std::size_t comma = base.find(',');
  while (comma != std::string_view::npos) {
    const std::size_t next = base.find(',', comma + 1);
    const std::string_view field = base.substr(comma + 1, next - comma - 1);
    if (field.starts_with("W=")) return parse_decimal(field.substr(2));
    comma = next;
  }
  return std::nullopt;
}

std::optional<std::uint64_t> leading_timestamp(std::string_view name) {
  std::size_t digits = 0;
  while (digits < name.size() && name[digits] >= '0' && name[digits] <= '9') ++digits;
  return parse_decimal(name.substr(0, digits));
}

std::string hex_sha256(std::string_view data) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int length = 0;
  // SHA-256 of an in-memory buffer cannot fail short of memory exhaustion; an all-zero digest
  // then still yields a syntactically valid UIDL.
  EVP_Digest(data.data(), data.size(), digest.data(), &length, EVP_sha256(), nullptr);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (std::size_t i = 0; i < kDigestHexLength / 2; ++i) {
    out += kHex[digest[i] >> 4];
    out += kHex[digest[i] & 0x0f];
  }
  return out;
}

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

// Consumes the digit run at the front of `text`, returning it without leading zeros.
std::string_view take_number(std::string_view& text) {
  std::size_t end = 0;
  while (end < text.size() && is_digit(text[end])) ++end;
  std::string_view number = text.substr(0, end);
  text.remove_prefix(end);
  while (number.size() > 1 && number.front() == '0') number.remove_prefix(1);
  return number;
}

}  // namespace

std::strong_ordering natural_compare(std::string_view a, std::string_view b) {
  while (!a.empty() && !b.empty()) {
    if (is_digit(a.front()) && is_digit(b.front())) {
      const std::string_view x = take_number(a);
      const std::string_view y = take_number(b);
      if (x.size() != y.size()) return x.size() <=> y.size();
      if (const auto order = x.compare(y) <=> 0; order != 0) return order;
      continue;
    }
    const auto x = static_cast<unsigned char>(a.front());
    const auto y = static_cast<unsigned char>(b.front());
    if (x != y) return x <=> y;
    a.remove_prefix(1);
    b.remove_prefix(1);
  }
  return a.size() <=> b.size();
}

MaildirName parse_maildir_name(std::string_view name) {
  MaildirName parsed;
  parsed.base = name.substr(0, name.find(':'));
  parsed.wire_size = find_wire_size(parsed.base);
  parsed.timestamp = leading_timestamp(name);
  return parsed;
}

bool is_valid_uidl(std::string_view text) {
  if (text.empty() || text.size() > kMaxUidlLength) return false;
  for (const char c : text) {
    if (c < 0x21 || c > 0x7e) return false;
  }
  return true;
}

std::string maildir_uidl(std::string_view base) {
  if (is_valid_uidl(base)) return std::string(base);
  return std::string(kDigestUidlPrefix) + hex_sha256(base);
}

std::string cur_name_for(std::string_view new_name) {
  if (new_name.find(':') != std::string_view::npos) return std::string(new_name);
  return std::string(new_name) + ":2,";
}

std::string encode_maildir_hostname(std::string_view host) {
  std::string out;
  for (const char c : host) {
    switch (c) {
      case '/':
        out += "\\057";
        break;
      case ':':
        out += "\\072";
        break;
      case ',':
        out += "\\054";
        break;
      default:
        out += c;
    }
  }
  return out;
}

}  // namespace mailport::store
