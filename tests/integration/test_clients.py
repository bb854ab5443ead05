"""Real clients (Python poplib, curl) fetch messages byte for byte over POP3S and POP3+STLS."""

import poplib
import subprocess

import pytest

from conftest import crlf

MESSAGES = [
    b"From: a@example.org\nSubject: one\n\nHello\n.\n..two dots\n.leading dot\nend\n",
    b"From: b@example.org\r\nSubject: crlf\r\n\r\nCRLF body\r\n",
    b"Subject: utf8\n\nGr\xc3\xbc\xc3\x9fe aus K\xc3\xb6ln\n" + b"x" * 998 + b"\n",
    b"Subject: headers only\n",
]


def fill(server, user="alice"):
    for m in MESSAGES:
        server.mail.add(user, m)


def poplib_fetch(client):
    client.user("alice")
    client.pass_("alicepw")
    count, size = client.stat()
    assert count == len(MESSAGES)
    assert size == sum(len(crlf(m)) for m in MESSAGES)
    got = []
    for i in range(1, count + 1):
        resp, lines, octets = client.retr(i)
        assert resp.startswith(b"+OK")
        got.append(b"\r\n".join(lines) + b"\r\n")
    client.quit()
    return got


def test_poplib_pop3s_fetches_every_message_byte_exact(server, pki):
    fill(server)
    server.start()
    client = poplib.POP3_SSL("127.0.0.1", server.pop3s_port, context=pki.client_context(),
                             timeout=10)
    got = poplib_fetch(client)
    assert got == [crlf(m) if crlf(m).endswith(b"\r\n") else crlf(m) + b"\r\n" for m in MESSAGES]


def test_poplib_stls_fetches_every_message_byte_exact(server, pki):
    fill(server)
    server.start()
    client = poplib.POP3("127.0.0.1", server.pop3_port, timeout=10)
    assert "STLS" in client.capa()
    client.stls(context=pki.client_context())
    assert "STLS" not in client.capa()
    got = poplib_fetch(client)
    assert got == [crlf(m) if crlf(m).endswith(b"\r\n") else crlf(m) + b"\r\n" for m in MESSAGES]


def curl_cmd(curl, pki, url, *extra):
    return [curl, "-sS", "--cacert", str(pki.ca), "--user", "alice:alicepw", *extra, url]


def test_curl_pop3s_retr_and_list(server, pki, curl):
    fill(server)
    server.start()
    base = f"pop3s://localhost:{server.pop3s_port}"
    out = subprocess.run(curl_cmd(curl, pki, f"{base}/1"), capture_output=True, timeout=30)
    assert out.returncode == 0, out.stderr
    assert out.stdout == crlf(MESSAGES[0])
    listing = subprocess.run(curl_cmd(curl, pki, f"{base}/"), capture_output=True, timeout=30)
    assert listing.returncode == 0, listing.stderr
    expected = "".join(f"{i} {len(crlf(m))}\r\n" for i, m in enumerate(MESSAGES, 1))
    assert listing.stdout.decode() == expected


def test_curl_pop3_with_ssl_reqd(server, pki, curl):
    fill(server)
    server.start()
    url = f"pop3://localhost:{server.pop3_port}/2"
    out = subprocess.run(curl_cmd(curl, pki, url, "--ssl-reqd"), capture_output=True, timeout=30)
    assert out.returncode == 0, out.stderr
    assert out.stdout == crlf(MESSAGES[1])


def test_curl_dele_removes_after_quit(server, pki, curl):
    fill(server)
    server.start()
    url = f"pop3s://localhost:{server.pop3s_port}/1"
    out = subprocess.run(curl_cmd(curl, pki, url, "-X", "DELE", "-I"), capture_output=True,
                         timeout=30)
    assert out.returncode == 0, out.stderr
    assert server.wait_log(r"event=disconnect.*deleted=1")
    assert len(server.mail.files("alice")) == len(MESSAGES) - 1
    assert crlf(MESSAGES[0]) not in [crlf(c) for c in server.mail.contents("alice")]


def test_curl_verification_fails_against_wrong_ca(server, pki, curl, tmp_path):
    server.start()
    # The system CA store does not know the test CA: a verifying client must refuse.
    url = f"pop3s://localhost:{server.pop3s_port}/"
    out = subprocess.run([curl, "-sS", "--user", "alice:alicepw", url], capture_output=True,
                         timeout=30)
    assert out.returncode != 0


@pytest.mark.parametrize("mech", ["PLAIN", "LOGIN"])
def test_curl_sasl_mechanisms(server, pki, curl, mech):
    fill(server)
    server.start()
    url = f"pop3s://localhost:{server.pop3s_port}/1"
    out = subprocess.run(curl_cmd(curl, pki, url, "--login-options", f"AUTH={mech}"),
                         capture_output=True, timeout=30)
    assert out.returncode == 0, out.stderr
    assert out.stdout == crlf(MESSAGES[0])
    assert server.wait_log(rf"event=login result=ok user=\"alice\" mech={mech}")
