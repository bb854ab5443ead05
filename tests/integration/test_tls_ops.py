"""TLS operations: certificates chosen by SNI (RSA and ECDSA side by side), session resumption
with rotating ticket keys, SIGHUP reloads without dropping sessions, and a testssl.sh audit of
both ports."""

import hashlib
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import threading
import time

import pytest

from conftest import RawClient, run

SNI_NAMES = ("mail.example.org", "pop.example.org")


def issue(pki, name, hosts, key="ec"):
    """A certificate for `hosts` signed by the test CA, with an EC P-256 or RSA 2048 key."""
    directory = pki.dir / "ops"
    directory.mkdir(exist_ok=True)
    cert, key_file = directory / f"{name}.pem", directory / f"{name}.key"
    csr, ext = directory / f"{name}.csr", directory / f"{name}.ext"
    if cert.exists():
        return cert, key_file
    ext.write_text("subjectAltName=" + ",".join(f"DNS:{h}" for h in hosts) +
                   "\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n")
    newkey = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"] if key == "ec" else \
        ["-newkey", "rsa:2048"]
    run(["openssl", "req", *newkey, "-nodes", "-keyout", key_file, "-out", csr,
         "-subj", f"/CN={hosts[0]}"])
    run(["openssl", "x509", "-req", "-in", csr, "-CA", pki.ca, "-CAkey", pki.ca_key,
         "-CAcreateserial", "-out", cert, "-days", "30", "-extfile", ext])
    return cert, key_file


def certificates_toml(pairs, rotation="1h"):
    entries = ", ".join(f'{{ cert = "{c}", key = "{k}" }}' for c, k in pairs)
    return f'[tls]\ncertificates = [{entries}]\nticket_key_rotation = "{rotation}"\n'


def peer_certificate(port, pki, server_name, ciphers=None, tls12=False):
    """(DER of the certificate the server presented, its key type) for this SNI name."""
    context = pki.client_context()
    context.check_hostname = False
    if tls12:
        context.maximum_version = ssl.TLSVersion.TLSv1_2
    if ciphers:
        context.set_ciphers(ciphers)
    with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
        with context.wrap_socket(raw, server_hostname=server_name) as tls:
            der = tls.getpeercert(binary_form=True)
    text = subprocess.run(["openssl", "x509", "-inform", "DER", "-noout", "-text"], input=der,
                          capture_output=True, check=True).stdout.decode()
    return der, "rsa" if "rsaEncryption" in text else "ec"


def der_of(path):
    return subprocess.run(["openssl", "x509", "-in", str(path), "-outform", "DER"],
                          capture_output=True, check=True).stdout


@pytest.fixture
def sni_server(make_server, pki):
    server = make_server()
    ec = issue(pki, "example-ec", SNI_NAMES)
    rsa = issue(pki, "example-rsa", SNI_NAMES, key="rsa")
    wildcard = issue(pki, "wildcard", ("*.example.net",))
    config = server.write_config(certificates_toml([ec, rsa, wildcard]))
    server.args = ["--config", str(config)]
    server.start()
    return server, {"ec": ec, "rsa": rsa, "wildcard": wildcard}


def test_sni_picks_the_certificate_for_the_requested_name(sni_server, pki):
    server, certs = sni_server
    for name in SNI_NAMES:
        der, _ = peer_certificate(server.pop3s_port, pki, name)
        assert der in (der_of(certs["ec"][0]), der_of(certs["rsa"][0]))
    der, _ = peer_certificate(server.pop3s_port, pki, "imap.example.net")
    assert der == der_of(certs["wildcard"][0])
    # No name, or a name no certificate lists: the default certificate.
    for name in ("localhost", "unknown.example.com"):
        der, _ = peer_certificate(server.pop3s_port, pki, name)
        assert der == der_of(pki.cert)
    # A wildcard covers exactly one label.
    der, _ = peer_certificate(server.pop3s_port, pki, "a.b.example.net")
    assert der == der_of(pki.cert)


def test_rsa_and_ecdsa_certificates_serve_the_same_name(sni_server, pki):
    server, certs = sni_server
    der, kind = peer_certificate(server.pop3s_port, pki, "mail.example.org",
                                 ciphers="ECDHE-RSA-AES128-GCM-SHA256", tls12=True)
    assert kind == "rsa" and der == der_of(certs["rsa"][0])
    der, kind = peer_certificate(server.pop3s_port, pki, "mail.example.org",
                                 ciphers="ECDHE-ECDSA-AES128-GCM-SHA256", tls12=True)
    assert kind == "ec" and der == der_of(certs["ec"][0])


def test_sni_works_after_stls_too(sni_server, pki):
    server, certs = sni_server
    c = server.raw()
    c.line()
    assert c.cmd("STLS").startswith(b"+OK")
    context = pki.client_context()
    context.check_hostname = False
    c.sock = context.wrap_socket(c.sock, server_hostname="pop.example.org")
    assert c.sock.getpeercert(binary_form=True) in (der_of(certs["ec"][0]),
                                                     der_of(certs["rsa"][0]))
    assert c.cmd("CAPA").startswith(b"+OK")


def resumed_connection(port, context, session=None):
    """Connects (offering `session`), reads the greeting so that TLS 1.3 tickets arrive, and
    returns (session, reused)."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
        with context.wrap_socket(raw, server_hostname="localhost", session=session) as tls:
            client = RawClient(tls)
            assert client.line().startswith(b"+OK")
            client.cmd("QUIT")
            return tls.session, tls.session_reused


@pytest.mark.parametrize("version", [ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3])
def test_sessions_resume_with_tickets_that_expire(make_server, pki, version):
    server = make_server()
    server.args = ["--config", str(server.write_config(certificates_toml([], rotation="1s")))]
    server.start()
    context = pki.client_context()
    context.minimum_version = context.maximum_version = version
    session, reused = resumed_connection(server.pop3s_port, context)
    assert not reused and session is not None and session.has_ticket
    _, reused = resumed_connection(server.pop3s_port, context, session)
    assert reused
    # A ticket is accepted for at most two rotation periods (here 2 s).
    time.sleep(2.5)
    _, reused = resumed_connection(server.pop3s_port, context, session)
    assert not reused


def test_no_tickets_when_rotation_is_zero(make_server, pki):
    server = make_server()
    server.args = ["--config", str(server.write_config(certificates_toml([], rotation="0s")))]
    server.start()
    context = pki.client_context()
    context.maximum_version = ssl.TLSVersion.TLSv1_2
    session, _ = resumed_connection(server.pop3s_port, context)
    assert not session.has_ticket


def own_certificate(server, pki, name="renewable"):
    """A copy of a fresh certificate under the server's directory, passed as --cert/--key."""
    cert, key = pki.issue(name)
    mine_cert, mine_key = server.tmp / "cert.pem", server.tmp / "key.pem"
    shutil.copy(cert, mine_cert)
    shutil.copy(key, mine_key)
    return mine_cert, mine_key


def reload(server, expect):
    before = server.log().count("reload")
    server.proc.send_signal(signal.SIGHUP)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        log = server.log()
        if log.count("reload") > before and expect in log:
            return log
        time.sleep(0.05)
    raise AssertionError(f"no {expect!r} after SIGHUP:\n{server.log()}")


def test_sighup_renews_the_certificate_without_dropping_sessions(make_server, pki):
    server = make_server()
    cert, key = own_certificate(server, pki)
    server.args = ["--cert", str(cert), "--key", str(key)]
    server.mail.add("alice", b"Subject: kept\n\nbody\n")
    server.start()
    old = server.raw(tls=True)
    old.line()
    old.login()
    stls = server.raw()
    stls.line()
    assert stls.cmd("STLS").startswith(b"+OK")
    stls.starttls(pki.client_context())
    stls.login("bob", "bobpw")

    renewed_cert, renewed_key = pki.issue("renewed")
    shutil.copy(renewed_cert, cert)
    shutil.copy(renewed_key, key)
    # The users file is re-read when it changes, with or without the signal.
    server.passwd.write_text(server.passwd.read_text() + "carol:{PLAIN}carolpw\n")
    reload(server, "reloaded:")

    der, _ = peer_certificate(server.pop3s_port, pki, "localhost")
    assert der == der_of(renewed_cert)
    fresh = server.raw(tls=True)
    fresh.line()
    fresh.login("carol", "carolpw")
    # Sessions opened before the reload carry on, on their old certificate.
    assert old.cmd("STAT").startswith(b"+OK 1 ")
    assert old.cmd("RETR 1").startswith(b"+OK")
    assert b"kept" in old.multiline()
    assert old.cmd("QUIT").startswith(b"+OK")
    assert stls.cmd("STAT").startswith(b"+OK")
    assert stls.cmd("QUIT").startswith(b"+OK")


def test_sighup_with_a_broken_certificate_keeps_the_running_one(make_server, pki):
    server = make_server()
    cert, key = own_certificate(server, pki, "stays")
    server.args = ["--cert", str(cert), "--key", str(key)]
    server.start()
    before, _ = peer_certificate(server.pop3s_port, pki, "localhost")
    cert.write_text("-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n")
    log = reload(server, "reload failed")
    assert "tls.cert" in log.split("reload failed", 1)[1]
    after, _ = peer_certificate(server.pop3s_port, pki, "localhost")
    assert after == before
    assert server.proc.poll() is None


def test_sighup_applies_session_settings_to_new_connections_only(make_server):
    server = make_server()
    config = server.write_config('[session]\ngreeting = "first greeting"\n')
    server.args = ["--config", str(config)]
    server.start()
    old = server.raw()
    assert old.line() == b"+OK first greeting"
    config.write_text('[session]\ngreeting = "second greeting"\n[limits]\nmax_connections = 7\n'
                      '[auth]\nfailure_delay = "3s"\n')
    log = reload(server, "reloaded:")
    assert "limits changed; it takes effect after a restart" in log
    # failure_delay also comes from a flag (--failure-delay 0s), which still wins: no warning.
    assert "auth.failure_delay changed" not in log
    assert server.raw().line() == b"+OK second greeting"
    assert old.cmd("CAPA").startswith(b"+OK")


def test_sighup_with_a_broken_configuration_keeps_serving(make_server):
    server = make_server()
    config = server.write_config('[session]\ngreeting = "still here"\n')
    server.args = ["--config", str(config)]
    server.start()
    config.write_text('[session]\ngreeting = "x"\nunknown_key = 1\n')
    log = reload(server, "reload failed")
    assert "unknown_key" in log.split("reload failed", 1)[1]
    assert server.raw().line() == b"+OK still here"


# --- testssl.sh -------------------------------------------------------------------------------

WEAK_CIPHER_CLASSES = ("cipherlist_NULL", "cipherlist_aNULL", "cipherlist_EXPORT",
                       "cipherlist_LOW", "cipherlist_3DES_IDEA", "cipherlist_AVERAGE")
OLD_PROTOCOLS = ("SSLv2", "SSLv3", "TLS1", "TLS1_1")


def run_testssl(target, starttls, out):
    """Protocols, cipher classes, renegotiation and the vulnerability checks; flat JSON out."""
    cmd = ["testssl", "--quiet", "--color", "0", "--warnings", "off", "--ip", "one",
           "--openssl-timeout", "10", "--jsonfile", str(out), "-p", "-s", "-R", "-U"]
    if starttls:
        cmd += ["--starttls", "pop3"]
    return subprocess.Popen(cmd + [target], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


@pytest.mark.skipif(not shutil.which("testssl"), reason="testssl.sh is not installed "
                    "(Debian package testssl.sh; ./dev.sh installs it)")
def test_testssl_finds_nothing_on_either_port(make_server, pki, tmp_path):
    server = make_server()
    rsa = issue(pki, "localhost-rsa", ("localhost",), key="rsa")
    server.args = ["--config", str(server.write_config(certificates_toml([rsa])))]
    server.start()
    scans = {
        "pop3s": (tmp_path / "pop3s.json", False, server.pop3s_port),
        "pop3": (tmp_path / "pop3.json", True, server.pop3_port),
    }
    procs = {name: run_testssl(f"127.0.0.1:{port}", starttls, out)
             for name, (out, starttls, port) in scans.items()}
    outputs = {}
    for name, proc in procs.items():
        try:
            outputs[name] = proc.communicate(timeout=420)[0].decode(errors="replace")
        except subprocess.TimeoutExpired:
            proc.kill()
            pytest.fail(f"testssl on {name} took longer than 7 minutes")
    for name, (out, _, _) in scans.items():
        findings = json.loads(out.read_text())
        by_id = {f["id"]: f for f in findings}
        assert "scanProblem" not in by_id, outputs[name]
        bad = [f for f in findings if f["severity"] in ("HIGH", "CRITICAL")]
        assert not bad, (name, bad)
        for protocol in OLD_PROTOCOLS:
            assert by_id[protocol]["finding"].startswith("not offered"), (name, by_id[protocol])
        assert by_id["TLS1_2"]["finding"].startswith("offered")
        for cipher_class in WEAK_CIPHER_CLASSES:
            assert by_id[cipher_class]["finding"] == "not offered", (name, by_id[cipher_class])
        assert by_id["secure_renego"]["severity"] == "OK", (name, by_id["secure_renego"])
        assert by_id["secure_client_renego"]["severity"] == "OK", by_id["secure_client_renego"]
        for vulnerability in ("heartbleed", "CCS", "ROBOT", "POODLE_SSL", "SWEET32", "FREAK",
                              "DROWN", "LOGJAM", "BEAST", "LUCKY13", "RC4", "CRIME_TLS"):
            assert by_id[vulnerability]["severity"] in ("OK", "INFO"), (name, by_id[vulnerability])
    assert server.proc.poll() is None
