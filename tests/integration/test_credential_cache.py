"""auth.credential_cache_ttl: a repeated login with the same password skips the slow hash; a
wrong password, a changed password or a cache that is off always runs the full check. The
server's debug log names every full hash check (event=password-check), which is what is counted
here: no timing assertion."""

import subprocess

from conftest import BIN


def argon2id(password):
    return subprocess.run([BIN, "hash", "--scheme", "ARGON2ID"], input=password.encode() + b"\n",
                          capture_output=True, check=True).stdout.decode().strip()


def start(make_server, ttl):
    server = make_server()
    server.passwd.write_text(f"alice:{argon2id('alicepw')}\nbob:{{PLAIN}}bobpw\n")
    server.args = ["--config", str(server.write_config(f"[auth]\ncredential_cache_ttl = {ttl}\n")),
                   "--plaintext-auth", "loopback"]
    return server.start()


def session(server, password="alicepw", tls=True):
    c = server.raw(tls=tls)
    c.line()
    assert c.cmd("USER alice").startswith(b"+OK")
    reply = c.cmd(f"PASS {password}")
    if reply.startswith(b"+OK"):
        assert c.cmd("STAT").startswith(b"+OK")
    assert c.cmd("QUIT").startswith(b"+OK")
    c.close()
    return reply


def hash_checks(server):
    return server.log().count("event=password-check scheme=ARGON2ID")


def test_second_login_does_not_rerun_the_hash(make_server):
    server = start(make_server, '"60s"')
    assert session(server).startswith(b"+OK")
    assert server.wait_log(r"event=disconnect user=\"alice\"")
    assert hash_checks(server) == 1
    assert session(server).startswith(b"+OK")
    assert session(server, tls=False).startswith(b"+OK")
    assert server.log().count("event=credential-cache result=hit") == 2
    assert hash_checks(server) == 1


def test_wrong_or_changed_password_runs_the_full_check(make_server):
    server = start(make_server, '"60s"')
    assert session(server).startswith(b"+OK")
    assert session(server, password="alicepX").startswith(b"-ERR [AUTH]")
    assert hash_checks(server) == 2
    # The admin sets a new password: the cached pair must not let the old one in.
    server.passwd.write_text(f"alice:{argon2id('newpw')}\nbob:{{PLAIN}}bobpw\n")
    assert session(server).startswith(b"-ERR [AUTH]")
    assert hash_checks(server) == 3
    assert session(server, password="newpw").startswith(b"+OK")
    assert session(server, password="newpw").startswith(b"+OK")
    assert hash_checks(server) == 4


def test_cache_is_off_by_default(make_server):
    server = start(make_server, 0)
    assert session(server).startswith(b"+OK")
    assert session(server).startswith(b"+OK")
    assert hash_checks(server) == 2
    assert "credential-cache" not in server.log()
