#include "core/errc.hpp"

#include <string>

namespace mailport {
namespace {

class Category final : public std::error_category {
 public:
  const char* name() const noexcept override { return "mailport"; }
  std::string message(int value) const override {
    switch (static_cast<errc>(value)) {
      case errc::in_use: return "mailbox is in use by another session";
      case errc::not_found: return "not found";
      case errc::temporary_failure: return "temporary failure";
      case errc::permanent_failure: return "permanent failure";
      case errc::invalid_input: return "invalid input";
      case errc::auth_failed: return "authentication failed";
    }
    return "unknown mailport error";
  }
};

}  // namespace

const std::error_category& mailport_category() noexcept {
  static const Category category;
  return category;
}

}  // namespace mailport
