// Temporary directories, files and certificates for the configuration tests.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

namespace mailport::config::testing {

// A fresh directory under the system temp dir, removed with everything in it on destruction.
class TempDir {
 public:
  TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  ~TempDir();

  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(std::string_view name) const { return path_ / name; }

 private:
  std::filesystem::path path_;
};

void write_file(const std::filesystem::path& path, std::string_view content);

enum class KeyKind { ec, rsa };

// Writes a self-signed certificate and its private key as PEM files. With a passphrase the key
// is written encrypted.
void write_cert_pair(const std::filesystem::path& cert, const std::filesystem::path& key,
                     KeyKind kind = KeyKind::ec, std::string_view passphrase = {});

}  // namespace mailport::config::testing
