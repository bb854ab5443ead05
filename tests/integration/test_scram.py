"""SASL SCRAM-SHA-256 / SCRAM-SHA-1 (RFC 5802, 7677) end to end, with a client written here
from the RFC (hashlib/hmac), against verifiers stored by `mailport user add --scheme`."""

import base64
import hashlib
import hmac
import os
import subprocess

import pytest

from conftest import BIN


class Scram:
    def __init__(self, user, password, algorithm):
        self.user, self.password = user, password
        self.digest = {"SCRAM-SHA-256": "sha256", "SCRAM-SHA-1": "sha1"}[algorithm]
        self.nonce = base64.b64encode(os.urandom(18)).decode()
        self.server_signature = None

    def first(self):
        return f"n,,n={self.user},r={self.nonce}"

    def final(self, server_first):
        attrs = dict(part.split("=", 1) for part in server_first.split(","))
        assert attrs["r"].startswith(self.nonce)
        salt = base64.b64decode(attrs["s"])
        salted = hashlib.pbkdf2_hmac(self.digest, self.password.encode(), salt, int(attrs["i"]))
        client_key = hmac.new(salted, b"Client Key", self.digest).digest()
        stored_key = hashlib.new(self.digest, client_key).digest()
        without_proof = f"c=biws,r={attrs['r']}"
        auth_message = f"n={self.user},r={self.nonce},{server_first},{without_proof}".encode()
        signature = hmac.new(stored_key, auth_message, self.digest).digest()
        proof = bytes(a ^ b for a, b in zip(client_key, signature))
        server_key = hmac.new(salted, b"Server Key", self.digest).digest()
        self.server_signature = base64.b64encode(
            hmac.new(server_key, auth_message, self.digest).digest()).decode()
        return f"{without_proof},p={base64.b64encode(proof).decode()}"


def b64(text):
    return base64.b64encode(text.encode()).decode()


def unb64(data):
    return base64.b64decode(data).decode()


def scram_login(client, mechanism, user, password):
    scram = Scram(user, password, mechanism)
    reply = client.cmd(f"AUTH {mechanism} {b64(scram.first())}")
    assert reply.startswith(b"+ "), reply
    reply = client.cmd(b64(scram.final(unb64(reply[2:]))))
    if reply.startswith(b"-ERR"):
        return reply
    assert reply.startswith(b"+ "), reply
    assert unb64(reply[2:]) == f"v={scram.server_signature}", "the server must prove itself"
    return client.cmd("")


def add_user(server, name, password, scheme):
    out = subprocess.run([BIN, "user", "add", name, "--passwd", str(server.passwd), "--scheme",
                          scheme], input=password.encode() + b"\n", capture_output=True)
    assert out.returncode == 0, out.stderr


@pytest.mark.parametrize("mechanism", ["SCRAM-SHA-256", "SCRAM-SHA-1"])
def test_scram_login_with_stored_verifier(server, mechanism):
    add_user(server, "carol", "c4rol pw", mechanism)
    assert "c4rol" not in server.passwd.read_text()
    server.mail.add("carol", b"Subject: s\n\nscram\n")
    server.start()
    c = server.raw(tls=True)
    c.line()
    assert c.cmd("CAPA").startswith(b"+OK")
    assert f"SASL PLAIN LOGIN SCRAM-SHA-256 SCRAM-SHA-1" in c.multiline().decode()
    assert scram_login(c, mechanism, "carol", "c4rol pw").startswith(b"+OK")
    assert c.cmd("STAT").startswith(b"+OK 1 ")
    assert server.wait_log(rf"event=login result=ok user=\"carol\" mech={mechanism}")


def test_scram_with_plain_stored_password_and_wrong_password(server):
    server.start()
    c = server.raw(tls=True)
    c.line()
    reply = scram_login(c, "SCRAM-SHA-256", "alice", "wrong")
    assert reply == b"-ERR [AUTH] Authentication failed."
    assert scram_login(c, "SCRAM-SHA-256", "alice", "alicepw").startswith(b"+OK")


def test_scram_unknown_user_fails_like_a_wrong_password(server):
    server.start()
    replies = []
    for user in ("alice", "nobody"):
        c = server.raw(tls=True)
        c.line()
        replies.append(scram_login(c, "SCRAM-SHA-256", user, "wrong"))
    assert replies[0] == replies[1] == b"-ERR [AUTH] Authentication failed."


def test_scram_is_offered_before_tls_but_plaintext_mechanisms_are_not(server):
    server.start()
    c = server.raw()
    c.line()
    c.cmd("CAPA")
    sasl = [l for l in c.multiline().decode().split("\r\n") if l.startswith("SASL")]
    assert sasl == ["SASL SCRAM-SHA-256 SCRAM-SHA-1"]


def test_scram_cancel_and_malformed_messages(server):
    server.start()
    c = server.raw(tls=True)
    c.line()
    assert c.cmd("AUTH SCRAM-SHA-256").startswith(b"+ ")
    assert c.cmd("*").startswith(b"-ERR")
    assert c.cmd(f"AUTH SCRAM-SHA-256 {b64('x,,garbage')}").startswith(b"-ERR")
    assert scram_login(c, "SCRAM-SHA-256", "alice", "alicepw").startswith(b"+OK")
