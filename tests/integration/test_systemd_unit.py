"""contrib/systemd/mailport.service: systemd accepts it, its sandbox is tight, and it keeps the
settings docs/security.md relies on."""

import pathlib
import re
import shutil
import subprocess

import pytest

from conftest import BIN, ROOT

UNIT = ROOT / "contrib" / "systemd" / "mailport.service"
ANALYZE = shutil.which("systemd-analyze")
needs_analyze = pytest.mark.skipif(not ANALYZE, reason="systemd-analyze is not installed "
                                   "(Debian package systemd)")


@pytest.fixture
def local_unit(tmp_path):
    """The unit with ExecStart pointing at the binary under test (verify checks it exists)."""
    path = tmp_path / "mailport.service"
    path.write_text(UNIT.read_text().replace("/usr/local/bin/mailport", BIN))
    return path


def test_unit_has_the_documented_sandbox():
    settings = {}
    for line in UNIT.read_text().splitlines():
        if "=" in line and not line.startswith("#"):
            key, _, value = line.partition("=")
            settings.setdefault(key, []).append(value)
    assert settings["NoNewPrivileges"] == ["yes"]
    assert settings["ProtectSystem"] == ["strict"]
    assert settings["CapabilityBoundingSet"] == ["CAP_NET_BIND_SERVICE"]
    assert settings["AmbientCapabilities"] == ["CAP_NET_BIND_SERVICE"]
    assert settings["ReadWritePaths"] == ["/var/mail/vhosts"]
    assert settings["ExecReload"] == ["/bin/kill -HUP $MAINPID"]
    assert settings["User"] != ["root"]
    assert any("serve --config" in value for value in settings["ExecStart"])


@needs_analyze
def test_systemd_analyze_verify_accepts_the_unit(local_unit):
    result = subprocess.run([ANALYZE, "verify", str(local_unit)], capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, result.stderr
    complaints = [line for line in result.stderr.splitlines() if local_unit.name in line]
    assert not complaints, complaints


@needs_analyze
def test_exposure_level_is_low(local_unit):
    result = subprocess.run([ANALYZE, "security", "--offline=yes", str(local_unit)],
                            capture_output=True, text=True, timeout=60)
    if "--offline" in result.stderr and result.returncode != 0:
        pytest.skip("this systemd-analyze cannot assess unit files offline")
    match = re.search(r"Overall exposure level for \S+: (\d+\.\d+)", result.stdout)
    assert match, result.stdout + result.stderr
    assert float(match.group(1)) <= 2.0, result.stdout
