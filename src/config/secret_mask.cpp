#include <regex>

#include "config/config.hpp"

namespace mailport::config {

std::string mask_secrets(std::string_view text) {
  // The password part of "scheme://user:password@host"; a user name alone is not secret.
  static const std::regex kUserinfo(R"((://[^/?#@\s:]*:)[^/?#@\s]*@)");
  // password=value in a key=value connection string; the value ends at a separator or quote.
  static const std::regex kKeyValue(
      R"((\b(?:password|passwd|pwd|secret)\s*=\s*)('[^']*'|"[^"]*"|[^\s;&'"]*))",
      std::regex::icase);
  std::string masked = std::regex_replace(std::string(text), kUserinfo, "$1****@");
  return std::regex_replace(masked, kKeyValue, "$1****");
}

}  // namespace mailport::config
