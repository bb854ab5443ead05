#include "sasl/mechanism.hpp"

#include <algorithm>
#include <array>

#include "sasl/login_mechanism.hpp"
#include "sasl/plain_mechanism.hpp"
#include "sasl/scram_mechanism.hpp"

namespace mailport::sasl {

namespace {

template <class T>
std::unique_ptr<Mechanism> create() {
  return std::make_unique<T>();
}

template <ScramHash Hash>
std::unique_ptr<Mechanism> create_scram() {
  return std::make_unique<ScramMechanism>(Hash);
}

constexpr std::array kMechanisms = {
    MechanismInfo{"PLAIN", true, &create<PlainMechanism>},
    MechanismInfo{"LOGIN", true, &create<LoginMechanism>},
    MechanismInfo{"SCRAM-SHA-256", false, &create_scram<ScramHash::sha256>},
    MechanismInfo{"SCRAM-SHA-1", false, &create_scram<ScramHash::sha1>},
};

// ASCII only: mechanism names are ASCII, and the C locale must not matter.
char ascii_upper(char c) {
  return c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c;
}

bool iequals(std::string_view a, std::string_view b) {
  return std::ranges::equal(a, b, [](char x, char y) { return ascii_upper(x) == ascii_upper(y); });
}

}  // namespace

const MechanismInfo* find_mechanism(std::string_view name) {
  const auto it = std::ranges::find_if(
      kMechanisms, [name](const MechanismInfo& info) { return iequals(info.name, name); });
  return it == kMechanisms.end() ? nullptr : &*it;
}

}  // namespace mailport::sasl
