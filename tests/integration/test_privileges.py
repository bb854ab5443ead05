"""Privilege separation: started as root, mailport binds its ports, then runs as the configured
unprivileged mail user (optionally chrooted), never serves mail as root, and refuses users whose
passwd-file uid/gid it cannot honour."""

import os
import pathlib
import pwd
import shutil
import signal
import subprocess
import tempfile
import time

import pytest

from conftest import BIN, Server

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root to start as root")

NOBODY = pwd.getpwnam("nobody")


def proc_status(pid):
    fields = {}
    for line in pathlib.Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        fields[key] = value.split()
    return fields


@pytest.fixture
def world_dir():
    """A directory the unprivileged user can reach (pytest's own temp dirs are root-only)."""
    path = pathlib.Path(tempfile.mkdtemp(prefix="mailport-priv-"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def give_to_nobody(root):
    for path in [root, *root.rglob("*")]:
        os.chown(path, NOBODY.pw_uid, NOBODY.pw_gid)


def dropping_server(pki, directory, privileges, users=None):
    server = Server(directory, pki, users=users)
    server.mail.add("alice", b"Subject: one\n\nfirst\n")
    server.mail.add("alice", b"Subject: two\n\nsecond\n")
    config = server.write_config(privileges)
    server.args = ["--config", str(config)]
    give_to_nobody(directory)
    return server


def test_drops_to_the_mail_user_and_cannot_regain_root(pki, world_dir):
    server = dropping_server(pki, world_dir, '[privileges]\nuser = "nobody"\n')
    try:
        server.start()
        assert server.wait_log(r"privileges dropped user=nobody uid=65534 gid=65534")
        status = proc_status(server.proc.pid)
        assert status["Uid"] == [str(NOBODY.pw_uid)] * 4
        assert status["Gid"] == [str(NOBODY.pw_gid)] * 4
        assert status["Groups"] in ([], [str(NOBODY.pw_gid)])
        assert status["CapEff"] == ["0000000000000000"]
        assert status["CapPrm"] == ["0000000000000000"]
        assert status["NoNewPrivs"] == ["1"]
        # Mail is served, and deleted, as the mail user.
        c = server.raw(tls=True)
        c.line()
        c.login()
        assert c.cmd("STAT").startswith(b"+OK 2 ")
        assert c.cmd("DELE 1").startswith(b"+OK")
        assert c.cmd("QUIT").startswith(b"+OK")
        assert len(server.mail.files("alice")) == 1
        assert all(p.stat().st_uid == NOBODY.pw_uid for p in server.mail.files("alice"))
        # A passwd entry may name the mail user's ids, but no other owner.
        server.passwd.write_text("alice:{PLAIN}alicepw\n"
                                 f"owned:{{PLAIN}}pw:{NOBODY.pw_uid}:{NOBODY.pw_gid}::::\n"
                                 "foreign:{PLAIN}pw:1000:1000::::\n")
        c = server.raw(tls=True)
        c.line()
        c.cmd("USER foreign")
        assert c.cmd("PASS pw").startswith(b"-ERR [SYS/")
        c.cmd("USER owned")
        assert c.cmd("PASS pw").startswith(b"+OK")
    finally:
        server.stop()


def test_chroot_confines_the_server(pki, world_dir):
    server = dropping_server(pki, world_dir,
                             f'[privileges]\nuser = "nobody"\nchroot = "{world_dir}"\n')
    # Inside the chroot, so that a reload (as the mail user) can read them again.
    for name in ("cert", "key"):
        shutil.copy(getattr(pki, name), world_dir / f"{name}.pem")
        os.chown(world_dir / f"{name}.pem", NOBODY.pw_uid, NOBODY.pw_gid)
    server.args += ["--cert", str(world_dir / "cert.pem"), "--key", str(world_dir / "key.pem")]
    try:
        server.start()
        assert server.wait_log(rf"privileges dropped user=nobody .* chroot={world_dir}")
        assert os.readlink(f"/proc/{server.proc.pid}/root") == str(world_dir)
        c = server.raw(tls=True)
        c.line()
        c.login()
        assert c.cmd("RETR 2").startswith(b"+OK")
        assert b"second" in c.multiline()
        assert c.cmd("QUIT").startswith(b"+OK")
        # A reload inside the chroot reads the configuration by its path there.
        (world_dir / "mailport.toml").write_text(
            f'[privileges]\nuser = "nobody"\nchroot = "{world_dir}"\n'
            '[session]\ngreeting = "reloaded in the chroot"\n')
        server.proc.send_signal(signal.SIGHUP)
        assert server.wait_log(r"reloaded:"), server.log()
        assert server.raw().line() == b"+OK reloaded in the chroot"
    finally:
        server.stop()


def test_refuses_to_serve_mail_as_root_on_a_public_address(pki, tmp_path):
    server = Server(tmp_path, pki)
    proc = subprocess.run(server.command() + ["--pop3", "0.0.0.0:0", "--pop3s", "off"],
                          capture_output=True, timeout=30)
    assert proc.returncode == 78, proc.stderr
    assert b"refusing to serve mail as root on 0.0.0.0" in proc.stderr


def test_root_on_loopback_only_is_tolerated_with_a_warning(server):
    server.start()
    assert server.wait_log(r"running as root \(tolerated because every listener is on loopback\)")


def test_passwd_entries_naming_another_owner_or_root_are_refused(make_server):
    server = make_server()
    server.passwd.write_text("alice:{PLAIN}alicepw\n"
                             "rooted:{PLAIN}pw:0:0::/root::\n"
                             f"other:{{PLAIN}}pw:{os.geteuid() + 1234}:{os.getegid()}::::\n")
    server.start()
    c = server.raw(tls=True)
    c.line()
    for user in ("rooted", "other"):
        c.cmd(f"USER {user}")
        assert c.cmd("PASS pw").startswith(b"-ERR [SYS/")
    assert server.wait_log(r"user=\"rooted\".*mail is never served as root")
    assert server.wait_log(r"user=\"other\".*privileges.user owns all mail")
    c.login()


def test_a_switch_without_root_is_refused(pki, world_dir):
    server = dropping_server(pki, world_dir, '[privileges]\nuser = "root"\n')
    # The unprivileged process must be able to read the certificate before it gets that far.
    for name in ("cert", "key"):
        copy = world_dir / f"{name}.pem"
        shutil.copy(getattr(pki, name), copy)
        os.chown(copy, NOBODY.pw_uid, NOBODY.pw_gid)
    proc = subprocess.run(
        ["setpriv", f"--reuid={NOBODY.pw_uid}", f"--regid={NOBODY.pw_gid}", "--clear-groups",
         *server.command(), "--cert", str(world_dir / "cert.pem"),
         "--key", str(world_dir / "key.pem")], capture_output=True, timeout=30)
    assert proc.returncode == 78, proc.stderr
    assert b"only root can switch to another user" in proc.stderr


def test_running_as_root_is_refused_even_when_configured(pki, world_dir):
    server = dropping_server(pki, world_dir, '[privileges]\nuser = "root"\n')
    proc = subprocess.run(server.command(), capture_output=True, timeout=30)
    assert proc.returncode != 0
    assert b"refusing to run as root" in proc.stderr
