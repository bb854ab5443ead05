#include "migrate/uidl_template.hpp"

#include <openssl/evp.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdio>

namespace mailport::migrate {
namespace {

constexpr std::string_view kVariables = "uvfg";
constexpr std::string_view kModifiers = "XULRM";

std::string md5_hex(std::string_view data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_Digest(data.data(), data.size(), digest, &length, EVP_md5(), nullptr);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  for (unsigned int i = 0; i < length; ++i) {
    hex += kHex[digest[i] >> 4];
    hex += kHex[digest[i] & 0xf];
  }
  return hex;
}

std::string to_hex(std::string_view decimal) {
  unsigned long long value = 0;
  std::from_chars(decimal.data(), decimal.data() + decimal.size(), value);
  char buffer[32];
  const auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, value, 16);
  return std::string(buffer, end);
}

Error template_error(std::string_view format, std::size_t at, std::string_view what) {
  return make_error(errc::invalid_input, "UIDL format \"" + std::string(format) + "\" at column " +
                                             std::to_string(at + 1) + ": " + std::string(what));
}

// Reads an optionally signed decimal number at `pos`; false when there is none.
bool read_number(std::string_view text, std::size_t& pos, long& value, bool& leading_zero) {
  const std::size_t start = pos;
  if (pos < text.size() && text[pos] == '-') ++pos;
  const std::size_t digits = pos;
  while (pos < text.size() && std::isdigit(static_cast<unsigned char>(text[pos]))) ++pos;
  if (pos == digits) {
    pos = start;
    return false;
  }
  leading_zero = text[digits] == '0';
  std::from_chars(text.data() + start, text.data() + pos, value);
  return true;
}

}  // namespace

Result<UidlTemplate> UidlTemplate::parse(std::string_view format) {
  UidlTemplate result;
  result.text_ = std::string(format);
  std::string literal;
  for (std::size_t pos = 0; pos < format.size(); ++pos) {
    if (format[pos] != '%') {
      literal += format[pos];
      continue;
    }
    const std::size_t start = pos++;
    if (pos < format.size() && format[pos] == '%') {
      literal += '%';
      continue;
    }
    Piece piece;
    long first = 0;
    bool zero = false;
    if (read_number(format, pos, first, zero)) {
      if (pos < format.size() && format[pos] == '.') {
        ++pos;
        piece.offset = static_cast<int>(first);
        long width = 0;
        if (!read_number(format, pos, width, zero) || width < 0) {
          return template_error(format, start, "expected a width after the offset");
        }
        piece.has_width = true;
        piece.width = static_cast<std::size_t>(width);
        piece.zero_pad = zero;
      } else if (first < 0) {
        return template_error(format, start, "a negative number needs \".width\"");
      } else {
        piece.has_width = true;
        piece.width = static_cast<std::size_t>(first);
        piece.zero_pad = zero;
      }
    }
    while (pos < format.size() && kModifiers.find(format[pos]) != std::string_view::npos) {
      piece.modifiers += format[pos++];
    }
    if (pos >= format.size()) return template_error(format, start, "'%' without a variable");
    if (format[pos] == 'm') {
      return template_error(format, start,
                            "%m (MD5 of the headers) is an mbox-only scheme; import such "
                            "UIDLs with `migrate pull` or --from csv");
    }
    if (kVariables.find(format[pos]) == std::string_view::npos) {
      return template_error(format, start,
                            std::string("unknown variable or modifier '") + format[pos] +
                                "' (known: %u %v %f %g, modifiers X U L R M)");
    }
    piece.variable = format[pos];
    if (!literal.empty()) {
      Piece text;
      text.literal = std::move(literal);
      literal.clear();
      result.pieces_.push_back(std::move(text));
    }
    result.pieces_.push_back(std::move(piece));
  }
  if (!literal.empty()) {
    Piece text;
    text.literal = std::move(literal);
    result.pieces_.push_back(std::move(text));
  }
  return result;
}

std::string UidlTemplate::apply(const Piece& piece, std::string value) {
  for (const char modifier : piece.modifiers) {
    switch (modifier) {
      case 'X':
        value = to_hex(value);
        break;
      case 'U':
        std::ranges::transform(value, value.begin(),
                               [](unsigned char c) { return std::toupper(c); });
        break;
      case 'L':
        std::ranges::transform(value, value.begin(),
                               [](unsigned char c) { return std::tolower(c); });
        break;
      case 'R':
        std::ranges::reverse(value);
        break;
      case 'M':
        value = md5_hex(value);
        break;
      default:
        break;
    }
  }
  // A zero-padded width pads before the offset applies ("%1.04u" of 1 is "001"); a plain width
  // truncates what is left after the offset.
  if (piece.has_width && piece.zero_pad && value.size() < piece.width) {
    value.insert(0, piece.width - value.size(), '0');
  }
  if (piece.offset > 0) {
    value = static_cast<std::size_t>(piece.offset) >= value.size() ? std::string()
                                                                   : value.substr(piece.offset);
  } else if (piece.offset < 0) {
    const auto from_end = static_cast<std::size_t>(-piece.offset);
    if (from_end < value.size()) value = value.substr(value.size() - from_end);
  }
  if (piece.has_width && !piece.zero_pad && value.size() > piece.width) value.resize(piece.width);
  return value;
}

std::string UidlTemplate::expand(const UidlFields& fields) const {
  std::string out;
  for (const Piece& piece : pieces_) {
    switch (piece.variable) {
      case 0:
        out += piece.literal;
        break;
      case 'u':
        out += apply(piece, std::to_string(fields.uid));
        break;
      case 'v':
        out += apply(piece, std::to_string(fields.uidvalidity));
        break;
      case 'f':
        out += apply(piece, fields.filename);
        break;
      case 'g':
        out += apply(piece, fields.guid);
        break;
      default:
        break;
    }
  }
  return out;
}

}  // namespace mailport::migrate
