#include "store/mbox_format.hpp"

#include <openssl/evp.h>
#include <time.h>

#include <algorithm>
#include <memory>

#include "store/maildir_name.hpp"

namespace mailport::store {
namespace {

constexpr std::string_view kFrom = "From ";
constexpr std::string_view kUidlHeader = "x-uidl:";
// Enough of a line to recognise "From " and an X-UIDL header with a 70-character value.
constexpr std::size_t kPrefixKept = 128;
constexpr std::size_t kDigestHexDigits = 32;
constexpr std::string_view kDigestPrefix = "mbox-";

bool istarts_with(std::string_view text, std::string_view lower_prefix) {
  if (text.size() < lower_prefix.size()) return false;
  for (std::size_t i = 0; i < lower_prefix.size(); ++i) {
    const char c = text[i] >= 'A' && text[i] <= 'Z' ? static_cast<char>(text[i] + 32) : text[i];
    if (c != lower_prefix[i]) return false;
  }
  return true;
}

std::string_view trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t' || text.back() == '\r' ||
                           text.back() == '\n')) {
    text.remove_suffix(1);
  }
  return text;
}

}  // namespace

struct MboxScanner::Digest {
  struct Free {
    void operator()(EVP_MD_CTX* ctx) const { EVP_MD_CTX_free(ctx); }
  };
  std::unique_ptr<EVP_MD_CTX, Free> ctx{EVP_MD_CTX_new()};

  void reset() { EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr); }
  void update(std::string_view data) { EVP_DigestUpdate(ctx.get(), data.data(), data.size()); }
  std::string hex() {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int length = 0;
    EVP_DigestFinal_ex(ctx.get(), digest, &length);
    static constexpr char kHex[] = "0123456789abcdef";
    std::string text;
    for (unsigned i = 0; i < length && text.size() < kDigestHexDigits; ++i) {
      text += kHex[digest[i] >> 4];
      text += kHex[digest[i] & 0xf];
    }
    return text;
  }
};

MboxScanner::MboxScanner(std::uint64_t start_offset)
    : offset_(start_offset), line_start_(start_offset), digest_(std::make_unique<Digest>()) {}

MboxScanner::~MboxScanner() = default;

void MboxScanner::feed(std::string_view chunk) {
  while (!chunk.empty()) {
    const std::size_t lf = chunk.find('\n');
    const std::size_t take = lf == std::string_view::npos ? chunk.size() : lf + 1;
    const std::string_view piece = chunk.substr(0, take);
    if (line_prefix_.size() < kPrefixKept) {
      line_prefix_.append(piece.substr(0, kPrefixKept - line_prefix_.size()));
    }
    // Headers are hashed whole (they are short); bodies are only counted.
    if (in_message_ && in_headers_) digest_->update(piece);
    const bool crlf =
        lf != std::string_view::npos && (lf > 0 ? chunk[lf - 1] == '\r' : last_byte_cr_);
    last_byte_cr_ = chunk[take - 1] == '\r';
    line_length_ += take;
    offset_ += take;
    chunk.remove_prefix(take);
    if (lf != std::string_view::npos) end_line(true, crlf);
  }
}

void MboxScanner::close_message(std::uint64_t content_end, std::uint64_t separator_wire) {
  current_.content_length = content_end - current_.content_offset;
  current_.wire_size -= separator_wire;
  current_.uidl = is_valid_uidl(x_uidl_) ? x_uidl_ : std::string(kDigestPrefix) + digest_->hex();
  entries_.push_back(std::move(current_));
  current_ = MboxEntry{};
  in_message_ = false;
}

void MboxScanner::end_line(bool has_lf, bool crlf) {
  const std::string_view prefix = line_prefix_;
  const bool empty = prefix == "\n" || prefix == "\r\n";
  // Bare CRs count once on the wire; the LF (with or without its CR) counts twice.
  const std::uint64_t wire = line_length_ + (has_lf && !crlf ? 1 : 0);
  if (prefix.starts_with(kFrom) && previous_empty_) {
    if (in_message_) {
      const bool separated = previous_start_ >= current_.content_offset;
      close_message(separated ? previous_start_ : line_start_, separated ? 2 : 0);
    }
    in_message_ = true;
    in_headers_ = true;
    current_.from_offset = line_start_;
    current_.content_offset = line_start_ + line_length_;
    x_uidl_.clear();
    digest_->reset();
    digest_->update(prefix);
  } else if (in_message_) {
    current_.wire_size += wire;
    if (in_headers_ && empty) in_headers_ = false;
    if (in_headers_ && istarts_with(prefix, kUidlHeader) && prefix.size() < kPrefixKept) {
      x_uidl_ = std::string(trim(prefix.substr(kUidlHeader.size())));
    }
  } else {
    garbage_ = true;
  }
  previous_empty_ = empty;
  previous_start_ = line_start_;
  line_start_ = offset_;
  line_length_ = 0;
  line_prefix_.clear();
  last_byte_cr_ = false;
}

std::vector<MboxEntry> MboxScanner::finish() {
  if (line_length_ > 0) end_line(false, false);
  if (in_message_) {
    // The empty line a delivery agent appends after the last message is not part of it.
    const bool separated = previous_empty_ && previous_start_ >= current_.content_offset;
    close_message(separated ? previous_start_ : offset_, separated ? 2 : 0);
  }
  return std::move(entries_);
}

std::string mbox_from_line(std::string_view sender, std::time_t when) {
  tm local{};
  ::localtime_r(&when, &local);
  char date[64];
  const std::size_t n = std::strftime(date, sizeof date, "%a %b %e %H:%M:%S %Y", &local);
  std::string line = "From ";
  line += sender.empty() ? std::string_view("MAILER-DAEMON") : sender;
  line += ' ';
  line.append(date, n);
  line += '\n';
  return line;
}

std::string mbox_entry(std::string_view message, std::string_view from_line,
                       std::size_t need_separator) {
  std::string out(need_separator, '\n');
  out.reserve(out.size() + from_line.size() + message.size() + message.size() / 64 + 2);
  out += from_line;
  for (std::size_t pos = 0; pos < message.size();) {
    const std::size_t lf = message.find('\n', pos);
    const std::size_t end = lf == std::string_view::npos ? message.size() : lf + 1;
    const std::string_view line = message.substr(pos, end - pos);
    if (line.starts_with(kFrom)) out += '>';
    out += line;
    pos = end;
  }
  if (!message.empty() && message.back() != '\n') out += '\n';
  out += '\n';
  return out;
}

}  // namespace mailport::store
