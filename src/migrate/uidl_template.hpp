// The old server's UIDL recipe, in the syntax of Dovecot's pop3_uidl_format: literal text and
// %-variables %u (IMAP UID), %v (UIDVALIDITY), %f (Maildir base file name), %g (message GUID)
// and %%. Between '%' and the variable: an optional "<offset>." (negative counts from the end),
// a width (a leading 0 pads on the left with '0' instead of truncating), then modifiers applied
// before the width: X (decimal number as lower-case hex), U/L (upper/lower case), R (reverse),
// M (MD5 in hex). "%08Xu%08Xv" is Dovecot's default; "%v.%u", "%u", "%f", "%g" are common.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.hpp"

namespace mailport::migrate {

struct UidlFields {
  std::uint32_t uid = 0;
  std::uint32_t uidvalidity = 0;
  std::string filename;  // Maildir base name (no ":2,flags")
  std::string guid;
};

class UidlTemplate {
 public:
  // errc::invalid_input naming the position for unknown variables, modifiers or a lone '%'.
  static Result<UidlTemplate> parse(std::string_view format);
  std::string expand(const UidlFields& fields) const;
  const std::string& text() const { return text_; }

 private:
  struct Piece {
    std::string literal;  // when variable == 0
    char variable = 0;
    std::string modifiers;
    int offset = 0;
    bool has_width = false;
    std::size_t width = 0;
    bool zero_pad = false;
  };
  std::string text_;
  std::vector<Piece> pieces_;

  static std::string apply(const Piece& piece, std::string value);
};

}  // namespace mailport::migrate
