// The header fields a final delivery adds on top of a message (RFC 5321 §4.4): Return-Path with
// the envelope sender, Delivered-To with the recipient, and for LMTP a Received line. Pure text
// work; the caller supplies the time.
#pragma once

#include <ctime>
#include <optional>
#include <string>
#include <string_view>

namespace mailport::lmtp {

struct TraceFields {
  std::string sender;                       // "" = null sender, written as <>
  std::optional<std::string> delivered_to;  // one recipient; omitted for shared copies
  std::optional<std::string> received;      // the Received field's value, without the name
};

// `message` with the fields prepended. Return-Path fields already in the header are dropped:
// only the final delivery may set it. Delivered-To is not repeated when the header already has
// the same one (the MTA adds it before running a delivery command).
std::string add_trace_fields(std::string_view message, const TraceFields& fields);

// "from CLIENT by HOST (mailport) with LMTP; DATE" for a Received field.
std::string received_value(std::string_view client, std::string_view host, std::time_t when);

// RFC 5322 date-time in local time: "Mon, 01 Jan 2024 00:00:00 +0100".
std::string rfc5322_date(std::time_t when);

}  // namespace mailport::lmtp
