#include "sasl/utf8.hpp"

#include <gtest/gtest.h>

namespace mailport::sasl {
namespace {

TEST(Utf8, AcceptsWellFormedText) {
  for (const auto good : {"", "ascii", "J\xc3\xb6rg", "\xe2\x82\xac", "\xf0\x9f\x98\x80",
                          "\xed\x9f\xbf", "\xee\x80\x80", "\xf4\x8f\xbf\xbf"}) {
    EXPECT_TRUE(valid_utf8(good)) << good;
  }
}

TEST(Utf8, RejectsMalformedText) {
  for (const auto bad : {
           "\x80",              // stray continuation
           "\xc3",              // truncated
           "\xc0\xaf",          // overlong "/"
           "\xc1\xbf",          // overlong
           "\xe0\x80\xaf",      // overlong 3-byte
           "\xed\xa0\x80",      // surrogate U+D800
           "\xf0\x80\x80\xaf",  // overlong 4-byte
           "\xf4\x90\x80\x80",  // beyond U+10FFFF
           "\xf5\x80\x80\x80",  // invalid lead
           "\xff",              // invalid byte
           "a\xe2\x82",         // truncated at the end
           "\xe2\x28\xa1",      // bad continuation
       }) {
    EXPECT_FALSE(valid_utf8(bad));
  }
}

}  // namespace
}  // namespace mailport::sasl
