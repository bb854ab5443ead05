#include "client/fetch_config.hpp"

#include <fmt/format.h>
#include <toml++/toml.h>

#include <algorithm>
#include <cstdlib>
#include <map>
#include <set>
#include <stdexcept>

namespace mailport::client {
namespace {

namespace fs = std::filesystem;

constexpr std::int64_t kMaxTimeoutSeconds = 3600;
constexpr std::int64_t kMaxDays = 36500;

// Raised while reading one value; turned into "FILE:LINE: key: message" at the top.
struct Problem : std::runtime_error {
  Problem(unsigned line, std::string key, const std::string& message)
      : std::runtime_error(message), line(line), key(std::move(key)) {}
  unsigned line;
  std::string key;
};

unsigned line_of(const toml::node& node) {
  return node.source().begin.line;
}

fs::path resolve_path(const fs::path& base, const std::string& text) {
  if (text.starts_with("~/")) {
    if (const char* home = std::getenv("HOME"); home && *home)
      return fs::path(home) / text.substr(2);
  }
  const fs::path path(text);
  return path.is_absolute() ? path : base / path;
}

std::string string_value(const std::string& key, const toml::node& node) {
  const auto* value = node.as_string();
  if (!value) throw Problem(line_of(node), key, "expected a string");
  return value->get();
}

std::int64_t integer_value(const std::string& key, const toml::node& node, std::int64_t min,
                           std::int64_t max) {
  const auto* value = node.as_integer();
  if (!value) throw Problem(line_of(node), key, "expected an integer");
  if (value->get() < min || value->get() > max) {
    throw Problem(line_of(node), key, fmt::format("must be from {} to {}", min, max));
  }
  return value->get();
}

bool boolean_value(const std::string& key, const toml::node& node) {
  const auto* value = node.as_boolean();
  if (!value) throw Problem(line_of(node), key, "expected true or false");
  return value->get();
}

fs::path path_value(const std::string& key, const toml::node& node, const fs::path& base) {
  const auto text = string_value(key, node);
  if (text.empty()) throw Problem(line_of(node), key, "must not be empty");
  return resolve_path(base, text);
}

using KeyMap = std::map<std::string, const toml::node*>;

// The keys that apply to `account`: the top-level defaults, where the account's own keys
// replace them. Setting one destination (or one deletion rule) replaces the whole group, so
// an account with `mbox` does not also inherit a default `to`.
KeyMap effective_keys(const toml::table& root, const toml::table& account) {
  KeyMap keys;
  for (const auto& [key, node] : root) {
    const std::string name(key.str());
    if (name == "account" || name == "state_dir" || name == "jobs") continue;
    if (name == "url") throw Problem(line_of(node), name, "url belongs inside [[account]]");
    keys[name] = &node;
  }
  for (const auto group : {std::initializer_list<const char*>{"to", "mbox", "mda"},
                           std::initializer_list<const char*>{"keep", "delete_after_days"}}) {
    bool own = false;
    for (const char* key : group) own = own || account.contains(key);
    if (own) {
      for (const char* key : group) keys.erase(key);
    }
  }
  for (const auto& [key, node] : account) keys[std::string(key.str())] = &node;
  return keys;
}

void read_destination(const std::string& key, const toml::node& node, const fs::path& base,
                      Destination& destination) {
  if (key == "mda") {
    destination.kind = Destination::Kind::mda;
    destination.target = string_value(key, node);
    if (destination.target.empty()) throw Problem(line_of(node), key, "must not be empty");
    return;
  }
  destination.kind = key == "to" ? Destination::Kind::maildir : Destination::Kind::mbox;
  destination.target = path_value(key, node, base).string();
}

void read_key(const std::string& key, const toml::node& node, const fs::path& base,
              FetchAccountConfig& out) {
  AccountSettings& s = out.settings;
  if (key == "url") {
    auto url = parse_server_url(string_value(key, node));
    if (!url) throw Problem(line_of(node), key, url.error().message);
    s.url = std::move(*url);
  } else if (key == "password_file") {
    out.password_file = path_value(key, node, base);
  } else if (key == "to" || key == "mbox" || key == "mda") {
    read_destination(key, node, base, s.destination);
  } else if (key == "keep") {
    if (boolean_value(key, node)) s.policy = DeletePolicy::keep;
  } else if (key == "delete_after_days") {
    s.policy = DeletePolicy::after_days;
    s.delete_after_days = static_cast<std::uint64_t>(integer_value(key, node, 0, kMaxDays));
  } else if (key == "cafile") {
    s.cafile = path_value(key, node, base);
  } else if (key == "insecure_plaintext") {
    s.insecure_plaintext = boolean_value(key, node);
  } else if (key == "auth") {
    const auto method = parse_auth_method(string_value(key, node));
    if (!method) throw Problem(line_of(node), key, "expected auto, scram-sha-256, plain or user");
    s.auth = *method;
  } else if (key == "timeout") {
    s.timeout = std::chrono::seconds(integer_value(key, node, 1, kMaxTimeoutSeconds));
  } else {
    throw Problem(line_of(node), key, "unknown key");
  }
}

FetchAccountConfig read_account(const toml::table& root, const toml::table& account,
                                const fs::path& base) {
  FetchAccountConfig out;
  out.line = line_of(account);
  const KeyMap keys = effective_keys(root, account);
  for (const auto& [key, node] : keys) read_key(key, *node, base, out);
  if (!keys.contains("url")) throw Problem(out.line, "url", "every [[account]] needs a url");
  const auto count = [&](std::initializer_list<const char*> group) {
    return std::count_if(group.begin(), group.end(),
                         [&](const char* k) { return keys.contains(k); });
  };
  const auto destinations = count({"to", "mbox", "mda"});
  if (destinations == 0)
    throw Problem(out.line, "to", "no destination: set one of to, mbox or mda");
  if (destinations > 1) throw Problem(out.line, "to", "set only one of to, mbox and mda");
  if (count({"keep", "delete_after_days"}) > 1) {
    throw Problem(out.line, "keep", "keep and delete_after_days exclude each other");
  }
  return out;
}

FetchConfig read_config(const toml::table& root, const fs::path& base) {
  FetchConfig config;
  if (const auto* node = root.get("state_dir")) {
    config.state_dir = path_value("state_dir", *node, base);
  }
  if (const auto* node = root.get("jobs")) {
    config.jobs = static_cast<unsigned>(integer_value("jobs", *node, 1, kMaxJobs));
  }
  const auto* accounts_node = root.get("account");
  const auto* accounts = accounts_node ? accounts_node->as_array() : nullptr;
  if (accounts_node && (!accounts || !accounts->is_array_of_tables())) {
    throw Problem(line_of(*accounts_node), "account", "write accounts as [[account]] tables");
  }
  if (!accounts || accounts->empty()) throw Problem(1, "account", "no [[account]] in the file");
  std::set<std::string> names;
  for (const auto& node : *accounts) {
    auto account = read_account(root, *node.as_table(), base);
    if (!names.insert(account.settings.url.display()).second) {
      throw Problem(account.line, "url",
                    account.settings.url.display() + " appears twice; each account once");
    }
    config.accounts.push_back(std::move(account));
  }
  return config;
}

}  // namespace

Result<FetchConfig> load_fetch_config(const fs::path& file) {
  const std::string name = file.string();
  try {
    const toml::table root = toml::parse_file(name);
    const fs::path base =
        file.has_parent_path() ? fs::absolute(file).parent_path() : fs::current_path();
    return read_config(root, base);
  } catch (const toml::parse_error& e) {
    return make_error(errc::invalid_input,
                      fmt::format("{}:{}: {}", name, e.source().begin.line, e.description()));
  } catch (const Problem& p) {
    return make_error(errc::invalid_input,
                      fmt::format("{}:{}: {}: {}", name, p.line, p.key, p.what()));
  }
}

}  // namespace mailport::client
