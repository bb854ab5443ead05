"""contrib/fail2ban/filter.d/mailport-json.conf matches the failed logins of a real
log_format = "json" log, never a good one, and a crafted login name cannot forge the address."""

import base64
import re
import shutil
import subprocess

import pytest

from conftest import ROOT
from test_logs import JsonServer

FILTER = ROOT / "contrib" / "fail2ban" / "filter.d" / "mailport-json.conf"


def test_json_filter_matches_failed_logins_only(tmp_path, pki, request):
    fail2ban_regex = shutil.which("fail2ban-regex")
    if not fail2ban_regex:
        pytest.fail("fail2ban-regex is required (./dev.sh installs fail2ban)")
    server = JsonServer(tmp_path, pki, args=["--log-format", "json"])
    request.addfinalizer(server.stop)
    server.start()
    failures = 0
    for user in ("alice", "nobody"):
        c = server.raw(tls=True, source="127.0.0.42")
        c.line()
        c.cmd(f"USER {user}")
        assert c.cmd("PASS wrong").startswith(b"-ERR [AUTH]")
        failures += 1
    c = server.raw(tls=True, source="127.0.0.42")
    c.line()
    forged = base64.b64encode(b'\0evil","rip":"10.9.9.9","x":"\0wrong').decode()
    assert c.cmd(f"AUTH PLAIN {forged}").startswith(b"-ERR [AUTH]")
    failures += 1
    good = server.raw(tls=True, source="127.0.0.43")
    good.line()
    good.login()
    good.cmd("QUIT")
    assert server.wait_log(r'"event":"login","result":"ok"')
    log = tmp_path / "mailport.json.log"
    log.write_text(server.log())
    out = subprocess.run([fail2ban_regex, str(log), str(FILTER)], capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 0, out.stderr
    matched = int(re.search(r"Lines: \d+ lines, \d+ ignored, (\d+) matched", out.stdout).group(1))
    assert matched == failures, out.stdout
    ips = subprocess.run([fail2ban_regex, "-o", "ip", str(log), str(FILTER)], capture_output=True,
                         text=True, timeout=60).stdout.split()
    assert ips == ["127.0.0.42"] * failures
