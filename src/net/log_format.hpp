// log_format = "json": every log line becomes one JSON object. The server's messages are written
// as `key=value` words (values with spaces in double quotes, '"' and '\' escaped), which the text
// format prints as they are and fail2ban matches; here each word becomes a member. Anything that
// is not a `key=value` word is kept, in order, in "msg".
#pragma once

#include <spdlog/formatter.h>

#include <memory>
#include <string>
#include <string_view>

namespace mailport::net {

// {"time":..., "level":..., "msg":..., key: value...}; digits-only values become numbers.
// Always valid JSON: control characters are escaped and invalid UTF-8 becomes U+FFFD.
std::string json_log_line(std::string_view time, std::string_view level, std::string_view message);

std::unique_ptr<spdlog::formatter> make_json_formatter();

}  // namespace mailport::net
