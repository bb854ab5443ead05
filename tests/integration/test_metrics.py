"""--metrics: the Prometheus endpoint counts what a real session did; /healthz; bad HTTP."""

import re
import socket
import subprocess
import time
import urllib.error
import urllib.request

import pytest

from conftest import BIN, crlf

SCRAPE_TIMEOUT = 5.0


def scrape(port, path="/metrics"):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as response:
        assert response.status == 200
        return response.read().decode()


def samples(text):
    """{'name{labels}': value} for every sample line of a text exposition."""
    out = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            series, value = line.rsplit(" ", 1)
            out[series] = float(value)
    return out


def wait_for(port, series, value):
    """Scrapes until `series` reaches `value` (the server updates some counters after replying)."""
    deadline = time.monotonic() + SCRAPE_TIMEOUT
    while True:
        got = samples(scrape(port)).get(series)
        if got == value or time.monotonic() > deadline:
            return got
        time.sleep(0.05)


def raw_http(port, data, limit=1 << 20):
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        try:
            sock.sendall(data)
        except OSError:
            pass  # the server may answer and close before reading everything
        reply = b""
        try:
            while len(reply) < limit:
                chunk = sock.recv(65536)
                if not chunk:
                    break
                reply += chunk
        except OSError:
            pass
        return reply


@pytest.fixture
def metered(make_server):
    server = make_server(args=["--metrics", "127.0.0.1:0", "--lock-timeout", "0s"])
    server.mail.add("alice", crlf(b"Subject: one\n\nfirst body line\n"))
    server.mail.add("alice", crlf(b"Subject: two\n\nsecond\n"))
    server.start()
    assert "metrics" in server.ports, server.log()
    return server


def test_counts_a_real_session(metered):
    port = metered.ports["metrics"]
    c = metered.raw(tls=True)
    c.line()
    c.login()
    assert c.cmd("RETR 1").startswith(b"+OK")
    body = c.multiline()
    assert c.cmd("TOP 2 0").startswith(b"+OK")
    c.multiline()
    assert c.cmd("DELE 2").startswith(b"+OK")
    # The same maildrop from a second connection: [IN-USE], a lock conflict.
    other = metered.raw(tls=True)
    other.line()
    other.cmd("USER alice")
    assert other.cmd("PASS alicepw").startswith(b"-ERR [IN-USE]")
    other.close()
    assert c.cmd("QUIT").startswith(b"+OK")
    c.close()
    bad = metered.raw(tls=True)
    bad.line()
    bad.cmd("USER bob")
    assert bad.cmd("PASS wrong").startswith(b"-ERR [AUTH]")
    bad.close()
    # A client that does not speak TLS on 995.
    with socket.create_connection(("127.0.0.1", metered.pop3s_port), timeout=5) as sock:
        sock.sendall(b"USER alice\r\n" * 10)
        sock.settimeout(5)
        try:
            while sock.recv(4096):
                pass
        except OSError:
            pass

    ok = 'mailport_logins_total{mechanism="USER",result="ok"}'
    assert wait_for(port, "mailport_messages_deleted_total", 1.0) == 1.0
    assert wait_for(port, 'mailport_tls_handshake_failures_total{listener="pop3s"}', 1.0) == 1.0
    assert wait_for(port, 'mailport_connections_open{listener="pop3s",tls="TLSv1.3"}', 0.0) == 0.0
    after = samples(scrape(port))
    assert after[ok] == 1
    assert after['mailport_logins_total{mechanism="USER",result="failed"}'] == 1
    assert after['mailport_logins_total{mechanism="USER",result="in-use"}'] == 1
    assert after["mailport_lock_conflicts_total"] == 1
    assert after["mailport_messages_retrieved_total"] == 1  # TOP is not a retrieval
    assert after["mailport_auth_duration_seconds_count"] == 3
    assert after['mailport_connections_total{listener="pop3s"}'] == 4
    assert after['mailport_tls_handshakes_total{listener="pop3s",tls="TLSv1.3"}'] == 3
    assert after["mailport_sent_bytes_total"] > len(body)
    assert after["mailport_command_duration_seconds_count"] >= 9
    assert after['mailport_penalties_in_force{kind="delay"}'] == 1  # bob's failure
    assert after['mailport_penalties_in_force{kind="ban"}'] == 0


def test_stls_connection_moves_to_its_tls_version(metered):
    port = metered.ports["metrics"]
    c = metered.raw()
    c.line()
    assert wait_for(port, 'mailport_connections_open{listener="pop3",tls="none"}', 1.0) == 1.0
    assert c.cmd("STLS").startswith(b"+OK")
    c.starttls(metered.pki.client_context())
    assert c.cmd("CAPA").startswith(b"+OK")
    c.multiline()
    assert wait_for(port, 'mailport_connections_open{listener="pop3",tls="TLSv1.3"}', 1.0) == 1.0
    assert samples(scrape(port))['mailport_connections_open{listener="pop3",tls="none"}'] == 0
    c.cmd("QUIT")
    c.close()
    assert wait_for(port, 'mailport_connections_open{listener="pop3",tls="TLSv1.3"}', 0.0) == 0.0


def test_healthz(metered):
    text = scrape(metered.ports["metrics"], "/healthz")
    assert "mailport_up 1" in text


def test_unknown_path_is_404(metered):
    with pytest.raises(urllib.error.HTTPError) as error:
        scrape(metered.ports["metrics"], "/nothing")
    assert error.value.code == 404


def rss_kib(pid):
    status = open(f"/proc/{pid}/status").read()
    return int(re.search(r"VmRSS:\s+(\d+) kB", status).group(1))


def test_bad_requests_get_400_and_memory_stays_bounded(metered):
    port = metered.ports["metrics"]
    assert raw_http(port, b"GARBAGE\r\n\r\n").startswith(b"HTTP/1.0 400")
    assert raw_http(port, b"GET /metrics HTTP/9.9\r\n\r\n").split(b" ")[1] in (b"400", b"505")
    scrape(port)
    start = rss_kib(metered.proc.pid)
    huge = b"GET /metrics HTTP/1.1\r\nX-Filler: " + b"a" * (1 << 20) + b"\r\n\r\n"
    for _ in range(30):
        reply = raw_http(port, huge)
        assert reply == b"" or reply.split(b" ")[1] in (b"400", b"413", b"431"), reply[:100]
    grown = rss_kib(metered.proc.pid) - start
    assert grown < 8 * 1024, f"RSS grew by {grown} KiB for 30 oversized requests"
    assert "mailport_up 1" in scrape(port, "/healthz")


def test_metrics_flag_is_checked(tmp_path):
    out = subprocess.run([BIN, "serve", "--metrics", "localhost:9100"], capture_output=True,
                         text=True, timeout=30, cwd=tmp_path)
    assert out.returncode == 64, out.stderr
    assert "--metrics localhost:9100" in out.stderr
    assert "not a numeric IPv4 address" in out.stderr


def test_metrics_port_in_use_is_reported(make_server):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        busy = taken.getsockname()[1]
        server = make_server(args=["--metrics", f"127.0.0.1:{busy}"])
        with pytest.raises(RuntimeError):
            server.start()
        assert server.proc.returncode == 78, server.log()
        assert f"metrics.listen 127.0.0.1:{busy}: cannot listen" in server.log()
