// expand_template: the mail location template (see docs/storage.md).
#include <string>
#include <string_view>

#include "store/mail_store.hpp"

namespace mailport::store {
namespace {

constexpr std::string_view kMaildirPrefix = "maildir:";

// A login-derived value becomes (part of) one path component; it must not name another one.
bool is_safe_component(std::string_view value) {
  return !value.empty() && value != "." && value != ".." &&
         value.find_first_of(std::string_view("/\0", 2)) == std::string_view::npos;
}

Result<std::string_view> checked(std::string_view value, char key) {
  if (is_safe_component(value)) return value;
  return make_error(errc::invalid_input, std::string("mail location: unsafe value for %") + key);
}

Result<std::string_view> home_value(std::string_view home) {
  if (home.empty() || home.front() != '/' || home.find('\0') != std::string_view::npos) {
    return make_error(errc::invalid_input, "mail location: %h needs an absolute home directory");
  }
  return home;
}

Result<std::string_view> value_for(char key, const UserContext& user) {
  const std::string_view login = user.login;
  const std::size_t at = login.rfind('@');
  switch (key) {
    case 'u':
      return checked(login, key);
    case 'n':
      return checked(login.substr(0, at), key);
    case 'd':
      // No domain is fine: "%d/%n" then collapses to "/alice" under the root.
      if (at == std::string_view::npos) return std::string_view();
      return checked(login.substr(at + 1), key);
    case 'h':
      return home_value(user.home);
    case '%':
      return std::string_view("%");
    default:
      return make_error(errc::invalid_input, std::string("mail location: unknown %") + key);
  }
}

}  // namespace

Result<std::string> expand_template(std::string_view tmpl, const UserContext& user) {
  if (tmpl.starts_with(kMaildirPrefix)) tmpl.remove_prefix(kMaildirPrefix.size());
  std::string out;
  for (std::size_t i = 0; i < tmpl.size(); ++i) {
    if (tmpl[i] != '%') {
      out += tmpl[i];
      continue;
    }
    if (++i == tmpl.size()) return make_error(errc::invalid_input, "mail location ends in '%'");
    auto value = value_for(tmpl[i], user);
    if (!value) return value.error();
    out += *value;
  }
  // A relative path would depend on the server's working directory.
  if (out.empty() || out.front() != '/') {
    return make_error(errc::invalid_input, "mail location is not an absolute path");
  }
  return out;
}

}  // namespace mailport::store
