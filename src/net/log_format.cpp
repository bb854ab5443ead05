#include "net/log_format.hpp"

#include <spdlog/pattern_formatter.h>

#include <algorithm>
#include <cctype>
#include <nlohmann/json.hpp>
#include <optional>

namespace mailport::net {
namespace {

constexpr std::size_t kMaxNumberDigits = 15;  // exact in a double, which JSON readers may use

bool is_key_char(char c) {
  return std::islower(static_cast<unsigned char>(c)) ||
         std::isdigit(static_cast<unsigned char>(c)) || c == '_' || c == '-';
}

bool all_digits(std::string_view text) {
  if (text.empty() || text.size() > kMaxNumberDigits) return false;
  for (char c : text) {
    if (!std::isdigit(static_cast<unsigned char>(c))) return false;
  }
  return text.size() == 1 || text.front() != '0';
}

// Reads a double-quoted value at text[pos] (pos at the opening quote); nullopt if unterminated.
std::optional<std::string> quoted_value(std::string_view text, std::size_t& pos) {
  std::string value;
  for (std::size_t i = pos + 1; i < text.size(); ++i) {
    if (text[i] == '\\' && i + 1 < text.size()) {
      value += text[++i];
    } else if (text[i] == '"') {
      pos = i + 1;
      return value;
    } else {
      value += text[i];
    }
  }
  return std::nullopt;
}

class KeyValueParser {
 public:
  explicit KeyValueParser(std::string_view text) : text_(text) {}

  void parse_into(nlohmann::ordered_json& object) {
    std::string msg;
    while (pos_ < text_.size()) {
      if (text_[pos_] == ' ') {
        ++pos_;
        continue;
      }
      const std::size_t start = pos_;
      if (!pair_into(object)) {
        pos_ = start;
        if (!msg.empty()) msg += ' ';
        msg += bare_word();
      }
    }
    if (!msg.empty()) object["msg"] = msg;
  }

 private:
  // key=value or key="quoted value" at pos_; false (pos_ unspecified) if it is neither.
  bool pair_into(nlohmann::ordered_json& object) {
    std::size_t end = pos_;
    while (end < text_.size() && is_key_char(text_[end])) ++end;
    if (end == pos_ || end >= text_.size() || text_[end] != '=') return false;
    const std::string key(text_.substr(pos_, end - pos_));
    if (key == "time" || key == "level" || key == "msg") return false;
    pos_ = end + 1;
    if (pos_ < text_.size() && text_[pos_] == '"') {
      std::optional<std::string> value = quoted_value(text_, pos_);
      if (!value) return false;
      object[key] = std::move(*value);
      return true;
    }
    const std::string value = bare_word();
    if (all_digits(value)) {
      object[key] = std::stoll(value);
    } else {
      object[key] = value;
    }
    return true;
  }

  std::string bare_word() {
    const std::size_t end = std::min(text_.find(' ', pos_), text_.size());
    std::string word(text_.substr(pos_, end - pos_));
    pos_ = end;
    return word;
  }

  std::string_view text_;
  std::size_t pos_ = 0;
};

class JsonFormatter : public spdlog::formatter {
 public:
  JsonFormatter()
      : time_(std::make_unique<spdlog::pattern_formatter>("%Y-%m-%dT%H:%M:%S.%e%z",
                                                          spdlog::pattern_time_type::local, "")) {}

  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    spdlog::memory_buf_t time;
    time_->format(msg, time);
    const auto level = spdlog::level::to_string_view(msg.level);
    const std::string line = json_log_line(
        std::string_view(time.data(), time.size()), std::string_view(level.data(), level.size()),
        std::string_view(msg.payload.data(), msg.payload.size()));
    dest.append(line.data(), line.data() + line.size());
    dest.push_back('\n');
  }

  std::unique_ptr<spdlog::formatter> clone() const override {
    return std::make_unique<JsonFormatter>();
  }

 private:
  std::unique_ptr<spdlog::pattern_formatter> time_;
};

}  // namespace

std::string json_log_line(std::string_view time, std::string_view level, std::string_view message) {
  nlohmann::ordered_json object;
  object["time"] = std::string(time);
  object["level"] = std::string(level);
  KeyValueParser(message).parse_into(object);
  return object.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

std::unique_ptr<spdlog::formatter> make_json_formatter() {
  return std::make_unique<JsonFormatter>();
}

}  // namespace mailport::net
