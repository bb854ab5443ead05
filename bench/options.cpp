#include "bench/options.hpp"

#include <fstream>

namespace mailport::bench {

std::optional<std::vector<Account>> load_accounts(const std::string& path, std::string& error) {
  std::ifstream in(path);
  if (!in) {
    error = "cannot read " + path;
    return std::nullopt;
  }
  std::vector<Account> accounts;
  std::string line;
  for (unsigned number = 1; std::getline(in, line); ++number) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty() || line.front() == '#') continue;
    const auto colon = line.find(':');
    if (colon == std::string::npos || colon == 0) {
      error = path + ":" + std::to_string(number) + ": expected user:password";
      return std::nullopt;
    }
    accounts.push_back({line.substr(0, colon), line.substr(colon + 1)});
  }
  return accounts;
}

}  // namespace mailport::bench
