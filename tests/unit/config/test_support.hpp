// Certificates for the configuration tests (scratch directories: support/temp_dir.hpp).
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

#include "support/temp_dir.hpp"

namespace mailport::config::testing {

enum class KeyKind { ec, rsa };

// Writes a self-signed certificate and its private key as PEM files. With a passphrase the key
// is written encrypted.
void write_cert_pair(const std::filesystem::path& cert, const std::filesystem::path& key,
                     KeyKind kind = KeyKind::ec, std::string_view passphrase = {});

}  // namespace mailport::config::testing
