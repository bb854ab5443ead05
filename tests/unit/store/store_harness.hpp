// Backends under the shared contract test: each harness owns a store and can act on a maildrop
// the way a delivery agent or another mail client would, behind an open session's back.
#pragma once

#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "store/maildir_name.hpp"
#include "store/maildir_store.hpp"
#include "store/memory_store.hpp"
#include "support/temp_dir.hpp"

namespace mailport::store::testing {

using test_support::read_file;
using test_support::TempDir;
using test_support::write_file;

class MemoryHarness {
 public:
  MailStore& store() { return store_; }
  std::string deliver(const std::string& login, const std::string& content) {
    return store_.deliver(login, content);
  }
  void vanish(const std::string& login, const std::string& uidl) {
    ASSERT_TRUE(store_.remove(login, uidl));
  }
  // Flags are not part of a message's identity in memory: nothing to rename.
  void change_flags(const std::string&, const std::string&) {}
  std::size_t stored(const std::string& login) { return store_.uidls(login).size(); }

 private:
  MemoryStore store_;
};

class MaildirHarness {
 public:
  MaildirHarness() : store_((dir_.path() / "%d" / "%n" / "Maildir").string()) {}

  MailStore& store() { return store_; }
  std::filesystem::path maildir(const std::string& login) const {
    auto path = expand_template((dir_.path() / "%d" / "%n" / "Maildir").string(), {login, ""});
    return *path;
  }
  std::string deliver(const std::string& login, const std::string& content) {
    auto name = deliver_to_maildir(maildir(login), content);
    EXPECT_TRUE(name.ok());
    return maildir_uidl(parse_maildir_name(*name).base);
  }
  void vanish(const std::string& login, const std::string& uidl) {
    const auto file = find(login, uidl);
    ASSERT_TRUE(file);
    std::filesystem::remove(*file);
  }
  // What another client does when it marks a message seen (or replied, then seen).
  void change_flags(const std::string& login, const std::string& uidl) {
    const auto file = find(login, uidl);
    ASSERT_TRUE(file);
    const std::string name = file->filename().string();
    const std::string renamed = name.ends_with(":2,") ? name + "S" : name + "R";
    std::filesystem::rename(*file, file->parent_path() / renamed);
  }
  std::size_t stored(const std::string& login) {
    std::size_t count = 0;
    for (const char* sub : {"cur", "new"}) {
      for (const auto& entry : std::filesystem::directory_iterator(maildir(login) / sub)) {
        count += entry.is_regular_file() ? 1 : 0;
      }
    }
    return count;
  }

 private:
  std::optional<std::filesystem::path> find(const std::string& login, const std::string& uidl) {
    for (const char* sub : {"cur", "new"}) {
      for (const auto& entry : std::filesystem::directory_iterator(maildir(login) / sub)) {
        const std::string name = entry.path().filename().string();
        if (maildir_uidl(parse_maildir_name(name).base) == uidl) return entry.path();
      }
    }
    return std::nullopt;
  }

  TempDir dir_;
  MaildirStore store_;
};

}  // namespace mailport::store::testing
