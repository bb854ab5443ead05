// MemoryStore's own promises beyond the shared contract: inspection helpers and fault injection.
#include "store/memory_store.hpp"

#include <gtest/gtest.h>

#include <array>
#include <string>

namespace mailport::store {
namespace {

const UserContext kAlice{"alice", ""};

TEST(MemoryStore, DeliverKeepsGivenUidlsAndGeneratesOthers) {
  MemoryStore store;
  EXPECT_EQ(store.deliver("alice", "x", "given"), "given");
  const std::string generated = store.deliver("alice", "y");
  EXPECT_FALSE(generated.empty());
  EXPECT_NE(generated, "given");
  EXPECT_EQ(store.uidls("alice"), (std::vector<std::string>{"given", generated}));
  EXPECT_EQ(store.content("alice", "given"), "x");
  EXPECT_FALSE(store.content("alice", "missing"));
  EXPECT_FALSE(store.content("nobody", "given"));
}

TEST(MemoryStore, ReportsLockState) {
  MemoryStore store;
  EXPECT_FALSE(store.is_locked("alice"));
  auto box = store.open(kAlice);
  ASSERT_TRUE(box.ok());
  EXPECT_TRUE(store.is_locked("alice"));
  box = make_error(errc::not_found);
  EXPECT_FALSE(store.is_locked("alice"));
}

TEST(MemoryStore, OpenFault) {
  MemoryStore store;
  store.set_faults({.open = make_error(errc::temporary_failure)});
  auto box = store.open(kAlice);
  ASSERT_FALSE(box.ok());
  EXPECT_TRUE(box.error().is(errc::temporary_failure));
  EXPECT_FALSE(store.is_locked("alice"));
  store.set_faults({});
  EXPECT_TRUE(store.open(kAlice).ok());
}

TEST(MemoryStore, OpenMessageFault) {
  MemoryStore store;
  store.deliver("alice", "x");
  auto box = store.open(kAlice);
  ASSERT_TRUE(box.ok());
  store.set_faults({.open_message = Error::from_errno(EIO, "disk")});
  auto reader = (*box)->open_message(0);
  ASSERT_FALSE(reader.ok());
  EXPECT_EQ(reader.error().code, std::error_code(EIO, std::generic_category()));
}

TEST(MemoryStore, ReadFaultAfterSomeBytes) {
  MemoryStore store;
  store.deliver("alice", "0123456789");
  store.set_faults({.read = Error::from_errno(EIO, "disk"), .read_fails_after = 4});
  auto box = store.open(kAlice);
  ASSERT_TRUE(box.ok());
  auto reader = (*box)->open_message(0);
  ASSERT_TRUE(reader.ok());
  std::array<char, 8> buffer{};
  auto first = (*reader)->read(buffer);
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(std::string(buffer.data(), *first), "0123");
  EXPECT_FALSE((*reader)->read(buffer).ok());
}

TEST(MemoryStore, ExpungeFaultAfterSomeRemovals) {
  MemoryStore store;
  const std::string a = store.deliver("alice", "a");
  const std::string b = store.deliver("alice", "b");
  const std::string c = store.deliver("alice", "c");
  store.set_faults({.expunge = make_error(errc::temporary_failure), .expunge_fails_after = 1});
  auto box = store.open(kAlice);
  ASSERT_TRUE(box.ok());
  const std::array<std::size_t, 3> all{0, 1, 2};
  auto result = (*box)->expunge(all);
  ASSERT_FALSE(result.ok());
  EXPECT_TRUE(result.error().is(errc::temporary_failure));
  EXPECT_EQ(store.uidls("alice"), (std::vector<std::string>{b, c}));
}

TEST(MemoryStore, MailboxMayOutliveTheStore) {
  auto store = std::make_unique<MemoryStore>();
  store->deliver("alice", "kept");
  auto box = store->open(kAlice);
  ASSERT_TRUE(box.ok());
  store.reset();
  auto reader = (*box)->open_message(0);
  ASSERT_TRUE(reader.ok());
  std::array<char, 8> buffer{};
  auto n = (*reader)->read(buffer);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(std::string(buffer.data(), *n), "kept");
}

}  // namespace
}  // namespace mailport::store
