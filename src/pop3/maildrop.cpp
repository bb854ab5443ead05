#include "pop3/maildrop.hpp"

#include <algorithm>
#include <charconv>
#include <limits>

namespace mailport::pop3 {

std::optional<std::uint64_t> parse_decimal(std::string_view text) {
  if (text.empty() || !std::ranges::all_of(text, [](char c) { return c >= '0' && c <= '9'; })) {
    return std::nullopt;
  }
  std::uint64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec == std::errc::result_out_of_range) return std::numeric_limits<std::uint64_t>::max();
  return value;
}

Maildrop::Maildrop(std::vector<MessageInfo> messages)
    : messages_(std::move(messages)), deleted_(messages_.size(), false) {
  for (const auto& message : messages_) total_octets_ += message.octets;
}

Result<std::size_t> Maildrop::find(std::string_view number) const {
  const auto value = parse_decimal(number);
  if (!value) return make_error(errc::invalid_input, "Invalid message number.");
  if (*value == 0 || *value > messages_.size()) {
    return make_error(errc::not_found, "No such message.");
  }
  const auto index = static_cast<std::size_t>(*value - 1);
  if (deleted_[index]) return make_error(errc::not_found, "Message is marked deleted.");
  return index;
}

void Maildrop::mark_deleted(std::size_t index) {
  if (deleted_[index]) return;
  deleted_[index] = true;
  ++deleted_count_;
  deleted_octets_ += messages_[index].octets;
}

void Maildrop::unmark_all() {
  deleted_.assign(deleted_.size(), false);
  deleted_count_ = 0;
  deleted_octets_ = 0;
}

std::vector<std::size_t> Maildrop::deleted_indices() const {
  std::vector<std::size_t> indices;
  indices.reserve(deleted_count_);
  for (std::size_t i = 0; i < deleted_.size(); ++i) {
    if (deleted_[i]) indices.push_back(i);
  }
  return indices;
}

}  // namespace mailport::pop3
