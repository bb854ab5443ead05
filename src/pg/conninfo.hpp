// "postgres:CONNINFO" as given to --mail and --passdb: CONNINFO is a libpq connection string
// ("host=/run/postgresql dbname=mail") or URI ("postgresql://mail@db1/mail").
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "core/result.hpp"

namespace mailport::pg {

inline constexpr std::string_view kPrefix = "postgres:";

// The CONNINFO after "postgres:", or nullopt if `spec` names another backend.
std::optional<std::string_view> strip_prefix(std::string_view spec);

// Checks the syntax with libpq's own parser, without connecting. errc::invalid_input with
// libpq's explanation (an unknown keyword, a malformed URI, an empty string).
Result<void> check_conninfo(std::string_view conninfo);

// "host=db1 port=5432 dbname=mail user=mail": where it connects, for logs and messages; never
// the password.
std::string describe_conninfo(std::string_view conninfo);

}  // namespace mailport::pg
