"""contrib/fail2ban matches mailport's real log lines: every failed login, never a good one."""

import base64
import re
import shutil
import subprocess

import pytest

from conftest import ROOT

FILTER = ROOT / "contrib" / "fail2ban" / "filter.d" / "mailport.conf"


@pytest.fixture
def fail2ban_regex():
    path = shutil.which("fail2ban-regex")
    if not path:
        pytest.fail("fail2ban-regex is required (./dev.sh installs fail2ban)")
    return path


def test_filter_matches_failed_logins_only(make_server, fail2ban_regex, tmp_path):
    server = make_server()
    server.start()
    failures = 0
    for user in ("alice", "nobody"):
        c = server.raw(tls=True, source="127.0.0.42")
        c.line()
        c.cmd(f"USER {user}")
        assert c.cmd("PASS wrong").startswith(b"-ERR [AUTH]")
        failures += 1
    # A login name crafted to look like another log field (SASL allows spaces and quotes).
    c = server.raw(tls=True, source="127.0.0.42")
    c.line()
    forged = base64.b64encode(b'\0evil" rip=10.9.9.9 x="\0wrong').decode()
    assert c.cmd(f"AUTH PLAIN {forged}").startswith(b"-ERR [AUTH]")
    failures += 1
    good = server.raw(tls=True, source="127.0.0.43")
    good.line()
    good.login()
    good.cmd("QUIT")
    assert server.wait_log(r"event=login result=ok")
    log = tmp_path / "mailport.log"
    log.write_text(server.log())
    out = subprocess.run([fail2ban_regex, str(log), str(FILTER)], capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 0, out.stderr
    matched = int(re.search(r"Lines: \d+ lines, \d+ ignored, (\d+) matched", out.stdout).group(1))
    assert matched == failures, out.stdout
    # The address each match would ban, one per line.
    ips = subprocess.run([fail2ban_regex, "-o", "ip", str(log), str(FILTER)], capture_output=True,
                         text=True, timeout=60).stdout.split()
    assert ips == ["127.0.0.42"] * failures, "a quote in a login name must not forge the address"
