#include "lmtp/trace_headers.hpp"

#include <time.h>

#include <algorithm>

namespace mailport::lmtp {
namespace {

bool is_field(std::string_view line, std::string_view lower_name) {
  if (line.size() <= lower_name.size() || line[lower_name.size()] != ':') return false;
  return std::ranges::equal(line.substr(0, lower_name.size()), lower_name, [](char a, char b) {
    return (a >= 'A' && a <= 'Z' ? static_cast<char>(a + 32) : a) == b;
  });
}

std::string_view field_value(std::string_view line) {
  std::string_view value = line.substr(line.find(':') + 1);
  while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
  while (!value.empty() && (value.back() == '\n' || value.back() == '\r' || value.back() == ' ')) {
    value.remove_suffix(1);
  }
  return value;
}

// The header block, field by field (a field with its continuation lines), without the body.
template <class Visit>
std::size_t for_each_field(std::string_view message, Visit visit) {
  std::size_t pos = 0;
  while (pos < message.size()) {
    if (message[pos] == '\n' || message.substr(pos, 2) == "\r\n") return pos;
    std::size_t end = pos;
    do {
      const std::size_t lf = message.find('\n', end);
      end = lf == std::string_view::npos ? message.size() : lf + 1;
    } while (end < message.size() && (message[end] == ' ' || message[end] == '\t'));
    visit(pos, message.substr(pos, end - pos));
    pos = end;
  }
  return pos;
}

}  // namespace

std::string add_trace_fields(std::string_view message, const TraceFields& fields) {
  std::string out = "Return-Path: <" + fields.sender + ">\n";
  bool has_delivered_to = false;
  std::string kept;
  const std::size_t header_end = for_each_field(message, [&](std::size_t, std::string_view field) {
    if (fields.delivered_to && is_field(field, "delivered-to") &&
        field_value(field) == *fields.delivered_to) {
      has_delivered_to = true;
    }
    if (!is_field(field, "return-path")) kept += field;
  });
  if (fields.delivered_to && !has_delivered_to)
    out += "Delivered-To: " + *fields.delivered_to + "\n";
  if (fields.received) out += "Received: " + *fields.received + "\n";
  out += kept;
  out += message.substr(header_end);
  return out;
}

std::string received_value(std::string_view client, std::string_view host, std::time_t when) {
  std::string value = "from ";
  value += client;
  value += " by ";
  value += host;
  value += " (mailport) with LMTP;\n\t";
  value += rfc5322_date(when);
  return value;
}

std::string rfc5322_date(std::time_t when) {
  tm local{};
  ::localtime_r(&when, &local);
  char text[64];
  const std::size_t n = std::strftime(text, sizeof text, "%a, %d %b %Y %H:%M:%S %z", &local);
  return std::string(text, n);
}

}  // namespace mailport::lmtp
