"""Floods and hostile bytes: thousands of idle and slowloris connections, a 10 MB line, NUL and
bare CR/LF bytes, 100k pipelined commands, output that the client does not read. The server must
stay responsive to a normal client, keep its memory per connection bounded, drop idle pre-login
connections when the pre-login timeout passes, and apply its global and per-address caps."""

import os
import pathlib
import resource
import select
import socket
import threading
import time

import pytest

from conftest import RawClient, crlf

# Sanitizer builds (MAILPORT_SANITIZED=1, set by .ci/sanitizers.sh) use several times the memory.
SANITIZED = os.environ.get("MAILPORT_SANITIZED") == "1"
MEMORY_FACTOR = 6 if SANITIZED else 1
IDLE_CONNECTIONS = 2000
FLOOD_SOURCES = 40  # 127.0.0.10 ... : 50 connections each, the default per-address cap
PRELOGIN_TIMEOUT = 3

FLOOD_CONFIG = f"""
[auth]
plaintext_auth = "loopback"
[session]
prelogin_timeout = "{PRELOGIN_TIMEOUT}s"
max_bad_commands = 1000
[limits]
max_connections = {{max_connections}}
max_connections_per_ip = 50
"""


@pytest.fixture(autouse=True)
def enough_descriptors():
    """Room for thousands of sockets here and in the server, which inherits the limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = min(hard, 4 * IDLE_CONNECTIONS + 1024)
    if wanted < 2 * IDLE_CONNECTIONS + 256:
        pytest.skip(f"RLIMIT_NOFILE hard limit {hard} is too low for {IDLE_CONNECTIONS} sockets")
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, wanted), hard))
    yield
    resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def rss_kib(pid):
    for line in pathlib.Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


def flood_server(make_server, max_connections=10000, message=None):
    server = make_server()
    server.args = ["--config", str(server.write_config(
        FLOOD_CONFIG.format(max_connections=max_connections)))]
    server.mail.add("alice", message or b"Subject: hello\n\nbody\n")
    return server.start()


def open_idle(port, count, first_source=10):
    """`count` connections spread over loopback addresses, each sending nothing."""
    sockets = []
    for i in range(count):
        source = f"127.0.0.{first_source + i // 50}"
        sockets.append(socket.create_connection(("127.0.0.1", port), timeout=10,
                                                source_address=(source, 0)))
    return sockets


def wait_log_count(server, text, count, timeout=30):
    """Waits until `text` appears `count` times in the server's log."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.log().count(text) >= count:
            return
        time.sleep(0.1)
    raise AssertionError(f"{text!r} logged {server.log().count(text)} times, not {count}")


def wait_open_connections(server, count):
    wait_log_count(server, "event=connect", count)


def normal_session(server, deadline=5.0):
    """A complete session from 127.0.0.1; returns how long it took."""
    started = time.monotonic()
    c = server.raw(tls=True)
    assert c.line().startswith(b"+OK")
    c.login()
    assert c.cmd("STAT").startswith(b"+OK 1 ")
    assert c.cmd("RETR 1").startswith(b"+OK")
    assert b"body" in c.multiline()
    assert c.cmd("QUIT").startswith(b"+OK")
    c.close()
    took = time.monotonic() - started
    assert took < deadline, f"a normal session took {took:.1f}s under load"
    return took


def closed_by_server(sockets, timeout):
    """How many of `sockets` the server closed (EOF or reset) within `timeout` seconds."""
    pending = {s.fileno(): s for s in sockets}
    poller = select.poll()
    for fd in pending:
        poller.register(fd, select.POLLIN)
    closed = 0
    deadline = time.monotonic() + timeout
    while pending and time.monotonic() < deadline:
        for fd, _ in poller.poll(200):
            if fd not in pending:
                continue
            try:
                data = pending[fd].recv(4096)
            except OSError:
                data = b""
            if not data:
                closed += 1
                poller.unregister(fd)
                del pending[fd]
    return closed


def test_thousands_of_idle_connections_cost_little_and_time_out(make_server):
    server = flood_server(make_server)
    normal_session(server)
    time.sleep(0.5)
    before = rss_kib(server.proc.pid)
    idle = open_idle(server.pop3_port, IDLE_CONNECTIONS)
    try:
        wait_open_connections(server, IDLE_CONNECTIONS + 1)
        during = rss_kib(server.proc.pid)
        per_connection = (during - before) / IDLE_CONNECTIONS
        print(f"server RSS {before} -> {during} KiB: {per_connection:.1f} KiB per connection")
        assert per_connection < 48 * MEMORY_FACTOR, f"{per_connection:.1f} KiB per connection"
        normal_session(server)
        # Every idle connection is dropped once the pre-login timeout passes.
        started = time.monotonic()
        closed = closed_by_server(idle, PRELOGIN_TIMEOUT + 15)
        assert closed == IDLE_CONNECTIONS
        assert time.monotonic() - started >= PRELOGIN_TIMEOUT - 1
        wait_log_count(server, "reason=timeout", IDLE_CONNECTIONS)
    finally:
        for s in idle:
            s.close()
    normal_session(server)


def test_slowloris_connections_do_not_starve_a_normal_client(make_server):
    server = flood_server(make_server)
    slow = open_idle(server.pop3_port, 500)
    stop = threading.Event()

    def dribble():
        # One byte per connection every 0.2 s: each line grows forever and never ends.
        for _ in range(40):
            if stop.is_set():
                return
            for s in slow:
                try:
                    s.send(b"U")
                except OSError:
                    pass
            time.sleep(0.2)

    dribbler = threading.Thread(target=dribble)
    dribbler.start()
    try:
        timings = [normal_session(server) for _ in range(5)]
        assert max(timings) < 5
    finally:
        stop.set()
        dribbler.join()
        for s in slow:
            s.close()
    assert server.proc.poll() is None


def test_connection_caps_global_and_per_address(make_server):
    server = flood_server(make_server, max_connections=120)
    held = open_idle(server.pop3_port, 100)  # 50 each from 127.0.0.10 and .11
    try:
        wait_open_connections(server, 100)
        over = RawClient.connect(server.pop3_port, source="127.0.0.10")
        assert over.line().startswith(b"-ERR [SYS/TEMP]")
        assert over.closed()
        held += open_idle(server.pop3_port, 20, first_source=20)
        wait_open_connections(server, 120)
        # Full: even a fresh address is refused, on 995 by closing without a word.
        refused = RawClient.connect(server.pop3_port, source="127.0.0.30")
        assert refused.line().startswith(b"-ERR [SYS/TEMP] Too many connections")
        with pytest.raises((ConnectionError, OSError, EOFError)):
            tls = server.raw(tls=True, source="127.0.0.31")
            tls.line()
    finally:
        for s in held[:10]:
            s.close()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        c = RawClient.connect(server.pop3_port, source="127.0.0.32")
        if c.line().startswith(b"+OK"):
            break
        time.sleep(0.1)
    else:
        pytest.fail("slots were not released after connections closed")
    for s in held[10:]:
        s.close()


def test_a_10_mb_line_is_rejected_in_bounded_memory(make_server):
    server = flood_server(make_server)
    c = server.raw()
    assert c.line().startswith(b"+OK")
    before = rss_kib(server.proc.pid)
    chunk = b"A" * 65536
    c.send(b"USER ")
    for _ in range(160):  # 10 MiB without a line end
        c.send(chunk)
    c.send(b"\r\n")
    assert c.line() == b"-ERR Command line too long."
    growth = rss_kib(server.proc.pid) - before
    assert growth < 2048 * MEMORY_FACTOR, f"RSS grew by {growth} KiB"
    assert c.cmd("CAPA").startswith(b"+OK")
    c.multiline()
    normal_session(server)


def test_nul_bare_cr_and_bare_lf(make_server):
    server = flood_server(make_server)
    c = server.raw()
    c.line()
    assert c.cmd("USER al\x00ice").startswith(b"-ERR")
    c.send(b"CAPA\rNOOP\r\n")  # a bare CR inside a line makes the whole line invalid
    assert c.line().startswith(b"-ERR")
    c.send(b"CAPA\n")  # a bare LF ends a line, as some clients send it
    assert c.line().startswith(b"+OK")
    c.multiline()
    c.send(b"\x00\x00\x00\r\n\r\n\x7f\r\n")
    for _ in range(3):
        assert c.line().startswith(b"-ERR")
    # A burst of binary garbage is answered line by line, then cut off by max_bad_commands.
    garbage = bytes((i * 37 + 11) % 256 for i in range(65536))
    c.send(garbage + b"\r\n")
    c.closed(timeout=10)
    assert server.proc.poll() is None
    normal_session(server)


def test_100k_pipelined_commands(make_server):
    server = flood_server(make_server)
    c = server.raw()  # plain: the sender and the reader thread share the socket
    c.line()
    c.login()
    count = 100_000
    sender = threading.Thread(target=lambda: c.send(b"NOOP\r\n" * count))
    started = time.monotonic()
    sender.start()
    for i in range(count):
        assert c.line() == b"+OK", i
    sender.join()
    assert time.monotonic() - started < 120
    assert c.cmd("STAT").startswith(b"+OK 1 ")
    assert c.cmd("QUIT").startswith(b"+OK")  # releases the maildrop for the next session
    normal_session(server)


def test_output_is_back_pressured_when_the_client_does_not_read(make_server):
    message = b"Subject: big\n\n" + (b"x" * 1023 + b"\n") * 1024  # 1 MiB
    server = flood_server(make_server, message=message)
    c = server.raw()
    c.line()
    c.login()
    time.sleep(0.3)
    before = rss_kib(server.proc.pid)
    retrievals = 100  # 100 MiB of responses
    c.send(b"RETR 1\r\n" * retrievals)
    time.sleep(2)  # the server fills the socket buffers, then must wait instead of queueing
    growth = rss_kib(server.proc.pid) - before
    assert growth < 16 * 1024 * MEMORY_FACTOR, f"RSS grew by {growth} KiB while not reading"
    expected = len(crlf(message))
    for _ in range(retrievals):
        assert c.line().startswith(b"+OK")
        assert len(c.multiline()) == expected
    assert c.cmd("QUIT").startswith(b"+OK")


def test_server_raises_its_open_file_limit_for_its_connection_caps(make_server):
    """A soft limit of 1024 descriptors would stop the server long before limits.max_connections
    (10,000 by default, ~6 descriptors each): it raises the soft limit toward the hard one."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < 4096:
        pytest.skip(f"the hard open-files limit here is only {hard}")
    resource.setrlimit(resource.RLIMIT_NOFILE, (1024, hard))
    try:
        server = make_server().start()
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    limits = pathlib.Path(f"/proc/{server.proc.pid}/limits").read_text()
    line = next(l for l in limits.splitlines() if l.startswith("Max open files"))
    assert int(line.split()[3]) > 1024, line
