// add_trace_fields: what a final delivery puts on top of a message.
#include "lmtp/trace_headers.hpp"

#include <gtest/gtest.h>

#include <string>

namespace mailport::lmtp {
namespace {

TEST(TraceFields, ReturnPathDeliveredToAndReceivedOnTop) {
  const std::string out = add_trace_fields("Subject: x\n\nbody\n",
                                           TraceFields{"a@b", "alice@example.org", "from x by y"});
  EXPECT_EQ(out,
            "Return-Path: <a@b>\nDelivered-To: alice@example.org\nReceived: from x by y\n"
            "Subject: x\n\nbody\n");
}

TEST(TraceFields, NullSenderAndNoOptionalFields) {
  EXPECT_EQ(add_trace_fields("S: x\n\nb\n", TraceFields{"", std::nullopt, std::nullopt}),
            "Return-Path: <>\nS: x\n\nb\n");
}

TEST(TraceFields, OldReturnPathsAreDroppedWithTheirContinuationLines) {
  const std::string out = add_trace_fields(
      "return-path: <old@x>\n\t(folded)\nSubject: s\nReturn-Path: <x>\n\n"
      "Return-Path: in the body stays\n",
      TraceFields{"new@x", std::nullopt, std::nullopt});
  EXPECT_EQ(out, "Return-Path: <new@x>\nSubject: s\n\nReturn-Path: in the body stays\n");
}

TEST(TraceFields, DeliveredToIsNotRepeated) {
  EXPECT_EQ(add_trace_fields("Delivered-To: alice\r\nS: x\r\n\r\nb\r\n",
                             TraceFields{"s", "alice", std::nullopt}),
            "Return-Path: <s>\nDelivered-To: alice\r\nS: x\r\n\r\nb\r\n");
  EXPECT_EQ(add_trace_fields("Delivered-To: bob\n\nb\n", TraceFields{"s", "alice", std::nullopt}),
            "Return-Path: <s>\nDelivered-To: alice\nDelivered-To: bob\n\nb\n");
}

TEST(TraceFields, MessageWithoutBodyOrFinalNewline) {
  EXPECT_EQ(add_trace_fields("Subject: only", TraceFields{"s", std::nullopt, std::nullopt}),
            "Return-Path: <s>\nSubject: only");
  EXPECT_EQ(add_trace_fields("", TraceFields{"s", std::nullopt, std::nullopt}),
            "Return-Path: <s>\n");
}

TEST(TraceFields, ReceivedValueIsFoldedWithADate) {
  const std::string value = received_value("relay.example", "mx.example", 0);
  EXPECT_TRUE(value.starts_with("from relay.example by mx.example (mailport) with LMTP;\n\t"))
      << value;
  EXPECT_TRUE(value.find(" 1970 ") != std::string::npos ||
              value.find(" 1969 ") != std::string::npos)
      << value;
  EXPECT_EQ(rfc5322_date(0).size(), std::string("Thu, 01 Jan 1970 00:00:00 +0000").size());
}

}  // namespace
}  // namespace mailport::lmtp
