"""`cpack -G DEB` builds a package with the documented layout; run as root with dpkg (as in CI),
the test installs it, starts the service's ExecStart command as the unit's user on loopback
ports, logs in over POP3S with poplib, and purges the package again."""

import fcntl
import os
import pathlib
import poplib
import re
import shlex
import shutil
import signal
import ssl
import subprocess
import time

import pytest

from conftest import BIN

# The build directory of the binary under test (build/src/cli/mailport -> build).
BUILD = pathlib.Path(BIN).resolve().parents[2]
UNIT = pathlib.Path("/lib/systemd/system/mailport.service")
CONF = pathlib.Path("/etc/mailport")
START_TIMEOUT = 20
PASSWORD = "package smoke test passphrase"
EXPECTED_FILES = [
    "./usr/bin/mailport",
    "./etc/mailport/mailport.toml",
    "./lib/systemd/system/mailport.service",
    "./usr/share/man/man1/mailport.1",
    "./usr/share/bash-completion/completions/mailport",
    "./usr/share/doc/mailport/operations.md",
    "./usr/share/doc/mailport/examples/fail2ban/filter.d/mailport.conf",
]


def run(cmd, timeout=60, **kwargs):
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, **kwargs)


pytestmark = pytest.mark.skipif(bool(os.environ.get("MAILPORT_SANITIZED")),
                                reason="the package is of the release build, tested in its stage")


@pytest.fixture(scope="module")
def deb(tmp_path_factory):
    if not (BUILD / "CPackConfig.cmake").exists():
        pytest.fail(f"{BUILD}/CPackConfig.cmake is missing: configure and build first")
    out_dir = tmp_path_factory.mktemp("package")
    result = run(["cpack", "-G", "DEB", "--config", str(BUILD / "CPackConfig.cmake"), "-B",
                  str(out_dir)], timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    debs = list(out_dir.glob("mailport_*.deb"))
    assert len(debs) == 1, list(out_dir.iterdir())
    return debs[0]


def test_contents(deb):
    listing = run(["dpkg-deb", "-c", str(deb)]).stdout
    paths = {line.split()[-1] for line in listing.splitlines()}
    for expected in EXPECTED_FILES:
        assert expected in paths, listing
    binary = next(line for line in listing.splitlines() if line.endswith("./usr/bin/mailport"))
    assert binary.startswith("-rwxr-xr-x root/root")


def test_control(deb, tmp_path):
    info = run(["dpkg-deb", "-I", str(deb)]).stdout
    assert re.search(r"^ Package: mailport$", info, re.M)
    assert re.search(r"^ Section: mail$", info, re.M)
    depends = run(["dpkg-deb", "-f", str(deb), "Depends"]).stdout
    for needed in ("adduser", "openssl", "libprometheus-cpp-pull", "libssl3", "libargon2"):
        assert needed in depends, depends
    control = tmp_path / "control"
    assert run(["dpkg-deb", "-e", str(deb), str(control)]).returncode == 0
    assert (control / "conffiles").read_text().split() == ["/etc/mailport/mailport.toml"]
    for script in ("postinst", "prerm", "postrm"):
        assert os.access(control / script, os.X_OK), script
        assert run(["sh", "-n", str(control / script)]).returncode == 0, script
    assert "adduser --system" in (control / "postinst").read_text()


def test_packaged_unit_uses_the_package_paths(deb, tmp_path):
    assert run(["dpkg-deb", "-x", str(deb), str(tmp_path)]).returncode == 0
    unit = (tmp_path / "lib/systemd/system/mailport.service").read_text()
    assert "ExecStart=/usr/bin/mailport serve --config /etc/mailport/mailport.toml" in unit
    assert "User=mailport" in unit and "Group=mailport" in unit
    config = (tmp_path / "etc/mailport/mailport.toml").read_text()
    assert 'location = "/var/mail/vhosts/%d/%n/Maildir"' in config
    assert "ReadWritePaths=/var/mail/vhosts" in unit


# --- installing it -------------------------------------------------------------------------------

can_install = pytest.mark.skipif(
    os.geteuid() != 0 or not shutil.which("dpkg"), reason="installing needs root and dpkg (CI)")


def unit_setting(text, key):
    return [line.split("=", 1)[1] for line in text.splitlines() if line.startswith(key + "=")]


def dpkg(*args):
    # Another dpkg or apt run may hold the lock for a moment.
    for _ in range(30):
        result = run(["dpkg", *args], timeout=120)
        if "lock" not in result.stderr or result.returncode == 0:
            return result
        time.sleep(2)
    return result


@pytest.fixture
def installed(deb):
    if run(["dpkg-query", "-W", "-f", "${Status}", "mailport"]).stdout.startswith("install ok"):
        pytest.skip("a mailport package is already installed on this machine")
    if CONF.exists():
        pytest.skip("/etc/mailport exists on this machine; not touching it")
    user_existed = run(["getent", "passwd", "mailport"]).returncode == 0
    lock = open("/tmp/mailport-package-test.lock", "w")
    fcntl.flock(lock, fcntl.LOCK_EX)
    try:
        result = dpkg("-i", str(deb))
        assert result.returncode == 0, result.stdout + result.stderr
        yield
    finally:
        shutil.rmtree("/var/mail/vhosts/example.org", ignore_errors=True)
        purged = dpkg("--purge", "mailport")
        if not user_existed and run(["getent", "passwd", "mailport"]).returncode == 0:
            run(["deluser", "--system", "mailport"])
            run(["delgroup", "--system", "mailport"])
        lock.close()
        assert purged.returncode == 0, purged.stdout + purged.stderr


@can_install
def test_install_serve_and_purge(installed, tmp_path):
    assert run(["id", "mailport"]).returncode == 0
    assert (CONF / "tls" / "fullchain.pem").exists()
    assert run(["/usr/bin/mailport", "--version"]).stdout.startswith("mailport ")
    added = run(["/usr/bin/mailport", "user", "add", "alice@example.org", "--passwd",
                 str(CONF / "passwd")], input=PASSWORD + "\n")
    assert added.returncode == 0, added.stderr
    unit = UNIT.read_text()
    user = unit_setting(unit, "User")[0]
    as_user = ["runuser", "-u", user, "--"]
    delivered = run(as_user + ["/usr/bin/mailport", "deliver", "-d", "alice@example.org",
                               "--config", str(CONF / "mailport.toml")],
                    input="Subject: packaged\r\n\r\nhello from the package test\r\n")
    assert delivered.returncode == 0, delivered.stderr
    for pre in unit_setting(unit, "ExecStartPre"):
        checked = run(as_user + shlex.split(pre))
        assert checked.returncode == 0, checked.stderr
    command = shlex.split(unit_setting(unit, "ExecStart")[0])
    command += ["--pop3", "127.0.0.1:0", "--pop3s", "127.0.0.1:0", "--log-format", "text"]
    log = tmp_path / "serve.log"
    with open(log, "w") as sink:
        proc = subprocess.Popen(as_user + command, stdout=subprocess.DEVNULL, stderr=sink)
    try:
        port = None
        deadline = time.monotonic() + START_TIMEOUT
        while port is None and time.monotonic() < deadline and proc.poll() is None:
            match = re.search(r"listening listener=pop3s address=\S+ port=(\d+)", log.read_text())
            port = int(match.group(1)) if match else None
            time.sleep(0.05)
        assert port, log.read_text()
        context = ssl.create_default_context(cafile=str(CONF / "tls" / "fullchain.pem"))
        context.check_hostname = False  # the self-signed certificate names the host, not 127.0.0.1
        client = poplib.POP3_SSL("127.0.0.1", port, context=context, timeout=10)
        client.user("alice@example.org")
        client.pass_(PASSWORD)
        assert client.stat()[0] == 1
        assert b"hello from the package test" in b"\n".join(client.retr(1)[1])
        client.quit()
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=10)
    assert "event=login result=ok" in log.read_text()
    removed = run(["/usr/bin/mailport", "user", "del", "alice@example.org", "--passwd",
                   str(CONF / "passwd")])
    assert removed.returncode == 0, removed.stderr
