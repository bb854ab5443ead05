#include "sasl/base64.hpp"

#include <gtest/gtest.h>

#include <string>

namespace mailport::sasl {
namespace {

using namespace std::string_literals;

TEST(Base64, Rfc4648Vectors) {
  const std::pair<std::string, std::string> vectors[] = {
      {"", ""},
      {"f", "Zg=="},
      {"fo", "Zm8="},
      {"foo", "Zm9v"},
      {"foob", "Zm9vYg=="},
      {"fooba", "Zm9vYmE="},
      {"foobar", "Zm9vYmFy"},
  };
  for (const auto& [plain, encoded] : vectors) {
    EXPECT_EQ(encode_base64(plain), encoded);
    const auto decoded = decode_base64(encoded);
    ASSERT_TRUE(decoded) << encoded;
    EXPECT_EQ(*decoded, plain);
  }
}

TEST(Base64, BinaryRoundTrip) {
  std::string all;
  for (int i = 0; i < 256; ++i) all.push_back(static_cast<char>(i));
  EXPECT_EQ(*decode_base64(encode_base64(all)), all);
  EXPECT_EQ(encode_base64("\0tim\0tanstaaftanstaaf"s), "AHRpbQB0YW5zdGFhZnRhbnN0YWFm");
}

TEST(Base64, StrictDecoding) {
  for (const auto bad : {"=", "Zg", "Zg=", "Zg===", "Zh==", "Zm9", "Zm9v\r\n", " Zm9v", "Zm 9v",
                         "Zm9v=", "Zm9v====", "Zg==Zg==", "Zm9-", "Zm9_", "****"}) {
    const auto decoded = decode_base64(bad);
    EXPECT_FALSE(decoded) << bad;
    if (!decoded) {
      EXPECT_TRUE(decoded.error().is(errc::invalid_input));
    }
  }
  EXPECT_FALSE(decode_base64("Zm9v\0"s));
}

TEST(Base64, OctetsOutsideAsciiAreNotDigits) {
  for (int byte = 0x80; byte <= 0xFF; ++byte) {
    const std::string text = std::string(1, static_cast<char>(byte)) + "iAi";
    EXPECT_FALSE(decode_base64(text)) << byte;
  }
  EXPECT_FALSE(decode_base64("Zm9v\x80\x80==="));
}

}  // namespace
}  // namespace mailport::sasl
