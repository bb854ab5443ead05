"""contrib/fail2ban filters match mailport's real log lines (text and JSON): every failed login,
never a good one, and a crafted login name cannot forge the address that gets banned."""

import base64
import re
import shutil
import subprocess

import pytest

from conftest import ROOT
from test_logs import JsonServer

FILTERS = ROOT / "contrib" / "fail2ban" / "filter.d"


@pytest.fixture
def fail2ban_regex():
    path = shutil.which("fail2ban-regex")
    if not path:
        pytest.fail("fail2ban-regex is required (./dev.sh installs fail2ban)")
    return path


def failed_then_good_logins(server, forged_login):
    """Three failed logins from 127.0.0.42 (one with a login name crafted to look like another
    log field: SASL allows spaces and quotes), then a good one from 127.0.0.43."""
    failures = 0
    for user in ("alice", "nobody"):
        c = server.raw(tls=True, source="127.0.0.42")
        c.line()
        c.cmd(f"USER {user}")
        assert c.cmd("PASS wrong").startswith(b"-ERR [AUTH]")
        failures += 1
    c = server.raw(tls=True, source="127.0.0.42")
    c.line()
    forged = base64.b64encode(b"\0" + forged_login + b"\0wrong").decode()
    assert c.cmd(f"AUTH PLAIN {forged}").startswith(b"-ERR [AUTH]")
    failures += 1
    good = server.raw(tls=True, source="127.0.0.43")
    good.line()
    good.login()
    good.cmd("QUIT")
    return failures


def assert_filter_bans_only(fail2ban_regex, log, filter_file, failures):
    out = subprocess.run([fail2ban_regex, str(log), str(filter_file)], capture_output=True,
                         text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    matched = int(re.search(r"Lines: \d+ lines, \d+ ignored, (\d+) matched", out.stdout).group(1))
    assert matched == failures, out.stdout
    # The address each match would ban, one per line.
    ips = subprocess.run([fail2ban_regex, "-o", "ip", str(log), str(filter_file)],
                         capture_output=True, text=True, timeout=60).stdout.split()
    assert ips == ["127.0.0.42"] * failures, "a quote in a login name must not forge the address"


def test_filter_matches_failed_logins_only(make_server, fail2ban_regex, tmp_path):
    server = make_server()
    server.start()
    failures = failed_then_good_logins(server, b'evil" rip=10.9.9.9 x="')
    assert server.wait_log(r"event=login result=ok")
    log = tmp_path / "mailport.log"
    log.write_text(server.log())
    assert_filter_bans_only(fail2ban_regex, log, FILTERS / "mailport.conf", failures)


def test_json_filter_matches_failed_logins_only(fail2ban_regex, tmp_path, pki, request):
    server = JsonServer(tmp_path, pki, args=["--log-format", "json"])
    request.addfinalizer(server.stop)
    server.start()
    failures = failed_then_good_logins(server, b'evil","rip":"10.9.9.9","x":"')
    assert server.wait_log(r'"event":"login","result":"ok"')
    log = tmp_path / "mailport.json.log"
    log.write_text(server.log())
    assert_filter_bans_only(fail2ban_regex, log, FILTERS / "mailport-json.conf", failures)
