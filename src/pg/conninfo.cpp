#include "pg/conninfo.hpp"

#include <libpq-fe.h>

#include <memory>

namespace mailport::pg {
namespace {

struct OptionsDeleter {
  void operator()(PQconninfoOption* options) const { PQconninfoFree(options); }
};
using Options = std::unique_ptr<PQconninfoOption, OptionsDeleter>;

struct ErrorDeleter {
  void operator()(char* message) const { PQfreemem(message); }
};

Result<Options> parse(std::string_view conninfo) {
  if (conninfo.empty()) {
    return make_error(errc::invalid_input,
                      "empty PostgreSQL connection string (e.g. postgres:dbname=mail)");
  }
  char* raw_error = nullptr;
  const std::string text(conninfo);
  Options options(PQconninfoParse(text.c_str(), &raw_error));
  std::unique_ptr<char, ErrorDeleter> error(raw_error);
  if (!options) {
    std::string message = error ? error.get() : "out of memory";
    while (!message.empty() && (message.back() == '\n' || message.back() == ' ')) {
      message.pop_back();
    }
    return make_error(errc::invalid_input, "PostgreSQL connection string: " + message);
  }
  return options;
}

}  // namespace

std::optional<std::string_view> strip_prefix(std::string_view spec) {
  if (!spec.starts_with(kPrefix)) return std::nullopt;
  return spec.substr(kPrefix.size());
}

Result<void> check_conninfo(std::string_view conninfo) {
  auto options = parse(conninfo);
  if (!options) return options.error();
  return {};
}

std::string describe_conninfo(std::string_view conninfo) {
  auto options = parse(conninfo);
  if (!options) return "(invalid connection string)";
  std::string text;
  for (const char* key : {"host", "hostaddr", "port", "dbname", "user"}) {
    for (const PQconninfoOption* option = options->get(); option->keyword; ++option) {
      if (std::string_view(option->keyword) != key || !option->val || !*option->val) continue;
      if (!text.empty()) text += ' ';
      text += key;
      text += '=';
      text += option->val;
    }
  }
  return text.empty() ? "(libpq defaults)" : text;
}

}  // namespace mailport::pg
