"""What an idle logged-in session keeps open: its socket and its maildrop lock, nothing else.

The Maildir's directories (and a retrieved message) are opened while a command works on them and
closed again before the session waits for its client, so 10,000 idle sessions need 20,000
descriptors, not 50,000 (docs/benchmarks.md).
"""

import os
import time

from conftest import unstuff

USERS = {"alice": "alicepw", "bob": "bobpw", "carol": "carolpw"}
MESSAGE = b"Subject: idle\n\n" + b"line of text\n" * 200 + b".dot line\n"


def descriptors(pid):
    return sorted(os.readlink(f"/proc/{pid}/fd/{fd}") for fd in os.listdir(f"/proc/{pid}/fd"))


def settle(pid, expected, timeout=5.0):
    """The server's descriptors once their count reaches `expected` (or the last seen)."""
    deadline = time.monotonic() + timeout
    while True:
        seen = descriptors(pid)
        if len(seen) == expected or time.monotonic() > deadline:
            return seen
        time.sleep(0.05)


def check(pid, base, sessions):
    seen = settle(pid, len(base) + 2 * sessions)
    extra = list(seen)
    for target in base:
        if target in extra:
            extra.remove(target)
    assert len(seen) == len(base) + 2 * sessions, f"held besides the baseline: {extra}"
    assert sum(1 for t in extra if t.endswith("mailport-pop3.lock")) == sessions, extra
    assert sum(1 for t in extra if t.startswith("socket:")) == sessions, extra


def test_idle_session_holds_socket_and_lock_only(make_server):
    server = make_server(users=USERS, args=["--plaintext-auth", "loopback"])
    for user in USERS:
        server.mail.add(user, MESSAGE)
        server.mail.add(user, MESSAGE, folder="new")
    server.start()
    pid = server.proc.pid

    warm = server.raw()  # whatever the first login opens for good (users file, pools)
    warm.line()
    warm.login("carol", "carolpw")
    assert warm.cmd("QUIT").startswith(b"+OK")
    assert warm.closed()
    warm.close()
    base = settle(pid, -1, timeout=0.5)

    clients = []
    for user, tls in (("alice", False), ("bob", True)):
        client = server.raw(tls=tls)
        assert client.line().startswith(b"+OK")
        client.login(user, USERS[user])
        assert client.cmd("STAT").startswith(b"+OK 2 ")
        clients.append(client)
    check(pid, base, len(clients))

    for client in clients:
        assert client.cmd("RETR 2").startswith(b"+OK")
        body = unstuff(client.multiline())
        assert body == MESSAGE.replace(b"\n", b"\r\n")
        assert client.cmd("UIDL").startswith(b"+OK")
        client.multiline()
    check(pid, base, len(clients))  # the directories and the message are closed again

    for client in clients:
        assert client.cmd("DELE 1").startswith(b"+OK")
        assert client.cmd("QUIT").startswith(b"+OK")
        assert client.closed()
        client.close()
    settle(pid, len(base))
    assert descriptors(pid) == base
    for user in ("alice", "bob"):
        assert len(server.mail.files(user)) == 1
