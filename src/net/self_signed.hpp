// A self-signed ECDSA P-256 certificate for first starts and tests, so TLS works out of the box.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "core/result.hpp"

namespace mailport::net {

struct SelfSignedRequest {
  std::string common_name = "localhost";
  std::vector<std::string> dns_names = {"localhost"};
  std::vector<std::string> ip_addresses = {"127.0.0.1", "::1"};
  int valid_days = 825;
};

// Writes the key (mode 0600) and the certificate (0644) as PEM.
Result<void> write_self_signed_certificate(const SelfSignedRequest& request,
                                           const std::filesystem::path& cert_path,
                                           const std::filesystem::path& key_path);

}  // namespace mailport::net
