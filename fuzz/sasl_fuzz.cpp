// The SASL decoders on arbitrary bytes:
//   byte 0 % 3 == 0: base64 - decoding accepts only canonical text (re-encoding gives it back)
//                 1: PLAIN message - accepted only if well formed, and nothing is lost
//                 2: LOGIN - the rest split at the first LF into user name and password
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <variant>

#include "sasl/base64.hpp"
#include "sasl/identity.hpp"
#include "sasl/login_mechanism.hpp"
#include "sasl/plain_mechanism.hpp"

namespace {

using namespace mailport::sasl;

void check(bool condition) {
  if (!condition) std::abort();
}

void fuzz_base64(std::string_view text) {
  const auto decoded = decode_base64(text);
  if (decoded) check(encode_base64(*decoded) == text);
  const auto round_trip = decode_base64(encode_base64(text));
  check(round_trip && *round_trip == text);
}

void fuzz_plain(std::string_view message) {
  PlainMechanism mechanism;
  const auto step = mechanism.start(message);
  check(!std::holds_alternative<Challenge>(step));
  if (const auto* done = std::get_if<Done>(&step)) {
    const auto& c = done->credentials;
    check(valid_field(c.authcid) && valid_field(c.password));
    check(c.authzid.empty() || valid_field(c.authzid));
    check(c.authzid + '\0' + c.authcid + '\0' + c.password == message);
  }
  check(std::holds_alternative<Failed>(mechanism.step(message)));
}

void fuzz_login(std::string_view rest) {
  const auto lf = rest.find('\n');
  const auto user = rest.substr(0, lf);
  const auto password = lf == std::string_view::npos ? std::string_view() : rest.substr(lf + 1);
  LoginMechanism mechanism;
  check(std::holds_alternative<Challenge>(mechanism.start(std::nullopt)));
  const auto first = mechanism.step(user);
  if (!valid_field(user)) {
    check(std::holds_alternative<Failed>(first));
    return;
  }
  check(std::holds_alternative<Challenge>(first));
  const auto second = mechanism.step(password);
  if (const auto* done = std::get_if<Done>(&second)) {
    check(done->credentials.authcid == user && done->credentials.password == password);
    check(valid_field(password));
  } else {
    check(!valid_field(password));
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (data[0] % 3) {
    case 0:
      fuzz_base64(rest);
      break;
    case 1:
      fuzz_plain(rest);
      break;
    default:
      fuzz_login(rest);
      break;
  }
  return 0;
}
