"""Smoke test of the benchmark: bench/run.py --smoke drives every scenario of mailport-bench
against mailport (and Dovecot when it is installed) for a moment and must count no error; and
mailport-bench really checks what servers answer. No timing is asserted anywhere."""

import json
import os
import pathlib
import socket
import subprocess
import sys
import threading

import pytest

from conftest import BIN, ROOT

sys.path.insert(0, str(ROOT))
from tests.support import dovecot as dovecot_support  # noqa: E402

BUILD = pathlib.Path(BIN).resolve().parents[2]
BENCH = os.environ.get("MAILPORT_BENCH_BIN") or str(BUILD / "bench" / "mailport-bench")
PYTHON = "/usr/bin/python3"


def bench(*args, timeout=60, **kwargs):
    proc = subprocess.run([BENCH, *map(str, args)], capture_output=True, text=True,
                          timeout=timeout, **kwargs)
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    return proc.returncode, result


def run_smoke(tmp_path, servers, only):
    out = tmp_path / f"out-{servers}"
    proc = subprocess.run(
        [PYTHON, str(ROOT / "bench" / "run.py"), "--smoke", "--skip-build", "--servers", servers,
         "--only", only, "--mailport-bin", BIN, "--bench-bin", BENCH,
         "--workdir", str(tmp_path / "work"), "--out", str(out)],
        capture_output=True, text=True, timeout=180)
    results = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    return proc, results


def check_results(results, server, cases):
    by_case = {r["case"]: r for r in results if r["server"] == server}
    assert set(cases) <= set(by_case), sorted(by_case)
    for case, result in by_case.items():
        assert result["errors"] == 0, (case, result.get("error_kinds"),
                                       result.get("error_samples"))
        # The ARGON2ID mix is left out: a server that stalls may legitimately let its probe
        # finish no session in a smoke-sized window; the full run measures that.
        if case.startswith(("login-", "retr-", "mixed-")) and case != "login-argon-mix":
            assert result["sessions"] > 0, case
        if case.startswith("retr-"):
            assert result["messages"] > 0 and result["bytes"] > 0, case
        if case.startswith("idle-"):
            assert result["held"] == result["connections"], case
            assert result["server_pss_kb"] > 0, case
        if case.startswith("bigbox-"):
            assert result["sessions"] > 0 and result["messages"] > 0, case
    return by_case


def test_smoke_every_scenario_against_mailport(tmp_path):
    proc, results = run_smoke(tmp_path, "mailport", "login,argon,retr,mixed,idle,bigbox")
    assert proc.returncode == 0, proc.stderr[-3000:]
    by_case = check_results(results, "mailport", [
        "login-plain", "login-tls", "login-stls-saslplain", "login-tls-resume",
        "login-argon-mix", "retr-plain", "retr-tls", "mixed-tls", "idle-plain-30",
        "idle-tls-30", "bigbox-sizes", "bigbox-nosizes"])
    assert by_case["login-tls"]["handshakes"] == by_case["login-tls"]["sessions"]
    # Clients that offer their last session's ticket get an abbreviated handshake.
    assert by_case["login-tls-resume"]["resumed"] > 0
    assert 1.9 <= by_case["idle-tls-30"]["server_fds_per_conn"] <= 2.1  # socket + lock
    assert by_case["mixed-tls"]["deleted"] > 0
    assert "| login-plain | sessions/s |" in proc.stdout


@pytest.mark.skipif(not dovecot_support.available() or os.geteuid() != 0,
                    reason="needs Debian's dovecot-pop3d and root (it serves mail as `mail`)")
def test_smoke_against_dovecot(tmp_path):
    proc, results = run_smoke(tmp_path, "dovecot", "retr,mixed")
    assert proc.returncode == 0, proc.stderr[-3000:]
    check_results(results, "dovecot", ["retr-plain", "retr-tls", "mixed-tls"])


def test_wrong_password_is_counted_not_hidden(make_server):
    server = make_server().start()
    code, result = bench("login", "--port", server.pop3s_port, "--tls", "implicit", "--user",
                         "alice", "--password", "wrong", "--clients", 1, "--duration", 0.5,
                         "--warmup", 0)
    assert code == 1
    assert result["sessions"] == 0
    assert result["error_kinds"].get("auth", 0) > 0


def test_plaintext_login_refused_by_default_policy_is_an_error(make_server):
    server = make_server().start()
    code, result = bench("login", "--port", server.pop3_port, "--user", "alice", "--password",
                         "alicepw", "--clients", 1, "--duration", 0.3, "--warmup", 0)
    assert code == 1 and result["errors"] > 0 and result["sessions"] == 0


class LyingServer:
    """A POP3 server on loopback whose RETR sends fewer octets than its LIST announced, or that
    ends lines with a bare LF, to prove mailport-bench checks what it receives."""

    def __init__(self, flaw):
        self.flaw = flaw
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self):
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except socket.timeout:
                continue
            with conn:
                conn.settimeout(5)
                try:
                    self.session(conn)
                except OSError:
                    pass

    def session(self, conn):
        eol = b"\n" if self.flaw == "bare-lf" else b"\r\n"
        conn.sendall(b"+OK ready" + eol)
        reader = conn.makefile("rb")
        for _ in range(20):
            line = reader.readline().strip().upper()
            if not line:
                return
            if line.startswith(b"LIST"):
                conn.sendall(b"+OK\r\n1 100\r\n.\r\n")
            elif line.startswith(b"RETR"):
                conn.sendall(b"+OK\r\n" + b"x" * 48 + b"\r\n.\r\n")
            elif line.startswith(b"QUIT"):
                conn.sendall(b"+OK bye\r\n")
                return
            else:
                conn.sendall(b"+OK\r\n")

    def close(self):
        self.stop.set()
        self.thread.join(timeout=5)
        self.sock.close()


@pytest.mark.parametrize("flaw,kind,scenario", [("short-retr", "retr-size", "retr"),
                                                ("bare-lf", "bare-lf", "login")])
def test_flawed_server_answers_are_errors(flaw, kind, scenario):
    server = LyingServer(flaw)
    try:
        code, result = bench(scenario, "--port", server.port, "--user", "u", "--password", "p",
                             "--clients", 1, "--duration", 0.3, "--warmup", 0, "--timeout", 5)
    finally:
        server.close()
    assert code == 1
    assert result["error_kinds"].get(kind, 0) > 0, result
    assert result["sessions"] == 0
