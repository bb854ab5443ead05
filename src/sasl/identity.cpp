#include "sasl/identity.hpp"

#include "sasl/utf8.hpp"

namespace mailport::sasl {

bool valid_field(std::string_view field) {
  return !field.empty() && field.size() <= kMaxFieldOctets &&
         field.find('\0') == std::string_view::npos && valid_utf8(field);
}

}  // namespace mailport::sasl
