#include "store/memory_store.hpp"

#include <algorithm>
#include <cstring>
#include <map>
#include <mutex>
#include <set>

#include "store/crlf_size.hpp"

namespace mailport::store {

struct MemoryStore::State {
  struct Message {
    std::string uidl;
    std::shared_ptr<const std::string> content;
  };

  mutable std::mutex mutex;
  std::map<std::string, std::vector<Message>, std::less<>> drops;
  std::set<std::string, std::less<>> locked;
  Faults faults;
  std::size_t generated = 0;

  // Caller holds the mutex.
  std::vector<Message>::iterator find(std::vector<Message>& drop, std::string_view uidl) {
    return std::find_if(drop.begin(), drop.end(), [&](const Message& m) { return m.uidl == uidl; });
  }
};

namespace {

using State = MemoryStore::State;

class MemoryReader final : public MessageReader {
 public:
  MemoryReader(std::shared_ptr<const std::string> content, std::optional<Error> fault,
               std::size_t fault_after)
      : content_(std::move(content)), fault_(std::move(fault)), fault_after_(fault_after) {}

  Result<std::size_t> read(std::span<char> buffer) override {
    if (fault_ && offset_ >= fault_after_) return *fault_;
    std::size_t n = std::min(buffer.size(), content_->size() - offset_);
    if (fault_) n = std::min(n, fault_after_ - offset_);
    std::memcpy(buffer.data(), content_->data() + offset_, n);
    offset_ += n;
    return n;
  }

 private:
  std::shared_ptr<const std::string> content_;
  std::optional<Error> fault_;
  std::size_t fault_after_;
  std::size_t offset_ = 0;
};

class MemoryMailbox final : public Mailbox {
 public:
  MemoryMailbox(std::shared_ptr<State> state, std::string login, std::vector<MessageInfo> infos)
      : state_(std::move(state)),
        login_(std::move(login)),
        infos_(std::move(infos)),
        removed_(infos_.size(), false) {}

  ~MemoryMailbox() override {
    const std::lock_guard guard(state_->mutex);
    state_->locked.erase(login_);
  }

  const std::vector<MessageInfo>& messages() const override { return infos_; }

  Result<std::unique_ptr<MessageReader>> open_message(std::size_t index) override {
    const std::lock_guard guard(state_->mutex);
    if (index >= infos_.size()) return make_error(errc::invalid_input, "no such message");
    if (state_->faults.open_message) return *state_->faults.open_message;
    auto& drop = state_->drops[login_];
    const auto it = state_->find(drop, infos_[index].uidl);
    if (removed_[index] || it == drop.end()) return make_error(errc::not_found, "vanished");
    return std::unique_ptr<MessageReader>(std::make_unique<MemoryReader>(
        it->content, state_->faults.read, state_->faults.read_fails_after));
  }

  Result<void> expunge(std::span<const std::size_t> indices) override {
    const std::lock_guard guard(state_->mutex);
    for (const std::size_t index : indices) {
      if (index >= infos_.size()) return make_error(errc::invalid_input, "no such message");
    }
    auto& drop = state_->drops[login_];
    std::size_t removed_now = 0;
    for (const std::size_t index : indices) {
      if (removed_[index]) continue;
      const Faults& faults = state_->faults;
      if (faults.expunge && removed_now >= faults.expunge_fails_after) return *faults.expunge;
      if (const auto it = state_->find(drop, infos_[index].uidl); it != drop.end()) drop.erase(it);
      removed_[index] = true;
      ++removed_now;
    }
    return {};
  }

 private:
  using Faults = MemoryStore::Faults;

  std::shared_ptr<State> state_;
  std::string login_;
  std::vector<MessageInfo> infos_;
  std::vector<bool> removed_;
};

}  // namespace

MemoryStore::MemoryStore() : state_(std::make_shared<State>()) {}
MemoryStore::~MemoryStore() = default;

std::string MemoryStore::deliver(const std::string& login, std::string content, std::string uidl) {
  const std::lock_guard guard(state_->mutex);
  if (uidl.empty()) uidl = "mem-" + std::to_string(++state_->generated);
  state_->drops[login].push_back(
      State::Message{uidl, std::make_shared<const std::string>(std::move(content))});
  return uidl;
}

bool MemoryStore::remove(const std::string& login, std::string_view uidl) {
  const std::lock_guard guard(state_->mutex);
  auto& drop = state_->drops[login];
  const auto it = state_->find(drop, uidl);
  if (it == drop.end()) return false;
  drop.erase(it);
  return true;
}

std::vector<std::string> MemoryStore::uidls(const std::string& login) const {
  const std::lock_guard guard(state_->mutex);
  std::vector<std::string> out;
  if (const auto drop = state_->drops.find(login); drop != state_->drops.end()) {
    for (const auto& message : drop->second) out.push_back(message.uidl);
  }
  return out;
}

std::optional<std::string> MemoryStore::content(const std::string& login,
                                                std::string_view uidl) const {
  const std::lock_guard guard(state_->mutex);
  const auto drop = state_->drops.find(login);
  if (drop == state_->drops.end()) return std::nullopt;
  const auto it = state_->find(drop->second, uidl);
  if (it == drop->second.end()) return std::nullopt;
  return *it->content;
}

bool MemoryStore::is_locked(const std::string& login) const {
  const std::lock_guard guard(state_->mutex);
  return state_->locked.contains(login);
}

void MemoryStore::set_faults(Faults faults) {
  const std::lock_guard guard(state_->mutex);
  state_->faults = std::move(faults);
}

Result<std::unique_ptr<Mailbox>> MemoryStore::open(const UserContext& user) {
  const std::lock_guard guard(state_->mutex);
  if (state_->locked.contains(user.login)) {
    return make_error(errc::in_use, "maildrop locked by another session");
  }
  if (state_->faults.open) return *state_->faults.open;
  std::vector<MessageInfo> infos;
  for (const auto& message : state_->drops[user.login]) {
    infos.push_back(MessageInfo{crlf_size(*message.content), message.uidl});
  }
  state_->locked.insert(user.login);
  return std::unique_ptr<Mailbox>(
      std::make_unique<MemoryMailbox>(state_, user.login, std::move(infos)));
}

}  // namespace mailport::store
