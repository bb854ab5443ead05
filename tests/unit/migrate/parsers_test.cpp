// The old servers' state files and the pop3_uidl_format templates.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "migrate/courier_sizelist.hpp"
#include "migrate/dovecot_uidlist.hpp"
#include "migrate/importer.hpp"
#include "migrate/uidl_template.hpp"

namespace mailport::migrate {
namespace {

using ::testing::HasSubstr;

std::string expand(std::string_view format, const UidlFields& fields) {
  auto parsed = UidlTemplate::parse(format);
  EXPECT_TRUE(parsed.ok()) << format << ": " << (parsed.ok() ? "" : parsed.error().message);
  return parsed.ok() ? parsed->expand(fields) : std::string();
}

UidlFields sample() {
  UidlFields f;
  f.uid = 26;
  f.uidvalidity = 1764000000;  // 0x69248100
  f.filename = "1700000001.M1P1.host,S=12";
  f.guid = "0123abcdEF";
  return f;
}

TEST(UidlTemplate, CommonFormats) {
  const UidlFields f = sample();
  EXPECT_EQ(expand("%08Xu%08Xv", f), "0000001a69248100");
  EXPECT_EQ(expand("%08Xv%08Xu", f), "692481000000001a");
  EXPECT_EQ(expand("%u", f), "26");
  EXPECT_EQ(expand("%v.%u", f), "1764000000.26");
  EXPECT_EQ(expand("%v-%u", f), "1764000000-26");
  EXPECT_EQ(expand("%f", f), "1700000001.M1P1.host,S=12");
  EXPECT_EQ(expand("%g", f), "0123abcdEF");
  EXPECT_EQ(expand("UID%u%%", f), "UID26%");
}

TEST(UidlTemplate, ModifiersWidthsAndOffsets) {
  const UidlFields f = sample();
  EXPECT_EQ(expand("%Ug", f), "0123ABCDEF");
  EXPECT_EQ(expand("%Lg", f), "0123abcdef");
  EXPECT_EQ(expand("%Ru", f), "62");
  EXPECT_EQ(expand("%Mf", f).size(), 32u);
  EXPECT_EQ(expand("%XUu", f), "1A");    // modifiers apply in the order written
  EXPECT_EQ(expand("%4g", f), "0123");   // a plain width truncates
  EXPECT_EQ(expand("%04u", f), "0026");  // a zero width pads, never truncates
  EXPECT_EQ(expand("%01u", f), "26");
  EXPECT_EQ(expand("%2.3g", f), "23a");   // offset.width
  EXPECT_EQ(expand("%-2.2v", f), "00");   // from the end
  EXPECT_EQ(expand("%1.04u", f), "026");  // pad, then offset
}

TEST(UidlTemplate, RejectsWhatItCannotReproduce) {
  for (const char* bad : {"%", "%q", "%08X", "%m", "%Zu", "%-3u"}) {
    auto parsed = UidlTemplate::parse(bad);
    EXPECT_FALSE(parsed.ok()) << bad;
  }
  auto mbox = UidlTemplate::parse("%m");
  ASSERT_FALSE(mbox.ok());
  EXPECT_THAT(mbox.error().message, HasSubstr("mbox-only"));
}

TEST(DovecotUidlist, Version3WithExtensionFields) {
  auto list = parse_dovecot_uidlist(
      "3 V1764000000 N4 G3085f01b7f11094c501100008c4a11c1\n"
      "1 :1700000001.M1P1.host,S=12\n"
      "2 W120 S118 :1700000002.M2P1.host\n"
      "3 G0123abcd P0000000200000abc :1700000003.M3P1.host:weird\n",
      "dovecot-uidlist");
  ASSERT_TRUE(list.ok()) << list.error().message;
  EXPECT_EQ(list->version, 3u);
  EXPECT_EQ(list->uidvalidity, 1764000000u);
  EXPECT_EQ(list->next_uid, 4u);
  EXPECT_EQ(list->guid, "3085f01b7f11094c501100008c4a11c1");
  ASSERT_EQ(list->entries.size(), 3u);
  EXPECT_EQ(list->entries[0].uid, 1u);
  EXPECT_EQ(list->entries[0].filename, "1700000001.M1P1.host,S=12");
  EXPECT_EQ(list->entries[1].field('W'), "120");
  EXPECT_EQ(list->entries[2].field('P'), "0000000200000abc");
  EXPECT_EQ(list->entries[2].field('G'), "0123abcd");
  EXPECT_EQ(list->entries[2].filename, "1700000003.M3P1.host:weird");
}

TEST(DovecotUidlist, Version1) {
  auto list = parse_dovecot_uidlist("1 1234 3\n1 a.b.c\n2 d.e.f\n", "u");
  ASSERT_TRUE(list.ok());
  EXPECT_EQ(list->uidvalidity, 1234u);
  ASSERT_EQ(list->entries.size(), 2u);
  EXPECT_EQ(list->entries[1].filename, "d.e.f");
}

TEST(DovecotUidlist, ErrorsNameFileAndLine) {
  const auto error = [](std::string_view text) {
    auto list = parse_dovecot_uidlist(text, "md/dovecot-uidlist");
    EXPECT_FALSE(list.ok()) << text;
    return list.ok() ? std::string() : list.error().message;
  };
  EXPECT_THAT(error("2 V1 N1\n"), HasSubstr("md/dovecot-uidlist:1: unsupported"));
  EXPECT_THAT(error("3 N1\n"), HasSubstr(":1: header without a valid V"));
  EXPECT_THAT(error("3 V1 N2\n1 :a\nx :b\n"), HasSubstr(":3: expected"));
  EXPECT_THAT(error("3 V1 N2\n1 W1 a\n"), HasSubstr(":2: no \":<file name>\""));
  EXPECT_THAT(error(""), HasSubstr(":1: empty file"));
}

TEST(CourierSizelist, Versions2And3) {
  auto v3 = parse_courier_sizelist(
      "/3 5 1700000000\n1700000001.M1P1.h:2,S 120 1:1700000000:0\n"
      "file with space 99 2:1700000000:1\n3.M3.h 10 3:0:0\n",
      "courierpop3dsizelist");
  ASSERT_TRUE(v3.ok()) << v3.error().message;
  ASSERT_EQ(v3->entries.size(), 3u);
  EXPECT_EQ(v3->entries[0].filename, "1700000001.M1P1.h:2,S");
  EXPECT_EQ(v3->entries[0].uidl, "UID1-1700000000");
  EXPECT_EQ(v3->entries[1].filename, "file with space");
  EXPECT_EQ(v3->entries[1].size, 99u);
  EXPECT_EQ(v3->entries[2].uidl, "UID3");
  auto v2 = parse_courier_sizelist("/2 3 77\na.b.c 5 2:77\n", "s");
  ASSERT_TRUE(v2.ok());
  EXPECT_EQ(v2->entries[0].uidl, "UID2-77");
}

TEST(CourierSizelist, RefusesUnknownVersionsAndBadLines) {
  EXPECT_THAT(parse_courier_sizelist("a.b.c 5 2:77\n", "s").error().message, HasSubstr("s:1"));
  EXPECT_THAT(parse_courier_sizelist("/1 3 77\n", "s").error().message, HasSubstr("version"));
  EXPECT_THAT(parse_courier_sizelist("/3 3 77\na.b.c five 2:77:0\n", "s").error().message,
              HasSubstr("s:2:"));
  EXPECT_THAT(parse_courier_sizelist("/3 3 77\na.b.c 5 x:77:0\n", "s").error().message,
              HasSubstr("s:2:"));
}

TEST(UidlCsv, ParsesUsersFilesAndUidls) {
  auto csv = parse_uidl_csv(
      "# "
      "user,message-file,uidl\nalice,cur/1.M1.h:2,S,old-1\r\nalice,2.M2.h,old-2\nbob,new/"
      "3.M3.h,x\n",
      "uidls.csv");
  ASSERT_TRUE(csv.ok()) << csv.error().message;
  EXPECT_EQ(csv->at("alice").at("1.M1.h"), "old-1");
  EXPECT_EQ(csv->at("alice").at("2.M2.h"), "old-2");
  EXPECT_EQ(csv->at("bob").at("3.M3.h"), "x");
}

TEST(UidlCsv, ErrorsNameTheLine) {
  EXPECT_THAT(parse_uidl_csv("alice,a\n", "u.csv").error().message, HasSubstr("u.csv:1:"));
  EXPECT_THAT(parse_uidl_csv("alice,a,ok\nalice,b,has space\n", "u.csv").error().message,
              HasSubstr("u.csv:2: invalid UIDL"));
  EXPECT_THAT(parse_uidl_csv("alice,a,x\nalice,a:2,S,y\n", "u.csv").error().message,
              HasSubstr("u.csv:2: message a listed twice"));
}

}  // namespace
}  // namespace mailport::migrate
