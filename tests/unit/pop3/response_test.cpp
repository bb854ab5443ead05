#include "pop3/response.hpp"

#include <gtest/gtest.h>

#include <string>

namespace mailport::pop3 {
namespace {

TEST(Response, StatusLines) {
  std::string out;
  append_ok(out);
  append_ok(out, "fine");
  append_err(out, "bad");
  EXPECT_EQ(out, "+OK\r\n+OK fine\r\n-ERR bad\r\n");
  EXPECT_EQ(ok_line("7 octets"), "+OK 7 octets\r\n");
}

TEST(Response, ListingLinesAreDotStuffed) {
  std::string out;
  append_listing_line(out, ".");
  append_listing_line(out, "..x");
  append_listing_line(out, "a.b");
  append_end_of_listing(out);
  EXPECT_EQ(out, "..\r\n...x\r\na.b\r\n.\r\n");
}

TEST(Response, ControlBytesCannotBreakTheLine) {
  std::string out;
  append_ok(out, std::string("ready\r\n+OK forged\0x", 19));
  EXPECT_EQ(out, std::string("+OK ready  +OK forged x\r\n"));
}

TEST(Response, LinesStayWithin512Octets) {
  for (std::size_t length : {505, 506, 507, 508, 600, 5000}) {
    std::string out;
    append_ok(out, std::string(length, 'g'));
    EXPECT_LE(out.size(), kMaxResponseLine) << length;
    EXPECT_TRUE(out.ends_with("\r\n"));
    out.clear();
    append_err(out, std::string(length, 'e'));
    EXPECT_LE(out.size(), kMaxResponseLine);
    out.clear();
    append_listing_line(out, "." + std::string(length, 'l'));
    EXPECT_LE(out.size(), kMaxResponseLine);
  }
  std::string out;
  append_ok(out, std::string(506, 'g'));
  EXPECT_EQ(out.size(), kMaxResponseLine);
}

TEST(Response, ShorteningDoesNotSplitAUtf8Character) {
  std::string text(505, 'a');
  text += "\xc3\xa9\xc3\xa9";  // the cut at 506 octets falls inside the first "é"
  std::string out;
  append_ok(out, text);
  EXPECT_EQ(out, "+OK " + std::string(505, 'a') + "\r\n");
}

TEST(Response, Challenge) {
  std::string out;
  append_challenge(out, "");
  append_challenge(out, "VXNlcm5hbWU6");
  EXPECT_EQ(out, "+ \r\n+ VXNlcm5hbWU6\r\n");
}

}  // namespace
}  // namespace mailport::pop3
