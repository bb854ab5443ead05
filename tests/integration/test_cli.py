"""The command line: embedded default, user management without restart, config errors."""

import os
import re
import subprocess
import time

from conftest import BIN, RawClient, Server, crlf


def mailport(*args, input=None, env=None, timeout=60):
    return subprocess.run([BIN, *args], input=input, capture_output=True, timeout=timeout,
                          env=env)


def test_version_and_help():
    out = mailport("--version")
    assert out.returncode == 0 and out.stdout.startswith(b"mailport ")
    for sub in ("serve", "user", "hash", "config"):
        assert mailport(sub, "--help").returncode == 0


def test_embedded_default_serves_the_welcome_message(tmp_path, curl):
    env = dict(os.environ, MAILPORT_HOME=str(tmp_path / "data"))
    # Ports overridden so the test never collides with anything on 110/995.
    proc = subprocess.Popen([BIN, "serve", "--pop3", "127.0.0.1:0", "--pop3s", "127.0.0.1:0"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    try:
        out = b""
        deadline = time.monotonic() + 30
        while b"curl --cacert" not in out and time.monotonic() < deadline:
            chunk = proc.stdout.readline()
            if not chunk:
                break
            out += chunk
        text = out.decode()
        password = re.search(r"password:\s+(\S+)", text).group(1)
        port = re.search(r"POP3S:\s+(\d+)", text).group(1)
        cert = tmp_path / "data" / "tls" / "cert.pem"
        assert cert.exists()
        fetched = subprocess.run([curl, "-sS", "--cacert", str(cert), "--user",
                                  f"demo:{password}", f"pop3s://127.0.0.1:{port}/1"],
                                 capture_output=True, timeout=30)
        assert fetched.returncode == 0, fetched.stderr
        assert b"Subject: Welcome to mailport" in fetched.stdout
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    # A second start reuses the data directory and prints the same password.
    proc = subprocess.Popen([BIN, "serve", "--pop3", "off", "--pop3s", "127.0.0.1:0"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    try:
        again = b""
        while b"password:" not in again:
            line = proc.stdout.readline()
            if not line:
                break
            again += line
        assert password.encode() in again
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_user_add_takes_effect_without_restart(server, pki):
    server.start()
    out = mailport("user", "add", "carol", "--passwd", str(server.passwd), "--scheme",
                   "SHA512-CRYPT", input=b"carol secret\n")
    assert out.returncode == 0, out.stderr
    assert "secret" not in server.passwd.read_text()
    c = server.raw(tls=True)
    c.line()
    c.login("carol", "carol secret")
    listed = mailport("user", "list", "--passwd", str(server.passwd))
    assert listed.stdout.split() == [b"alice", b"bob", b"carol"]
    assert mailport("user", "add", "carol", "--passwd", str(server.passwd),
                    input=b"x\n").returncode != 0


def test_user_passwd_and_del(server, pki):
    server.start()
    assert mailport("user", "passwd", "alice", "--passwd", str(server.passwd),
                    input=b"newpw\n").returncode == 0
    c = server.raw(tls=True)
    c.line()
    c.login("alice", "newpw")
    assert mailport("user", "del", "bob", "--passwd", str(server.passwd)).returncode == 0
    c = server.raw(tls=True)
    c.line()
    c.cmd("USER bob")
    assert c.cmd("PASS bobpw").startswith(b"-ERR [AUTH]")
    missing = mailport("user", "del", "nobody", "--passwd", str(server.passwd))
    assert missing.returncode != 0 and b"nobody" in missing.stderr


def test_hash_prints_a_verifiable_hash():
    out = mailport("hash", "--scheme", "SHA512-CRYPT", input=b"pw\n")
    assert out.returncode == 0
    assert out.stdout.startswith(b"{SHA512-CRYPT}$6$")
    bad = mailport("hash", "--scheme", "ROT13", input=b"pw\n")
    assert bad.returncode != 0 and b"--scheme" in bad.stderr


def test_bad_flag_values_are_named(tmp_path, pki):
    server = Server(tmp_path, pki, args=["--pop3", "127.0.0.1:99999"])
    out = mailport(*server.command()[1:], timeout=30)
    assert out.returncode != 0
    assert b"--pop3" in out.stderr
    out = mailport(*Server(tmp_path, pki, args=["--plaintext-auth", "sometimes"]).command()[1:])
    assert out.returncode != 0 and b"--plaintext-auth" in out.stderr


def test_bad_config_file_names_file_line_and_key(tmp_path):
    config = tmp_path / "bad.toml"
    config.write_text('[listen]\npop3s = "127.0.0.1:995"\n\n[auth]\nplaintext_auth = "maybe"\n')
    out = mailport("serve", "--config", str(config))
    assert out.returncode == 78
    assert f"{config}:5".encode() in out.stderr and b"auth.plaintext_auth" in out.stderr
    out = mailport("config", "check", "--config", str(config))
    assert out.returncode == 78 and f"{config}:5".encode() in out.stderr


def test_mismatched_key_and_certificate_fail_at_start(tmp_path, pki):
    _, other_key = pki.issue("other")
    server = Server(tmp_path, pki, args=["--key", str(other_key)])
    out = mailport(*server.command()[1:], timeout=30)
    assert out.returncode != 0
    assert b"does not match" in out.stderr or b"key" in out.stderr
