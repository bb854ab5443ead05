// mailport's own error conditions, as std::error_code so they travel beside errno values.
#pragma once

#include <system_error>

namespace mailport {

enum class errc {
  in_use = 1,         // mailbox locked by another session  -> [IN-USE]
  not_found,          // user, mailbox or message does not exist
  temporary_failure,  // retry later (disk full, backend unreachable) -> [SYS/TEMP]
  permanent_failure,  // will not work without admin action -> [SYS/PERM]
  invalid_input,      // malformed data from a file, a flag or a peer
  auth_failed,        // wrong credentials -> [AUTH]
};

const std::error_category& mailport_category() noexcept;

inline std::error_code make_error_code(errc e) noexcept {
  return {static_cast<int>(e), mailport_category()};
}

}  // namespace mailport

template <>
struct std::is_error_code_enum<mailport::errc> : std::true_type {};
