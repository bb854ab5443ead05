"""HAProxy (TCP mode, PROXY protocol v2) in front of several mailport instances on one PostgreSQL
database (users and mail): clients fetch through the proxy over POP3S and POP3+STLS with TLS
terminating at mailport, every instance sees the real client address, the POP3 lock holds
across instances, a killed instance loses nothing, and penalties follow the client address.

Clients connect from distinct 127.0.0.x source addresses, bound explicitly, while HAProxy
connects to the instances from 127.0.0.1: an instance that logs 127.0.0.x got it from the
PROXY header, not from the socket."""

import re
import signal
import socket
import sys
import time

import pytest

from cluster_util import lmtp_port
from cluster_util import db, haproxy, instances, pg_cluster  # noqa: F401 (fixtures)
from conftest import ROOT, RawClient, crlf, unstuff

sys.path.insert(0, str(ROOT / "tests" / "integration"))
from mailin_util import LmtpClient  # noqa: E402

PROXY = "127.0.0.1"
TRUST = ["--proxy-trusted", PROXY, "--lock-timeout", "300ms"]


def connect(proxy, pki, source, mode="pop3s"):
    """A client from `source` through HAProxy; TLS either at once (pop3s) or after STLS."""
    port = proxy.pop3s_port if mode == "pop3s" else proxy.pop3_port
    sock = socket.create_connection(("127.0.0.1", port), timeout=10,
                                    source_address=(source, 0))
    local_port = sock.getsockname()[1]
    if mode == "pop3s":
        sock = pki.client_context().wrap_socket(sock, server_hostname="localhost")
    client = RawClient(sock)
    client.source = (source, local_port)
    assert client.line().startswith(b"+OK")
    if mode == "stls":
        assert client.cmd("STLS").startswith(b"+OK")
        client.starttls(pki.client_context())
    return client


def login(client, user, password):
    assert client.cmd(f"USER {user}").startswith(b"+OK")
    return client.cmd(f"PASS {password}")


def serving(running, client, timeout=5.0):
    """The instance whose log shows this client's address and port as the real peer."""
    source, port = client.source
    pattern = (rf"event=connect rip={re.escape(source)} rport={port} listener=pop3s? "
               rf"proxy={re.escape(PROXY)}:\d+ proxy_version=2\n")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = [i for i in running if re.search(pattern, i.log())]
        if found:
            assert len(found) == 1
            return found[0]
        time.sleep(0.02)
    raise AssertionError(f"no instance logged a connection from {source}:{port}")


def retrieve(client, number):
    assert client.cmd(f"RETR {number}").startswith(b"+OK")
    return unstuff(client.multiline())


def delivered(user, message):
    """What RETR returns for a message `mailport deliver` stored: LF as CRLF, and a last line
    ended (the terminating dot must start a line)."""
    wire = b"Return-Path: <>\r\nDelivered-To: " + user.encode() + b"\r\n" + crlf(message)
    return wire if wire.endswith(b"\r\n") else wire + b"\r\n"


def messages():
    """Bodies that exercise the wire format: dot lines, 8-bit bytes, CRLF and LF line ends, and
    one larger than a RETR chunk (256 KiB)."""
    big = b"Subject: big\n\n" + b"".join(b".%06d line of a long message \xe9\xe8\n" % i
                                         for i in range(20000))
    return [
        b"Subject: one\n\n.dot line\n..two dots\nbody\n",
        b"Subject: two\r\nContent-Type: text/plain; charset=latin1\r\n\r\n\xe0 la carte\r\n",
        big,
        b"Subject: four\n\nno trailing newline",
        b"Subject: five\n\n.\n",
    ]


def test_fetch_through_haproxy_shows_real_clients_on_every_instance(db, instances, haproxy, pki):
    users = ["alice", "bob", "carol"]
    for user in users:
        db.add_user(user, user + "pw")
        assert db.deliver(user, b"Subject: for " + user.encode() + b"\n\nhi\n").returncode == 0
    running = instances(3, args=TRUST)
    proxy = haproxy(running)
    last = 5
    for mode, listener in (("pop3s", "pop3s"), ("stls", "pop3")):
        clients = {}
        for user in users:  # held open: leastconn spreads them over the instances
            clients[user] = client = connect(proxy, pki, f"127.0.0.{last}", mode)
            last += 1
            assert login(client, user, user + "pw").startswith(b"+OK")
            assert retrieve(client, 1) == delivered(user, b"Subject: for " + user.encode() +
                                                    b"\n\nhi\n")
        served = {user: serving(running, client) for user, client in clients.items()}
        assert len(set(map(id, served.values()))) == 3, "one session per instance"
        for user, client in clients.items():
            assert client.cmd("QUIT").startswith(b"+OK")
            source, port = client.source
            assert served[user].wait_log(
                rf"event=login result=ok user=\"{user}\" mech=USER rip={re.escape(source)} "
                rf"rport={port} listener={listener} tls=TLS")
    for instance in running:
        # Health checks carry a header too (a check may hang up before it was read: that is
        # all); no login ever names the proxy's own address.
        refused = [line for line in instance.log().splitlines() if "event=proxy-failed" in line
                   and "connection gone before it was served" not in line]
        assert not refused, refused
        assert not re.search(r"event=login .*rip=127\.0\.0\.1 ", instance.log())


def test_second_session_through_haproxy_on_another_instance_gets_in_use(db, instances, haproxy,
                                                                         pki):
    db.add_user("alice", "alicepw")
    assert db.deliver("alice", b"Subject: x\n\nx\n").returncode == 0
    running = instances(2, args=TRUST)
    proxy = haproxy(running)
    holder = connect(proxy, pki, "127.0.0.5")
    assert login(holder, "alice", "alicepw").startswith(b"+OK")
    other = connect(proxy, pki, "127.0.0.6")  # the same backend: leastconn picks the other
    refused = login(other, "alice", "alicepw")
    assert refused.startswith(b"-ERR [IN-USE]"), refused
    assert serving(running, other) is not serving(running, holder)
    assert holder.cmd("QUIT").startswith(b"+OK")
    again = connect(proxy, pki, "127.0.0.6")
    assert login(again, "alice", "alicepw").startswith(b"+OK")
    again.cmd("QUIT")


def test_sigkill_of_the_serving_instance_releases_the_lock_and_loses_nothing(db, instances,
                                                                            haproxy, pki):
    db.add_user("alice", "alicepw")
    bodies = messages()
    for body in bodies:
        result = db.deliver("alice", body)
        assert result.returncode == 0, result.stderr
    uidls_before = db.uidls("alice")
    running = instances(3, args=TRUST)
    proxy = haproxy(running)
    client = connect(proxy, pki, "127.0.0.5")
    assert login(client, "alice", "alicepw").startswith(b"+OK")
    assert client.cmd("DELE 1").startswith(b"+OK")
    assert client.cmd("DELE 2").startswith(b"+OK")
    assert client.cmd("RETR 3").startswith(b"+OK")
    victim = serving(running, client)
    victim.stop(signal.SIGKILL)  # mid-RETR of the large message, DELEs pending
    killed_at = time.monotonic()
    client.close()
    for attempt in range(50):
        again = connect(proxy, pki, "127.0.0.6", "stls" if attempt % 2 else "pop3s")
        reply = login(again, "alice", "alicepw")
        if reply.startswith(b"+OK"):
            break
        again.close()
        time.sleep(0.1)
    assert reply.startswith(b"+OK"), reply
    assert time.monotonic() - killed_at < 3
    assert serving(running, again) is not victim
    # Nothing was deleted (no QUIT), nothing duplicated, every byte as delivered.
    assert again.cmd("STAT").startswith(b"+OK %d " % len(bodies))
    assert again.cmd("UIDL").startswith(b"+OK")
    listing = [line.split()[1].decode() for line in again.multiline().splitlines()]
    assert listing == uidls_before
    for number, body in enumerate(bodies, start=1):
        assert retrieve(again, number) == delivered("alice", body), number
    assert again.cmd("QUIT").startswith(b"+OK")
    assert db.uidls("alice") == uidls_before
    deadline = time.monotonic() + 3
    while db.sql("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'") != [["0"]]:
        assert time.monotonic() < deadline, "an advisory lock outlived its session"
        time.sleep(0.05)



def test_lmtp_deliveries_to_each_instance_are_visible_through_haproxy(db, instances, haproxy,
                                                                      pki):
    users = ["alice", "bob", "carol"]
    for user in users:
        db.add_user(user, user + "pw")
    running = instances(3, args=[*TRUST, "--lmtp", "127.0.0.1:0"])
    proxy = haproxy(running)
    sent = []
    for index, instance in enumerate(running):
        # The MTA reaches LMTP directly, from an address that is not the trusted proxy.
        sock = socket.create_connection(("127.0.0.1", lmtp_port(instance)), timeout=10,
                                        source_address=("127.0.0.9", 0))
        lmtp = LmtpClient(sock)
        lmtp.greet()
        body = b"Subject: via instance %d\r\n\r\nhello from %d\r\n" % (index, index)
        rcpt, data = lmtp.transaction(f"mta{index}@example.net", users, body)
        lmtp.close()
        assert [code for code, _ in rcpt] == [250] * 3
        assert [code for code, _ in data] == [250] * 3  # after COMMIT
        sent.append((f"mta{index}@example.net", body))
    clients = {}
    for number, user in enumerate(users):
        clients[user] = client = connect(proxy, pki, f"127.0.0.{5 + number}")
        assert login(client, user, user + "pw").startswith(b"+OK")
    assert len({id(serving(running, c)) for c in clients.values()}) == 3
    for user, client in clients.items():
        assert client.cmd("STAT").startswith(b"+OK 3 ")
        for number, (sender, body) in enumerate(sent, start=1):
            got = retrieve(client, number)
            assert got.startswith(f"Return-Path: <{sender}>\r\n".encode()), got
            assert got.endswith(body)
        client.cmd("QUIT")


PENALTIES = """
[auth]
failure_delay = "50ms"
max_failure_delay = "50ms"
ban_after_failures = 3
failure_window = "10m"
ban_duration = "10m"
"""


def test_failed_logins_penalise_the_real_client_not_the_proxy(db, instances, haproxy, pki,
                                                              tmp_path):
    db.add_user("alice", "alicepw")
    config = tmp_path / "penalties.toml"
    config.write_text(PENALTIES)
    running = instances(2, args=[*TRUST, "--config", str(config)])
    # `balance source` keeps a client address on one instance, whose memory of its failures
    # is what penalises it (docs/scaling.md).
    proxy = haproxy(running, balance="source")
    attacker = "127.0.0.7"
    homes = set()
    for _ in range(3):
        c = connect(proxy, pki, attacker)
        assert login(c, "alice", "wrong").startswith(b"-ERR [AUTH]")
        homes.add(id(serving(running, c)))
        c.close()
    assert len(homes) == 1
    banned = connect(proxy, pki, attacker, "stls")
    reply = login(banned, "alice", "alicepw")
    assert reply.startswith(b"-ERR [SYS/TEMP]"), reply
    home = serving(running, banned)
    assert home.wait_log(r"result=temp-failure user=\"alice\".*rip=127\.0\.0\.7 .*"
                         r"reason=\"address banned\"")
    # Other clients behind the same proxy log in, on the very instance that banned 127.0.0.7.
    for last in range(8, 40):
        c = connect(proxy, pki, f"127.0.0.{last}")
        assert login(c, "alice", "alicepw").startswith(b"+OK")
        landed = serving(running, c)
        c.cmd("QUIT")
        if landed is home:
            break
    else:
        pytest.fail("no other client address was balanced to the instance that banned one")
