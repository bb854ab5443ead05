#include "sasl/base64.hpp"

#include <sodium.h>

#include <algorithm>

namespace mailport::sasl {

namespace {

constexpr int kVariant = sodium_base64_VARIANT_ORIGINAL;

bool alphabet(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' ||
         c == '/' || c == '=';
}

}  // namespace

std::string encode_base64(std::string_view bytes) {
  std::string out(sodium_base64_ENCODED_LEN(bytes.size(), kVariant), '\0');
  sodium_bin2base64(out.data(), out.size(), reinterpret_cast<const unsigned char*>(bytes.data()),
                    bytes.size(), kVariant);
  out.resize(out.size() - 1);  // the encoder NUL-terminates
  return out;
}

Result<std::string> decode_base64(std::string_view text) {
  // libsodium decodes octets >= 0x80 as if they were digits instead of rejecting them.
  if (!std::ranges::all_of(text, alphabet)) {
    return make_error(errc::invalid_input, "malformed base64");
  }
  std::string out(text.size() / 4 * 3 + 3, '\0');
  std::size_t length = 0;
  // A null end pointer makes libsodium fail on anything after the last valid quantum.
  if (sodium_base642bin(reinterpret_cast<unsigned char*>(out.data()), out.size(), text.data(),
                        text.size(), nullptr, &length, nullptr, kVariant) != 0) {
    return make_error(errc::invalid_input, "malformed base64");
  }
  out.resize(length);
  return out;
}

}  // namespace mailport::sasl
