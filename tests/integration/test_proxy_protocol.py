"""PROXY protocol (versions 1 and 2) from trusted load balancers: raw headers from 127.0.0.1 as
the trusted proxy, then HAProxy itself with contrib/haproxy/haproxy.cfg in front of mailport."""

import ipaddress
import pathlib
import poplib
import re
import shutil
import socket
import struct
import subprocess
import time

import pytest

from conftest import ROOT, RawClient

PROXY = "127.0.0.1"  # the trusted proxy; other loopback addresses act as direct clients
V2_SIGNATURE = b"\r\n\r\n\x00\r\nQUIT\n"
HAPROXY_CFG = ROOT / "contrib" / "haproxy" / "haproxy.cfg"


def v1(src, sport, dst="127.0.0.1", dport=110):
    family = "TCP6" if ":" in src else "TCP4"
    return f"PROXY {family} {src} {dst} {sport} {dport}\r\n".encode()


def v2(src, sport, dst="127.0.0.1", dport=995, command=0x21, tlvs=b""):
    source, destination = ipaddress.ip_address(src), ipaddress.ip_address(dst)
    family = 0x11 if source.version == 4 else 0x21
    if source.version == 6 and destination.version == 4:
        destination = ipaddress.IPv6Address("::ffff:" + dst)
    block = source.packed + destination.packed + struct.pack("!HH", sport, dport) + tlvs
    return V2_SIGNATURE + struct.pack("!BBH", command, family, len(block)) + block


def proxied(port, header, context=None, source=PROXY):
    """A connection from `source` that sends `header` first, then (optionally) starts TLS."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=10, source_address=(source, 0))
    sock.sendall(header)
    if context is not None:
        sock = context.wrap_socket(sock, server_hostname="localhost")
    return RawClient(sock)


ABUSE = """
[listen]
proxy_trusted = ["{proxy}/32"]
[auth]
failure_delay = "50ms"
max_failure_delay = "50ms"
ban_after_failures = {ban}
failure_window = "10m"
ban_duration = "10m"
max_attempts = 100
plaintext_auth = "{plaintext}"
[limits]
max_connections_per_ip = {per_ip}
"""


@pytest.fixture
def proxied_server(make_server):
    def start(ban=0, per_ip=50, plaintext="never", extra=()):
        server = make_server()
        path = server.tmp / "proxy.toml"
        path.write_text(ABUSE.format(proxy=PROXY, ban=ban, per_ip=per_ip, plaintext=plaintext))
        server.args = ["--config", str(path), "--failure-delay", "50ms", *extra]
        return server.start()

    return start


def test_v1_header_names_the_client_in_every_log_line(proxied_server, pki):
    server = proxied_server()
    c = proxied(server.pop3_port, v1("192.0.2.7", 40001))
    assert c.line().startswith(b"+OK")
    assert c.cmd("STLS").startswith(b"+OK")
    c.starttls(pki.client_context())
    c.login()
    assert server.wait_log(r"event=connect rip=192\.0\.2\.7 rport=40001 listener=pop3 "
                           r"proxy=127\.0\.0\.1:\d+ proxy_version=1\n")
    assert server.wait_log(r"event=login result=ok user=\"alice\" .*rip=192\.0\.2\.7 rport=40001")
    assert "rip=127.0.0.1" not in server.log()


def test_v2_header_before_tls_on_pop3s_and_ipv6_clients(proxied_server, pki):
    server = proxied_server()
    c = proxied(server.pop3s_port, v2("203.0.113.9", 50123, tlvs=b"\x04\x00\x02ab"),
                pki.client_context())
    assert c.line().startswith(b"+OK")
    c.login()
    assert server.wait_log(r"event=connect rip=203\.0\.113\.9 rport=50123 listener=pop3s "
                           r"proxy=127\.0\.0\.1:\d+ proxy_version=2")
    assert server.wait_log(r"event=login result=ok user=\"alice\" .*rip=203\.0\.113\.9 .*tls=TLS")
    six = proxied(server.pop3_port, v2("2001:db8::5", 4000, dport=110))
    assert six.line().startswith(b"+OK")
    assert server.wait_log(r"event=connect rip=2001:db8::5 rport=4000 listener=pop3")


def test_failures_penalise_and_ban_the_proxied_client_not_the_proxy(proxied_server):
    server = proxied_server(ban=3, plaintext="always")
    attacker = proxied(server.pop3_port, v1("192.0.2.66", 1234))
    attacker.line()
    for _ in range(3):
        attacker.cmd("USER alice")
        assert attacker.cmd("PASS wrong").startswith(b"-ERR [AUTH]")
    again = proxied(server.pop3_port, v1("192.0.2.66", 1235))
    again.line()
    again.cmd("USER alice")
    assert again.cmd("PASS alicepw").startswith(b"-ERR [SYS/TEMP]")
    assert server.wait_log(r"result=temp-failure user=\"alice\".*rip=192\.0\.2\.66 .*"
                           r"reason=\"address banned\"")
    # Another client behind the same proxy, and the proxy's own address, are not banned.
    other = proxied(server.pop3_port, v2("192.0.2.67", 1236, dport=110))
    other.line()
    other.login()
    direct = server.raw(source="127.0.0.2")
    direct.line()
    direct.login("bob", "bobpw")


def test_connection_cap_counts_the_proxied_address(proxied_server):
    server = proxied_server(per_ip=2)
    held = [proxied(server.pop3_port, v1("192.0.2.10", 2000 + i)) for i in range(2)]
    for c in held:
        assert c.line().startswith(b"+OK")
    refused = proxied(server.pop3_port, v1("192.0.2.10", 2002))
    assert refused.line().startswith(b"-ERR [SYS/TEMP] Too many connections")
    assert server.wait_log(r"event=refused reason=too-many-connections rip=192\.0\.2\.10 ")
    # All of them came from 127.0.0.1: the cap is per client, not per proxy.
    for port in (2003, 2004):
        c = proxied(server.pop3_port, v1("192.0.2.11", port))
        assert c.line().startswith(b"+OK")
        held.append(c)


def test_loopback_policy_looks_at_the_client_not_at_the_proxy(proxied_server):
    server = proxied_server(plaintext="loopback")
    remote = proxied(server.pop3_port, v1("192.0.2.8", 3000))
    remote.line()
    assert remote.cmd("USER alice").startswith(b"-ERR [AUTH]")
    # The proxy could not say who the client is: it is not taken for a local one.
    unknown = proxied(server.pop3_port, b"PROXY UNKNOWN\r\n")
    unknown.line()
    assert unknown.cmd("USER alice").startswith(b"-ERR [AUTH]")
    assert server.wait_log(r"rip=127\.0\.0\.1 rport=\d+ listener=pop3 proxy=127\.0\.0\.1:\d+ "
                           r"proxy_version=1 client=unknown")
    local = proxied(server.pop3_port, v1("127.0.0.5", 3001))
    local.line()
    local.login()


def test_header_from_untrusted_source_is_not_honoured(proxied_server):
    server = proxied_server()
    c = server.raw(source="127.0.0.2")
    assert c.line().startswith(b"+OK")  # no header awaited: served at once
    reply = c.cmd(v1("192.0.2.99", 4444).decode().rstrip("\r\n"))
    assert reply.startswith(b"-ERR"), reply
    c.cmd("QUIT")
    assert server.wait_log(r"event=connect rip=127\.0\.0\.2 rport=\d+ listener=pop3\n")
    assert "192.0.2.99" not in server.log()


@pytest.mark.parametrize("header,reason", [
    (b"USER alice\r\n", "not a PROXY protocol header"),
    (b"PROXY TCP4 192.0.2.7 127.0.0.1 0110 110\r\n", "malformed port"),
    (V2_SIGNATURE + b"\x11\x11\x00\x0c" + bytes(12), "version 2 signature with version 1"),
    (v2("192.0.2.7", 1, command=0x23), "unknown command 3"),
])
def test_malformed_header_from_trusted_source_closes_the_connection(proxied_server, header,
                                                                    reason):
    server = proxied_server()
    c = proxied(server.pop3_port, header)
    assert c.closed()
    assert c.buf == b""  # not even a greeting
    assert server.wait_log(r"event=proxy-failed proxy=127\.0\.0\.1 listener=pop3 error=\"[^\"]*" +
                           re.escape(reason))


def test_silent_trusted_source_is_closed_after_the_header_timeout(proxied_server):
    server = proxied_server()
    c = RawClient.connect(server.pop3s_port, source=PROXY)
    started = time.monotonic()
    assert c.closed(timeout=8)
    assert 4 < time.monotonic() - started < 8
    assert server.wait_log(r"event=proxy-failed .*listener=pop3s error=\"no complete PROXY "
                           r"header within 5000ms")


def test_lmtp_over_tcp_takes_the_header_too(proxied_server):
    server = proxied_server(extra=["--lmtp", "127.0.0.1:0"])
    assert server.wait_log(r"listening listener=lmtp address=127\.0\.0\.1:\d+")
    port = int(re.search(r"listening listener=lmtp address=127\.0\.0\.1:(\d+)",
                         server.log()).group(1))
    c = proxied(port, v2("198.51.100.20", 5555, dport=24))
    assert c.line().startswith(b"220 ")
    assert c.cmd("LHLO mta.example").startswith(b"250")
    assert server.wait_log(r"lmtp=\d+ event=connect rip=198\.51\.100\.20 rport=5555 "
                           r"proxy=127\.0\.0\.1:\d+ proxy_version=2")
    bad = proxied(port, b"LHLO mta.example\r\n")
    assert bad.closed()
    assert server.wait_log(r"lmtp=\d+ event=proxy-failed proxy=127\.0\.0\.1 error=")


def test_proxy_trusted_flag_is_checked(make_server):
    server = make_server(args=["--proxy-trusted", "127.0.0.1,10.0.0.0/33"])
    proc = subprocess.run(server.command(), capture_output=True, timeout=30)
    assert proc.returncode != 0
    assert b"--proxy-trusted 127.0.0.1,10.0.0.0/33: \"10.0.0.0/33\"" in proc.stderr


# --- HAProxy ---------------------------------------------------------------------------------

CLIENT = "127.0.0.5"  # the client's source address, told apart from HAProxy's 127.0.0.1


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def loopback_config(text, pop3, pop3s, front_pop3, front_pop3s):
    """contrib/haproxy/haproxy.cfg with its example addresses replaced by this test's, and a
    connection limit that needs no more descriptors than a test machine allows."""
    text = re.sub(r"maxconn \d+", "maxconn 200", text)
    text = text.replace("bind :110", f"bind 127.0.0.1:{front_pop3}")
    text = text.replace("bind :995", f"bind 127.0.0.1:{front_pop3s}")
    text = re.sub(r"192\.0\.2\.\d+:110\b", f"127.0.0.1:{pop3}", text)
    text = re.sub(r"192\.0\.2\.\d+:995\b", f"127.0.0.1:{pop3s}", text)
    return text.replace("check port 110", f"check port {pop3}")


@pytest.fixture
def haproxy(tmp_path):
    binary = shutil.which("haproxy") or "/usr/sbin/haproxy"
    if not pathlib.Path(binary).exists():
        pytest.skip("haproxy is not installed (dev.sh installs it)")
    procs = []

    def start(mailport):
        fronts = free_port(), free_port()
        cfg = tmp_path / "haproxy.cfg"
        cfg.write_text(loopback_config(HAPROXY_CFG.read_text(), mailport.pop3_port,
                                       mailport.pop3s_port, *fronts))
        proc = subprocess.Popen([binary, "-db", "-f", str(cfg)], stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT)
        procs.append(proc)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            assert proc.poll() is None, proc.stdout.read().decode()
            try:
                for port in fronts:
                    socket.create_connection(("127.0.0.1", port), timeout=1).close()
                return fronts
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("haproxy did not start")

    yield start
    for proc in procs:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def test_contrib_haproxy_cfg_is_valid():
    binary = shutil.which("haproxy") or "/usr/sbin/haproxy"
    if not pathlib.Path(binary).exists():
        pytest.skip("haproxy is not installed (dev.sh installs it)")
    proc = subprocess.run([binary, "-c", "-f", str(HAPROXY_CFG)], capture_output=True, timeout=30)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    text = HAPROXY_CFG.read_text()
    assert "send-proxy-v2" in text and re.search(r"send-proxy\s", text)


class SourcedPOP3(poplib.POP3):
    def _create_socket(self, timeout):
        return socket.create_connection((self.host, self.port), timeout,
                                        source_address=(CLIENT, 0))


class SourcedPOP3_SSL(poplib.POP3_SSL):
    def _create_socket(self, timeout):
        sock = socket.create_connection((self.host, self.port), timeout,
                                        source_address=(CLIENT, 0))
        return self.context.wrap_socket(sock, server_hostname="localhost")


def test_poplib_through_haproxy_pop3s_and_stls(make_server, haproxy, pki):
    server = make_server(args=["--proxy-trusted", PROXY])
    server.mail.add("alice", b"Subject: through the proxy\r\n\r\nhello\r\n")
    server.start()
    front_pop3, front_pop3s = haproxy(server)

    pop = SourcedPOP3_SSL("127.0.0.1", front_pop3s, context=pki.client_context(), timeout=10)
    pop.user("alice")
    pop.pass_("alicepw")
    assert pop.stat()[0] == 1
    assert b"hello" in b"\r\n".join(pop.retr(1)[1])
    pop.quit()
    assert server.wait_log(r"event=login result=ok user=\"alice\" mech=USER rip=127\.0\.0\.5 "
                           r"rport=\d+ listener=pop3s tls=TLS")
    assert server.wait_log(r"event=connect rip=127\.0\.0\.5 rport=\d+ listener=pop3s "
                           r"proxy=127\.0\.0\.1:\d+ proxy_version=2")

    pop = SourcedPOP3("127.0.0.1", front_pop3, timeout=10)
    pop.stls(pki.client_context())
    pop.user("bob")
    pop.pass_("bobpw")
    assert pop.stat()[0] == 0
    pop.quit()
    assert server.wait_log(r"event=login result=ok user=\"bob\" mech=USER rip=127\.0\.0\.5 "
                           r"rport=\d+ listener=pop3 tls=TLS")
    assert server.wait_log(r"event=connect rip=127\.0\.0\.5 rport=\d+ listener=pop3 "
                           r"proxy=127\.0\.0\.1:\d+ proxy_version=1")
    # HAProxy's health checks arrive with a header too and are served, not refused.
    assert "event=proxy-failed" not in server.log()
