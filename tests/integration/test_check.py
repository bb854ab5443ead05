"""`mailport check`: the audit against mailport in several configurations, against Dovecot, and
against small fake servers for the misconfigurations neither of them allows (TLS 1.0, plaintext
on the TLS port, no STLS)."""

import json
import socket

import pytest

from client_util import (FakePop3, issue_with_dates, legacy_tls_context, mailport,
                         modern_tls_context, self_signed)
from support import dovecot


def check(host, pop3s_port, pop3_port, *extra):
    out = mailport("check", host, "--pop3s-port", str(pop3s_port), "--pop3-port",
                   str(pop3_port), "--json", *extra)
    report = json.loads(out.stdout)
    assert report["exit_status"] == out.returncode, out.stdout
    return out.returncode, report


def findings(report, port=None, check=None):
    return [f for f in report["findings"]
            if (port is None or f["port"] == str(port)) and (check is None or f["check"] == check)]


def severity(report, port, check_id):
    found = findings(report, port, check_id)
    assert len(found) == 1, (port, check_id, report)
    return found[0]["severity"]


def non_passing(report):
    return [(f["port"], f["check"], f["severity"]) for f in report["findings"]
            if f["severity"] != "PASS"]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_default_server_passes_every_check(server, pki):
    server.start()
    code, report = check("localhost", server.pop3s_port, server.pop3_port, "--cafile", pki.ca)
    assert code == 0, non_passing(report)
    assert non_passing(report) == []
    s, p = server.pop3s_port, server.pop3_port
    for check_id in ("connect", "capa", "tls-versions", "cipher", "weak-ciphers", "certificate",
                     "hostname", "expiry", "key", "resumption", "version-leak"):
        assert severity(report, s, check_id) == "PASS"
    for check_id in ("connect", "capa", "plaintext-auth", "stls", "version-leak"):
        assert severity(report, p, check_id) == "PASS"
    # Before TLS the server lists STLS but no way to send a password in clear text.
    capa = findings(report, p, "capa")[0]["explanation"].split()
    assert "STLS" in capa and "USER" not in capa
    assert not any("PLAIN" in word or "LOGIN" in word for word in capa), capa
    assert "SASL(" in findings(report, s, "capa")[0]["explanation"]
    assert severity(report, f"{p}+STLS", "tls-versions") == "PASS"
    versions = findings(report, s, "tls-versions")[0]["explanation"]
    assert "TLS 1.2" in versions and "TLS 1.3" in versions and "TLS 1.0" not in versions
    assert "TLS 1.3" in findings(report, s, "cipher")[0]["explanation"]
    assert "resumption works" in findings(report, s, "resumption")[0]["explanation"]


def test_table_fits_one_screen_and_shows_fixes(server, pki):
    server.start()
    out = mailport("check", "localhost", "--pop3s-port", str(server.pop3s_port),
                   "--pop3-port", str(server.pop3_port))
    assert out.returncode == 2  # the test CA is not trusted without --cafile
    text = out.stdout.decode()
    assert text.startswith("mailport check localhost\n")
    assert "FAIL   does not verify: unable to get local issuer certificate" in text
    assert "fix: Install a certificate from a CA that clients trust" in text
    assert f"{server.pop3_port}+STLS  tls" in text and "same 8 TLS results as port" in text
    assert len(text.splitlines()) <= 30
    assert text.rstrip().endswith("(exit status 2)")


def test_plaintext_logins_before_tls_fail(make_server, pki):
    server = make_server(args=["--plaintext-auth", "always"])
    server.start()
    code, report = check("localhost", server.pop3s_port, server.pop3_port, "--cafile", pki.ca)
    assert code == 2
    assert non_passing(report) == [(str(server.pop3_port), "plaintext-auth", "FAIL")]
    finding = findings(report, server.pop3_port, "plaintext-auth")[0]
    assert "USER/PASS" in finding["explanation"] and "AUTH PLAIN" in finding["explanation"]
    assert "plaintext_auth" in finding["fix"]


def test_self_signed_certificate(make_server, pki, tmp_path):
    cert, key = self_signed(tmp_path)
    server = make_server(args=["--cert", str(cert), "--key", str(key)])
    server.start()
    code, report = check("localhost", server.pop3s_port, server.pop3_port)
    assert code == 2
    assert severity(report, server.pop3s_port, "certificate") == "FAIL"
    assert "self-signed" in findings(report, server.pop3s_port, "certificate")[0]["explanation"]
    assert severity(report, server.pop3s_port, "hostname") == "PASS"
    # Trusting it explicitly is how a private set-up passes.
    code, report = check("localhost", server.pop3s_port, server.pop3_port, "--cafile", cert)
    assert severity(report, server.pop3s_port, "certificate") == "PASS"


def test_expired_certificate(make_server, pki):
    cert, key = issue_with_dates(pki, "expired", "20200101000000Z", "20200301000000Z")
    server = make_server(args=["--cert", str(cert), "--key", str(key)])
    server.start()
    code, report = check("localhost", server.pop3s_port, server.pop3_port, "--cafile", pki.ca)
    assert code == 2
    expiry = findings(report, server.pop3s_port, "expiry")[0]
    assert expiry["severity"] == "FAIL" and "expired" in expiry["explanation"]
    assert "Renew" in expiry["fix"]
    chain = findings(report, server.pop3s_port, "certificate")[0]
    assert chain["severity"] == "FAIL" and "expired" in chain["explanation"]


def test_certificate_for_another_host(make_server, pki):
    cert, key = pki.issue("otherhost", hosts=("mail.example.org",), ips=())
    server = make_server(args=["--cert", str(cert), "--key", str(key)])
    server.start()
    code, report = check("localhost", server.pop3s_port, server.pop3_port, "--cafile", pki.ca)
    assert code == 2
    hostname = findings(report, server.pop3s_port, "hostname")[0]
    assert hostname["severity"] == "FAIL"
    assert "mail.example.org, not localhost" in hostname["explanation"]
    assert severity(report, server.pop3s_port, "certificate") == "PASS"


def test_certificate_close_to_expiry_is_a_warning(make_server, pki):
    cert, key = pki.issue("short", days="10")
    server = make_server(args=["--cert", str(cert), "--key", str(key)])
    server.start()
    code, report = check("localhost", server.pop3s_port, server.pop3_port, "--cafile", pki.ca)
    assert code == 1, non_passing(report)
    assert severity(report, server.pop3s_port, "expiry") == "WARN"


def test_version_leak_and_apop(make_server, pki, tmp_path):
    config = tmp_path / "leaky.toml"
    config.write_text('[auth]\napop = true\n[session]\nimplementation = "mailport 0.1.0"\n')
    server = make_server(args=["--config", str(config)])
    server.start()
    code, report = check("localhost", server.pop3s_port, server.pop3_port, "--cafile", pki.ca)
    assert code == 1, non_passing(report)
    leak = findings(report, server.pop3s_port, "version-leak")[0]
    assert leak["severity"] == "WARN" and "IMPLEMENTATION mailport 0.1.0" in leak["explanation"]
    assert severity(report, server.pop3s_port, "apop") == "WARN"


def test_nothing_listening_is_exit_3():
    code, report = check("127.0.0.1", free_port(), free_port())
    assert code == 3
    assert report["connected"] is False


def test_only_port_995_open_closes_110_cleanly(make_server, pki):
    server = make_server(args=["--pop3", "off"])
    server.start()
    code, report = check("localhost", server.pop3s_port, free_port(), "--cafile", pki.ca)
    assert code == 0, non_passing(report)


def test_legacy_tls_versions_fail(pki):
    with FakePop3(tls=legacy_tls_context(pki.cert, pki.key)) as fake:
        code, report = check("localhost", fake.port, 0, "--cafile", pki.ca)
    assert code == 2
    versions = findings(report, fake.port, "tls-versions")[0]
    assert versions["severity"] == "FAIL"
    assert "TLS 1.0" in versions["explanation"] and "TLS 1.1" in versions["explanation"]
    assert "min_version" in versions["fix"]


def test_cleartext_on_the_tls_port_fails():
    with FakePop3() as fake:
        code, report = check("localhost", fake.port, 0)
    assert code == 2
    assert [f["check"] for f in report["findings"]] == ["cleartext"]
    assert "+OK" not in report["findings"][0]["explanation"]
    assert "POP3 ready" in report["findings"][0]["explanation"]


def test_port_110_without_stls_fails_and_user_probe_sends_no_password(pki):
    with FakePop3() as fake:
        code, report = check("localhost", 0, fake.port)
        commands = list(fake.commands)
    assert code == 2
    assert severity(report, fake.port, "stls") == "FAIL"
    assert severity(report, fake.port, "plaintext-auth") == "FAIL"
    assert "PASS" not in commands and "USER" in commands


def test_version_in_greeting_and_apop_timestamp(pki):
    greeting = "+OK Example POP3 server 4.2.1 ready <1234.5678@mail.example.org>"
    with FakePop3(tls=modern_tls_context(pki.cert, pki.key), greeting=greeting) as fake:
        code, report = check("localhost", fake.port, 0, "--cafile", pki.ca)
    assert severity(report, fake.port, "version-leak") == "WARN"
    assert severity(report, fake.port, "apop") == "WARN"
    assert code == 1, non_passing(report)


@pytest.fixture
def dovecot_server(tmp_path, pki):
    if not dovecot.available():
        pytest.skip("dovecot is not installed (./dev.sh installs dovecot-pop3d)")
    servers = []

    def start(**kwargs):
        d = dovecot.DovecotServer(tmp_path / f"dovecot{len(servers)}",
                                  users={"alice": "{PLAIN}alicepw"}, cert=pki.cert, key=pki.key,
                                  **kwargs)
        servers.append(d)
        return d.start()

    yield start
    for d in servers:
        d.stop()


def test_dovecot_tls_and_stls(dovecot_server, pki):
    d = dovecot_server()
    code, report = check("localhost", d.pop3s_port, d.pop3_port, "--cafile", pki.ca)
    for port in (str(d.pop3s_port), f"{d.pop3_port}+STLS"):
        for check_id in ("tls-versions", "cipher", "weak-ciphers", "certificate", "hostname",
                         "expiry", "key"):
            assert severity(report, port, check_id) == "PASS", (port, check_id, report)
    assert severity(report, d.pop3_port, "stls") == "PASS"
    assert severity(report, d.pop3s_port, "version-leak") == "PASS"
    # That server counts a client whose address equals its own (any loopback client) as
    # secure and takes its password before STLS; check reports what a client there sees.
    assert severity(report, d.pop3_port, "plaintext-auth") == "FAIL"
    assert code == 2


def test_dovecot_with_plaintext_auth(dovecot_server, pki):
    d = dovecot_server(plaintext_auth=True)
    code, report = check("localhost", d.pop3s_port, d.pop3_port, "--cafile", pki.ca)
    assert code == 2
    assert severity(report, d.pop3_port, "plaintext-auth") == "FAIL"
