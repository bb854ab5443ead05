// What `check` observed, separated from how it is judged (audit_rules.cpp) so that every rule
// is unit-tested on hand-made facts.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "client/audit.hpp"
#include "client/reply.hpp"
#include "client/tls.hpp"

namespace mailport::client {

struct CertFacts {
  long chain_error = 0;  // X509_V_OK (0) when the chain leads to a trusted CA
  std::string chain_error_text;
  bool name_matches = false;  // the checked host is in the certificate (SAN, else CN)
  std::string names;          // the DNS/IP names it does carry, for the message
  std::int64_t not_before = 0;
  std::int64_t not_after = 0;  // Unix seconds
  std::string key_type;        // "RSA", "EC", "ED25519", "ED448", "DSA"
  int key_bits = 0;
  std::string curve;      // EC only
  std::string signature;  // "ecdsa-with-SHA256"
  std::string issuer;
};

struct TlsFacts {
  bool handshake_ok = false;
  std::string handshake_error;
  TlsSummary negotiated;  // with a default modern client
  std::optional<CertFacts> cert;
  std::map<TlsVersion, bool> versions;     // probed one at a time
  std::optional<std::string> weak_cipher;  // a legacy cipher the server agreed to
  std::optional<bool> resumed;             // nullopt: could not be tried
};

struct PortFacts {
  std::uint16_t port = 0;
  bool implicit_tls = false;
  bool reachable = false;
  std::string connect_error;
  bool cleartext = false;               // implicit-TLS port answered "+OK" without TLS
  std::optional<std::string> greeting;  // the text after +OK
  bool greeting_ok = false;
  std::optional<Capabilities> caps;      // before TLS on 110, over TLS on 995
  std::optional<Capabilities> caps_tls;  // after STLS (110)
  bool stls_offered = false;
  std::optional<TlsFacts> tls;               // implicit TLS, or after STLS
  bool user_before_tls = false;              // "USER probe" got +OK before TLS
  std::vector<std::string> sasl_before_tls;  // PLAIN/LOGIN exchanges the server started
};

// The judgement: facts in, findings out. `now` in Unix seconds.
std::vector<Finding> judge_pop3s(const CheckOptions& options, const PortFacts& pop3s,
                                 const PortFacts* pop3, std::int64_t now);
std::vector<Finding> judge_pop3(const CheckOptions& options, const PortFacts& pop3,
                                const PortFacts* pop3s, std::int64_t now);
std::vector<Finding> judge_tls(const std::string& port, const std::string& host,
                               const TlsFacts& tls, std::int64_t now);

// Probing (audit_probe.cpp).
PortFacts probe_pop3s(const CheckOptions& options);
PortFacts probe_pop3(const CheckOptions& options);

}  // namespace mailport::client
