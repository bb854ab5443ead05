// The maildrop as one session sees it: the snapshot taken at login, addressed by 1-based message
// numbers that never shift, plus the session's deletion marks (RFC 1939 §5).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "core/message_info.hpp"
#include "core/result.hpp"

namespace mailport::pop3 {

// Decimal digits only: no sign, no blanks, not empty. Values beyond uint64 saturate to its
// maximum, which no message number or meaningful line count reaches.
std::optional<std::uint64_t> parse_decimal(std::string_view text);

class Maildrop {
 public:
  Maildrop() = default;
  explicit Maildrop(std::vector<MessageInfo> messages);

  // A message-number argument to the 0-based index of a message not marked deleted.
  // errc::invalid_input if it is not a number, errc::not_found if there is no such message or
  // it is marked deleted; Error::message is the reason to give the client.
  Result<std::size_t> find(std::string_view number) const;

  std::size_t size() const { return messages_.size(); }  // including messages marked deleted
  const MessageInfo& message(std::size_t index) const { return messages_[index]; }
  bool deleted(std::size_t index) const { return deleted_[index]; }

  void mark_deleted(std::size_t index);
  void unmark_all();

  std::size_t live_count() const { return messages_.size() - deleted_count_; }
  std::uint64_t live_octets() const { return total_octets_ - deleted_octets_; }
  std::size_t deleted_count() const { return deleted_count_; }
  std::vector<std::size_t> deleted_indices() const;

 private:
  std::vector<MessageInfo> messages_;
  std::vector<bool> deleted_;
  std::size_t deleted_count_ = 0;
  std::uint64_t total_octets_ = 0;
  std::uint64_t deleted_octets_ = 0;
};

}  // namespace mailport::pop3
