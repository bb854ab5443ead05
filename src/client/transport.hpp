// The byte stream under a Pop3Client: a socket (plain or TLS) in production, a script in tests.
#pragma once

#include <cstddef>
#include <span>
#include <string_view>

#include "core/result.hpp"

namespace mailport::client {

class Transport {
 public:
  virtual ~Transport() = default;
  // At least one byte, or 0 when the peer has closed the stream.
  virtual Result<std::size_t> read_some(std::span<char> buffer) = 0;
  virtual Result<void> write_all(std::string_view bytes) = 0;
  // Switches the stream to TLS after the server accepted STLS.
  virtual Result<void> start_tls() = 0;
};

}  // namespace mailport::client
