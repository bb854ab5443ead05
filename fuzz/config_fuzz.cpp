// The configuration loader on arbitrary text. The whole input is a TOML document loaded as if it
// were /etc/mailport/mailport.toml. A document is either rejected with a located ConfigError or
// accepted; an accepted one must survive `config check`'s round trip: to_toml() is itself a valid
// configuration that loads back to the same effective configuration (compared as to_toml text,
// since the first line names the source).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "config/config.hpp"

namespace {

using namespace mailport::config;

constexpr std::string_view kOrigin = "/etc/mailport/mailport.toml";

void check(bool condition) {
  if (!condition) std::abort();
}

std::string_view after_first_line(std::string_view text) {
  const std::size_t newline = text.find('\n');
  return newline == std::string_view::npos ? std::string_view() : text.substr(newline + 1);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  Config config;
  try {
    config = load_string(text, kOrigin);
  } catch (const ConfigError& e) {
    // Rejections are located in the file they came from and say what is wrong.
    check(e.file() == kOrigin);
    check(std::string_view(e.what()).size() > e.file().size());
    return 0;
  }
  const std::string written = to_toml(config);
  try {
    const Config reloaded = load_string(written, kOrigin);
    check(after_first_line(to_toml(reloaded)) == after_first_line(written));
  } catch (const ConfigError&) {
    check(false);  // config check printed a file that does not load
  }
  return 0;
}
