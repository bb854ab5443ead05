"""bench/scale.py --smoke: the scale-out benchmark still starts its topologies (Maildir alone,
PostgreSQL with two instances behind HAProxy), drives them with mailport-bench and reports
sessions/s and MB/s without errors. Takes about ten seconds."""

import json
import pathlib
import signal
import subprocess

import pytest

from conftest import BIN, ROOT
from support import haproxy as haproxy_support
from support import postgres as postgres_support

BENCH_BIN = pathlib.Path(BIN).resolve().parents[2] / "bench" / "mailport-bench"


def test_scale_bench_smoke(tmp_path):
    for reason in (postgres_support.unavailable_reason(), haproxy_support.unavailable_reason()):
        if reason:
            pytest.skip(reason)
    assert BENCH_BIN.exists(), f"{BENCH_BIN} is built with mailport (bench/CMakeLists.txt)"
    out = tmp_path / "out"
    proc = subprocess.Popen(
        ["/usr/bin/python3", str(ROOT / "bench" / "scale.py"), "--smoke", "--skip-build",
         "--mailport-bin", BIN, "--bench-bin", str(BENCH_BIN), "--workdir", str(tmp_path),
         "--out", str(out)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        stdout, stderr = proc.communicate(timeout=120)
    except subprocess.TimeoutExpired:
        # SIGINT lets the script stop its servers and PostgreSQL in its finally blocks.
        proc.send_signal(signal.SIGINT)
        stdout, stderr = proc.communicate(timeout=60)
        pytest.fail("bench/scale.py --smoke took more than 120 s:\n" + stderr)
    assert proc.returncode == 0, stderr
    results = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    seen = {(r["topology"], r["scenario"]) for r in results}
    assert seen == {(t, s) for t in ("maildir-1", "pg-2-haproxy") for s in ("login", "retr")}
    for r in results:
        assert r["errors"] == 0, r
        assert r["sessions_per_s"] > 0, r
        if r["scenario"] == "retr":
            assert r["mb_per_s"] > 0, r
    proxied = [r for r in results if r["topology"] == "pg-2-haproxy"]
    assert all(r["cpu_s"]["haproxy"] > 0 and "postgres" in r["cpu_s"] for r in proxied)
    table = (out / "table.md").read_text()
    assert "| pg-2-haproxy | 2 | yes | PostgreSQL |" in table
    assert "| maildir-1 | 1 | no | Maildir |" in table
