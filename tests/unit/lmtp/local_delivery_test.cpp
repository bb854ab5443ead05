// LocalDelivery against a real Maildir/mbox and a fake user database: recipient resolution,
// one copy per user, trace fields, and how store errors look to the MTA.
#include "lmtp/local_delivery.hpp"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <string>

#include "support/temp_dir.hpp"

namespace mailport::lmtp {
namespace {

namespace fs = std::filesystem;

class FakePassDb final : public auth::PassDb {
 public:
  Result<std::optional<auth::UserRecord>> lookup(std::string_view user) override {
    lookups.emplace_back(user);
    if (broken) return make_error(errc::temporary_failure, "unreadable");
    auto it = users.find(std::string(user));
    if (it == users.end()) return std::optional<auth::UserRecord>();
    auth::UserRecord record;
    record.name = it->first;
    record.home = it->second;
    return std::optional<auth::UserRecord>(record);
  }
  std::map<std::string, std::string> users;
  std::vector<std::string> lookups;
  bool broken = false;
};

using test_support::TempDir;

std::vector<std::string> maildir_messages(const fs::path& maildir) {
  std::vector<std::string> out;
  if (!fs::is_directory(maildir / "new")) return out;
  for (const auto& entry : fs::directory_iterator(maildir / "new")) {
    std::ifstream in(entry.path(), std::ios::binary);
    out.emplace_back(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  return out;
}

class LocalDeliveryTest : public ::testing::Test {
 protected:
  LocalDelivery make(std::string location, std::string delimiter = "+") {
    return LocalDelivery(
        db_, DeliverySettings{
                 store::parse_mail_location(location), {}, std::move(delimiter), "mx.example"});
  }
  std::string maildirs() const { return dir_.path().string() + "/%u"; }

  FakePassDb db_;
  TempDir dir_;
};

TEST_F(LocalDeliveryTest, ResolvesAddressThenWithoutExtensionThenLocalPart) {
  db_.users = {{"alice@example.org", "/home/a"}, {"bob", "/home/b"}};
  LocalDelivery delivery = make(maildirs());
  EXPECT_EQ((*delivery.resolve("alice@example.org"))->login, "alice@example.org");
  EXPECT_EQ((*delivery.resolve("alice+news@example.org"))->login, "alice@example.org");
  EXPECT_EQ((*delivery.resolve("bob+x@example.org"))->home, "/home/b");
  EXPECT_FALSE(*delivery.resolve("carol@example.org"));
  EXPECT_FALSE(*make(maildirs(), "").resolve("alice+news@example.org"));
  EXPECT_EQ(delivery.check("nobody"), Outcome::no_such_user);
  db_.broken = true;
  EXPECT_EQ(delivery.check("bob"), Outcome::temporary_failure);
  EXPECT_EQ(outcome_of(make_error(errc::permanent_failure, "uid 0")), Outcome::permanent_failure);
}

TEST_F(LocalDeliveryTest, SeveralRecipientsOneCopyPerUserWithoutDeliveredTo) {
  db_.users = {{"alice", ""}, {"bob", ""}};
  LocalDelivery delivery = make(maildirs());
  const Envelope envelope{
      "relay.example", "s@x", {"alice@example.org", "nobody@example.org", "bob", "alice+dup@x"}};
  const std::vector<Outcome> outcomes = delivery.deliver(envelope, "Subject: s\n\nbody\n");
  EXPECT_EQ(outcomes,
            (std::vector<Outcome>{Outcome::ok, Outcome::no_such_user, Outcome::ok, Outcome::ok}));
  const auto alice = maildir_messages(dir_.path() / "alice");
  ASSERT_EQ(alice.size(), 1u) << "alice+dup is the same user: one copy";
  EXPECT_TRUE(
      alice[0].starts_with("Return-Path: <s@x>\nReceived: from relay.example by "
                           "mx.example (mailport) with LMTP;\n\t"))
      << alice[0];
  EXPECT_EQ(alice[0].find("Delivered-To"), std::string::npos);
  EXPECT_TRUE(alice[0].ends_with("\nSubject: s\n\nbody\n"));
  EXPECT_EQ(maildir_messages(dir_.path() / "bob"), alice);
}

TEST_F(LocalDeliveryTest, SingleRecipientGetsDeliveredTo) {
  db_.users = {{"alice", ""}};
  const auto outcomes =
      make(maildirs()).deliver(Envelope{"c", "", {"alice@example.org"}}, "S: x\n\nb\n");
  EXPECT_EQ(outcomes, std::vector<Outcome>{Outcome::ok});
  EXPECT_TRUE(maildir_messages(dir_.path() / "alice")
                  .at(0)
                  .starts_with("Return-Path: <>\nDelivered-To: alice@example.org\nReceived: "));
}

TEST_F(LocalDeliveryTest, StoreErrorsBecomeTemporaryOrPermanentOutcomes) {
  db_.users = {{"alice", ""}, {"..", ""}};
  std::ofstream(dir_.path() / "alice") << "a file where the Maildir should be";
  const auto outcomes = make(maildirs()).deliver(Envelope{"c", "s", {"alice", ".."}}, "x\n");
  EXPECT_EQ(outcomes,
            (std::vector<Outcome>{Outcome::temporary_failure, Outcome::permanent_failure}));
  EXPECT_EQ(outcome_of(Error::from_errno(ENOSPC, "write")), Outcome::storage_full);
  EXPECT_EQ(outcome_of(Error::from_errno(EDQUOT, "write")), Outcome::storage_full);
  EXPECT_EQ(outcome_of(make_error(errc::in_use)), Outcome::mailbox_busy);
  EXPECT_EQ(outcome_of(Error::from_errno(EIO, "read")), Outcome::temporary_failure);
}

TEST_F(LocalDeliveryTest, DeliverLocalIntoMbox) {
  db_.users = {{"alice", ""}};
  LocalDelivery delivery = make("mbox:" + maildirs());
  const auto user = delivery.resolve("alice");
  ASSERT_TRUE(user && *user);
  EXPECT_EQ(delivery.deliver_local(**user, "s@x", "alice@example.org", "From me\n"), Outcome::ok);
  std::ifstream in(dir_.path() / "alice", std::ios::binary);
  const std::string spool((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_TRUE(spool.starts_with("From s@x ")) << spool;
  EXPECT_TRUE(
      spool.ends_with("\nReturn-Path: <s@x>\nDelivered-To: alice@example.org\n>From me\n\n"))
      << spool;
}

}  // namespace
}  // namespace mailport::lmtp
