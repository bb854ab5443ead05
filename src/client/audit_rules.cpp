// The judging half of `check`: turns observed facts into findings. Every FAIL and WARN carries
// the fix in the migration order the issue describes: enable 995, enable STLS, refuse plaintext
// logins before TLS, install a valid certificate.
#include <fmt/format.h>

#include <algorithm>
#include <regex>

#include "client/audit_facts.hpp"

namespace mailport::client {
namespace {

constexpr std::int64_t kDay = 86400;
constexpr std::int64_t kExpiryWarningDays = 21;
constexpr int kMinRsaBits = 2048;
constexpr int kMinEcBits = 256;

constexpr const char* kFixEnable995 =
    "Serve POP3 over implicit TLS on port 995 (RFC 8314 prefers it to STLS on 110).";
constexpr const char* kFixUnreachable =
    "Check the host name and port, that the server is running, and that no firewall drops "
    "the connection.";
constexpr const char* kFixCertificate =
    "Install a certificate from a CA that clients trust (an ACME CA issues them for free), "
    "with the intermediates after it; for a private CA give clients its certificate (here: "
    "--cafile).";

Finding pass(const std::string& port, std::string check, std::string explanation) {
  return {port, std::move(check), Severity::pass, std::move(explanation), {}};
}

Finding warn(const std::string& port, std::string check, std::string explanation, std::string fix) {
  return {port, std::move(check), Severity::warn, std::move(explanation), std::move(fix)};
}

Finding fail(const std::string& port, std::string check, std::string explanation, std::string fix) {
  return {port, std::move(check), Severity::fail, std::move(explanation), std::move(fix)};
}

std::string quoted(const std::optional<std::string>& text) {
  return text ? "\"" + *text + "\"" : "(none)";
}

// A number like 2.3 or 1.2.3 in free text: how software versions usually leak.
bool has_version_number(std::string_view text) {
  static const std::regex version(R"(\d+\.\d+)");
  return std::regex_search(text.begin(), text.end(), version);
}

Finding judge_capa(const std::string& port, const std::optional<Capabilities>& caps) {
  if (!caps) {
    return warn(port, "capa", "no CAPA (RFC 2449): clients cannot discover STLS or SASL",
                "Enable the CAPA command.");
  }
  std::string tags;
  for (const auto& line : caps->lines()) {
    // Only SASL's arguments are shown: which mechanisms are offered matters to the reader.
    const auto space = line.find(' ');
    std::string item = line.substr(0, space);
    if (to_upper_ascii(item) == "SASL" && space != std::string::npos) {
      item += "(" + line.substr(space + 1) + ")";
    }
    tags += (tags.empty() ? "" : " ") + item;
  }
  return pass(port, "capa", "CAPA: " + (tags.empty() ? std::string("(empty)") : tags));
}

std::vector<Finding> judge_leaks(const std::string& port, const PortFacts& facts,
                                 const std::optional<Capabilities>& caps) {
  std::vector<Finding> out;
  const auto implementation = caps ? caps->implementation() : std::nullopt;
  const bool greeting_version = facts.greeting && has_version_number(*facts.greeting);
  if (implementation || greeting_version) {
    const std::string what = implementation
                                 ? "CAPA announces IMPLEMENTATION " + *implementation
                                 : "the greeting names a version: " + quoted(facts.greeting);
    out.push_back(warn(port, "version-leak",
                       what + "; attackers can look up the known holes of that version",
                       "Drop the version from the greeting and do not announce IMPLEMENTATION "
                       "(mailport: keep session.greeting neutral, leave session.implementation "
                       "unset)."));
  } else {
    out.push_back(pass(port, "version-leak", "neither the greeting nor CAPA names a version"));
  }
  if (facts.greeting) {
    if (const auto stamp = apop_timestamp(*facts.greeting)) {
      out.push_back(warn(port, "apop",
                         "APOP is offered (timestamp " + *stamp +
                             "): it rests on MD5 and needs passwords stored in clear text on the "
                             "server",
                         "Turn APOP off; TLS with USER/PASS or SASL protects the password "
                         "(mailport: auth.apop = false)."));
    }
  }
  return out;
}

std::string versions_text(const TlsFacts& tls, bool accepted) {
  std::string out;
  for (const auto& [version, ok] : tls.versions) {
    if (ok == accepted) out += (out.empty() ? "" : ", ") + std::string(to_string(version));
  }
  return out.empty() ? "none" : out;
}

Finding judge_versions(const std::string& port, const TlsFacts& tls) {
  const auto accepted = [&](TlsVersion v) {
    const auto it = tls.versions.find(v);
    return it != tls.versions.end() && it->second;
  };
  const std::string list = versions_text(tls, true);
  if (accepted(TlsVersion::tls1_0) || accepted(TlsVersion::tls1_1)) {
    return fail(port, "tls-versions",
                "accepts " + list + "; TLS 1.0 and 1.1 are broken and deprecated (RFC 8996)",
                "Accept only TLS 1.2 and 1.3 (mailport: tls.min_version = \"TLSv1.2\").");
  }
  if (!accepted(TlsVersion::tls1_2) && !accepted(TlsVersion::tls1_3)) {
    return fail(port, "tls-versions", "no TLS version from 1.0 to 1.3 completed a handshake",
                "Check the server's TLS configuration and enable TLS 1.2 and 1.3.");
  }
  return pass(port, "tls-versions", "accepts " + list);
}

Finding judge_cipher(const std::string& port, const TlsFacts& tls) {
  const TlsSummary& n = tls.negotiated;
  const std::string what = fmt::format("{} with {}{}", n.version, n.cipher,
                                       n.group.empty() ? "" : ", key exchange " + n.group);
  if (!n.forward_secret) {
    return fail(port, "cipher", what + ": no forward secrecy, a stolen key decrypts old traffic",
                "Prefer ECDHE key exchange with AES-GCM or ChaCha20-Poly1305.");
  }
  if (!n.aead) {
    return warn(port, "cipher", what + ": CBC mode instead of an AEAD cipher",
                "Prefer AES-GCM or ChaCha20-Poly1305 suites.");
  }
  return pass(port, "cipher", what);
}

Finding judge_weak_ciphers(const std::string& port, const TlsFacts& tls) {
  if (tls.weak_cipher) {
    return fail(port, "weak-ciphers",
                "agrees to " + *tls.weak_cipher + " when a client offers only legacy ciphers",
                "Remove RSA key exchange, 3DES, RC4, NULL and anonymous suites from the cipher "
                "list (mailport: tls.ciphers).");
  }
  return pass(port, "weak-ciphers",
              "refuses RSA key exchange, 3DES, RC4, NULL and anonymous suites");
}

bool weak_signature(std::string_view name) {
  std::string lower(name);
  std::ranges::transform(lower, lower.begin(), [](char c) {
    return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
  });
  return lower.find("md5") != std::string::npos || lower.find("sha1") != std::string::npos;
}

Finding judge_key(const std::string& port, const CertFacts& cert) {
  std::string what = cert.key_type + " " + std::to_string(cert.key_bits) + " bits";
  if (!cert.curve.empty()) what = cert.key_type + " " + cert.curve;
  what += ", signed with " + cert.signature;
  const bool weak_key = cert.key_type == "DSA" ||
                        (cert.key_type == "RSA" && cert.key_bits < kMinRsaBits) ||
                        (cert.key_type == "EC" && cert.key_bits < kMinEcBits);
  if (weak_key || weak_signature(cert.signature)) {
    return fail(port, "key", what + ": too weak for today's clients",
                "Issue a new certificate with an RSA key of 2048+ bits or an EC P-256+ key, "
                "signed with SHA-256 or better.");
  }
  return pass(port, "key", what);
}

std::vector<Finding> judge_certificate(const std::string& port, const std::string& host,
                                       const CertFacts& cert, std::int64_t now) {
  std::vector<Finding> out;
  if (cert.chain_error == 0) {
    out.push_back(
        pass(port, "certificate", "chain verifies up to a trusted CA (" + cert.issuer + ")"));
  } else {
    out.push_back(
        fail(port, "certificate",
             "does not verify: " + cert.chain_error_text + " (issuer " + cert.issuer + ")",
             kFixCertificate));
  }
  if (cert.name_matches) {
    out.push_back(pass(port, "hostname", "certificate is valid for " + host));
  } else {
    out.push_back(fail(port, "hostname",
                       "certificate is for " + (cert.names.empty() ? "no name" : cert.names) +
                           ", not " + host + ": clients refuse it",
                       "Install a certificate whose subjectAltName includes " + host + "."));
  }
  const std::int64_t days = (cert.not_after - now) / kDay;
  if (now < cert.not_before) {
    out.push_back(fail(port, "expiry", "certificate is not valid yet (check the server's clock)",
                       "Fix the clock or install a certificate that is already valid."));
  } else if (now >= cert.not_after) {
    out.push_back(
        fail(port, "expiry",
             fmt::format("certificate expired {} days ago", (now - cert.not_after) / kDay),
             "Renew the certificate now, and automate renewal."));
  } else if (days < kExpiryWarningDays) {
    out.push_back(warn(port, "expiry", fmt::format("certificate expires in {} days", days),
                       "Renew the certificate soon, and automate renewal."));
  } else {
    out.push_back(pass(port, "expiry", fmt::format("certificate expires in {} days", days)));
  }
  out.push_back(judge_key(port, cert));
  return out;
}

}  // namespace

std::vector<Finding> judge_tls(const std::string& port, const std::string& host,
                               const TlsFacts& tls, std::int64_t now) {
  std::vector<Finding> out;
  if (!tls.handshake_ok) {
    out.push_back(fail(port, "tls", "TLS handshake failed: " + tls.handshake_error,
                       "Configure a certificate and key for this port and enable TLS 1.2/1.3."));
    return out;
  }
  out.push_back(judge_versions(port, tls));
  out.push_back(judge_cipher(port, tls));
  out.push_back(judge_weak_ciphers(port, tls));
  if (tls.cert) {
    auto cert = judge_certificate(port, host, *tls.cert, now);
    out.insert(out.end(), cert.begin(), cert.end());
  }
  if (tls.resumed && *tls.resumed) {
    out.push_back(pass(port, "resumption", "TLS session resumption works"));
  } else {
    out.push_back(warn(port, "resumption",
                       "TLS sessions are not resumed: every connection pays a full handshake",
                       "Enable session tickets or a session cache on the server."));
  }
  return out;
}

std::vector<Finding> judge_pop3s(const CheckOptions& options, const PortFacts& facts,
                                 const PortFacts* pop3, std::int64_t now) {
  const std::string port = std::to_string(facts.port);
  std::vector<Finding> out;
  if (!facts.reachable) {
    const std::string why = "no connection (" + facts.connect_error + ")";
    if (!pop3 || !pop3->reachable) {
      out.push_back(fail(port, "connect", why, kFixUnreachable));
    } else if (pop3->tls && pop3->tls->handshake_ok) {
      out.push_back(warn(port, "connect", why + "; clients must rely on STLS", kFixEnable995));
    } else {
      out.push_back(
          fail(port, "connect", why + "; there is no encrypted POP3 port", kFixEnable995));
    }
    return out;
  }
  if (facts.cleartext) {
    out.push_back(
        fail(port, "cleartext",
             "answers in clear text " + quoted(facts.greeting) + " where clients expect TLS",
             "Make the listener on this port start with the TLS handshake (implicit "
             "TLS); plain POP3 belongs on 110 with STLS."));
    return out;
  }
  if (facts.greeting_ok) {
    out.push_back(pass(port, "connect", "POP3 over TLS, greeting " + quoted(facts.greeting)));
    out.push_back(judge_capa(port, facts.caps));
  } else if (facts.tls && facts.tls->handshake_ok) {
    out.push_back(fail(port, "connect", "TLS works but no POP3 greeting: " + quoted(facts.greeting),
                       "Check that a POP3 server listens behind TLS on this port."));
  }
  if (facts.tls) {
    auto tls = judge_tls(port, options.host, *facts.tls, now);
    out.insert(out.end(), tls.begin(), tls.end());
  }
  if (facts.greeting_ok) {
    auto leaks = judge_leaks(port, facts, facts.caps);
    out.insert(out.end(), leaks.begin(), leaks.end());
  }
  return out;
}

std::vector<Finding> judge_pop3(const CheckOptions& options, const PortFacts& facts,
                                const PortFacts* pop3s, std::int64_t now) {
  const std::string port = std::to_string(facts.port);
  std::vector<Finding> out;
  if (!facts.reachable) {
    const bool pop3s_ok = pop3s && pop3s->greeting_ok;
    out.push_back(pop3s_ok ? pass(port, "connect", "closed: no way to log in unencrypted here")
                           : fail(port, "connect", "no connection (" + facts.connect_error + ")",
                                  kFixUnreachable));
    return out;
  }
  if (!facts.greeting_ok) {
    out.push_back(fail(port, "connect", "no POP3 greeting: " + quoted(facts.greeting),
                       "Check that a POP3 server listens on this port."));
    return out;
  }
  out.push_back(pass(port, "connect", "POP3 greeting " + quoted(facts.greeting)));
  out.push_back(judge_capa(port, facts.caps));
  std::vector<std::string> before;
  if (facts.user_before_tls) before.emplace_back("USER/PASS");
  for (const auto& mechanism : facts.sasl_before_tls) before.push_back("AUTH " + mechanism);
  if (!before.empty()) {
    std::string list;
    for (const auto& item : before) list += (list.empty() ? "" : ", ") + item;
    out.push_back(fail(port, "plaintext-auth",
                       "accepts " + list +
                           " before TLS: a client that skips STLS sends the "
                           "password in clear text",
                       "Refuse USER/PASS and AUTH PLAIN/LOGIN until STLS has run (mailport: "
                       "auth.plaintext_auth = \"never\")."));
  } else {
    out.push_back(
        pass(port, "plaintext-auth", "refuses USER/PASS and AUTH PLAIN/LOGIN before TLS"));
  }
  const std::string stls_port = port + "+STLS";
  if (!facts.stls_offered) {
    out.push_back(
        fail(port, "stls", "STLS is not offered: clients on this port can only log in unencrypted",
             "Offer STLS (install a certificate), or close port " + port + " and serve only 995."));
  } else if (facts.tls && facts.tls->handshake_ok) {
    out.push_back(pass(port, "stls", "STLS is offered and upgrades the connection"));
    auto tls = judge_tls(stls_port, options.host, *facts.tls, now);
    out.insert(out.end(), tls.begin(), tls.end());
  } else {
    out.push_back(fail(port, "stls",
                       "STLS is offered but fails: " +
                           (facts.tls ? facts.tls->handshake_error : std::string("no TLS")),
                       "Fix the certificate and key used for STLS."));
  }
  auto leaks = judge_leaks(port, facts, facts.caps_tls ? facts.caps_tls : facts.caps);
  out.insert(out.end(), leaks.begin(), leaks.end());
  return out;
}

}  // namespace mailport::client
