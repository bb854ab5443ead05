"""Brute force and floods: growing per-address delays, bans, connection caps, trusted networks,
and the automatic rehash of weak password hashes."""

import os
import subprocess
import threading
import time

import pytest

from conftest import BIN, RawClient

# Under ASan a hash check takes seconds and varies by as much: the timing comparisons below mean
# nothing there (the normal build runs them; the sanitizer run is about memory and UB).
timing_sensitive = pytest.mark.skipif(os.environ.get("MAILPORT_SANITIZED") == "1",
                                      reason="timings are meaningless in a sanitizer build")

# Short figures so the test runs in seconds; the defaults are documented in configuration.md.
ABUSE = """
[auth]
failure_delay = "100ms"
max_failure_delay = "300ms"
ban_after_failures = {ban}
failure_window = "10m"
ban_duration = "10m"
max_attempts = 100
trusted_networks = [{trusted}]
rehash = {rehash}
[limits]
max_connections_per_ip = {per_ip}
[session]
max_bad_commands = 1000
"""


def config(server, ban=0, trusted="", per_ip=50, rehash="false"):
    path = server.tmp / "abuse.toml"
    path.write_text(ABUSE.format(ban=ban, trusted=trusted, per_ip=per_ip, rehash=rehash))
    # The config's own failure_delay must win over the fixture's --failure-delay 0s.
    return ["--config", str(path), "--failure-delay", "100ms"]


def failed_login(client, user="alice", password="wrong"):
    client.cmd(f"USER {user}")
    started = time.monotonic()
    reply = client.cmd(f"PASS {password}")
    return reply, time.monotonic() - started


def test_wrong_passwords_slow_that_address_down_without_slowing_others(make_server):
    server = make_server(args=[])
    server.args = config(server)
    server.start()
    attacker = server.raw(tls=True, source="127.0.0.2")
    attacker.line()
    delays = []
    for _ in range(30):
        reply, took = failed_login(attacker)
        assert reply.startswith(b"-ERR [AUTH]")
        delays.append(took)
    assert delays[0] >= 0.09
    assert delays[-1] >= 0.28, delays  # grew to the cap
    # Meanwhile a legitimate client from another address is answered at once.
    result = {}

    def victim():
        c = server.raw(tls=True, source="127.0.0.3")
        c.line()
        c.cmd("USER bob")
        started = time.monotonic()
        result["reply"] = c.cmd("PASS bobpw")
        result["took"] = time.monotonic() - started

    hammer = threading.Thread(target=lambda: [failed_login(attacker) for _ in range(3)])
    hammer.start()
    victim()
    hammer.join()
    assert result["reply"].startswith(b"+OK")
    assert result["took"] < 0.25, result


@timing_sensitive
def test_unknown_user_and_wrong_password_take_the_same_time(make_server):
    server = make_server()
    # A real user has a hash of the default scheme; unknown users are checked against a dummy
    # hash of that scheme, so both cost one Argon2 verification.
    strong = subprocess.run([BIN, "hash"], input=b"alicepw\n", capture_output=True,
                            check=True).stdout.decode().strip()
    server.passwd.write_text(f"alice:{strong}\n")
    server.args = config(server)
    server.start()
    timings = {"alice": [], "nobody": []}
    for round_ in range(3):
        for user in timings:
            c = server.raw(tls=True, source=f"127.0.1.{round_ * 2 + (user == 'alice')}")
            c.line()
            reply, took = failed_login(c, user)
            assert reply == b"-ERR [AUTH] Authentication failed."
            timings[user].append(took)
    # Same delay for both (generous bound: the difference must be far below the delay).
    assert abs(min(timings["alice"]) - min(timings["nobody"])) < 0.1, timings


def test_too_many_failures_ban_the_address_but_not_others(make_server):
    server = make_server()
    server.args = config(server, ban=5)
    server.start()
    c = server.raw(tls=True, source="127.0.0.4")
    c.line()
    for _ in range(5):
        failed_login(c)
    reply, _ = failed_login(c, password="alicepw")
    assert reply.startswith(b"-ERR [SYS/TEMP]"), reply
    assert server.wait_log(r"result=temp-failure user=\"alice\".*reason=\"address banned\"")
    other = server.raw(tls=True, source="127.0.0.5")
    other.line()
    other.login()


def test_connection_cap_per_address(make_server):
    server = make_server()
    server.args = config(server, per_ip=3)
    server.start()
    held = []
    for _ in range(3):
        c = server.raw(source="127.0.0.6")
        assert c.line().startswith(b"+OK")
        held.append(c)
    refused = server.raw(source="127.0.0.6")
    assert refused.line().startswith(b"-ERR [SYS/TEMP]")
    assert refused.closed()
    elsewhere = server.raw(source="127.0.0.7")
    assert elsewhere.line().startswith(b"+OK")
    held.pop().close()
    assert server.wait_log(r"event=disconnect")
    deadline = time.monotonic() + 5
    while True:
        again = server.raw(source="127.0.0.6")
        line = again.line()
        if line.startswith(b"+OK") or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert line.startswith(b"+OK")


def test_trusted_network_may_log_in_before_tls_and_is_never_delayed(make_server):
    server = make_server()
    server.args = config(server, trusted='"127.0.0.8/32"', ban=2)
    server.start()
    trusted = server.raw(source="127.0.0.8")
    trusted.line()
    for _ in range(4):
        reply, took = failed_login(trusted)
        assert reply.startswith(b"-ERR [AUTH]") and took < 0.09
    trusted.login()
    stranger = server.raw(source="127.0.0.9")
    stranger.line()
    assert stranger.cmd("USER alice").startswith(b"-ERR [AUTH]")


def test_rehash_upgrades_weak_hashes_at_login(make_server):
    server = make_server()
    weak = subprocess.run([BIN, "hash", "--scheme", "SHA512-CRYPT"], input=b"alicepw\n",
                          capture_output=True, check=True).stdout.decode().strip()
    server.passwd.write_text(f"alice:{weak}\nbob:{{PLAIN}}bobpw\n")
    server.args = config(server, rehash="true")
    server.start()
    c = server.raw(tls=True)
    c.line()
    c.login()
    assert server.wait_log(r"event=rehash result=ok user=\"alice\" scheme=ARGON2ID")
    assert server.passwd.read_text().startswith("alice:{ARGON2ID}$argon2id$")
    assert "bob:{PLAIN}bobpw" in server.passwd.read_text()
    c.cmd("QUIT")
    c = server.raw(tls=True)
    c.line()
    c.login()
