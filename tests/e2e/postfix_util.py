"""An isolated Postfix instance for end-to-end tests: its own config, queue and data directories
in a temporary directory, SMTP on an ephemeral loopback port, nothing shared with a system
instance (which is neither read nor started nor stopped)."""

import os
import pathlib
import shutil
import socket
import subprocess
import time

POSTFIX = shutil.which("postfix") or "/usr/sbin/postfix"
POSTCONF = shutil.which("postconf") or "/usr/sbin/postconf"
POSTQUEUE = shutil.which("postqueue") or "/usr/sbin/postqueue"


def unavailable_reason():
    """Why a private Postfix cannot run here, or None."""
    if not os.path.exists(POSTFIX) or not os.path.exists("/etc/postfix/master.cf"):
        return "Postfix is not installed (Debian package postfix)"
    if os.geteuid() != 0:
        return "a private Postfix instance needs root (its queue is owned by the postfix user)"
    try:
        subprocess.run(["id", "postfix"], check=True, capture_output=True)
        subprocess.run(["getent", "group", "postdrop"], check=True, capture_output=True)
    except subprocess.CalledProcessError:
        return "the postfix user or postdrop group is missing"
    return None


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Postfix:
    """`main` holds extra main.cf settings; the instance listens on 127.0.0.1:smtp_port."""

    def __init__(self, root: pathlib.Path, main: dict):
        self.root = root
        self.config_dir = root / "etc"
        self.queue_dir = root / "queue"
        self.data_dir = root / "data"
        self.log_file = root / "maillog"
        self.smtp_port = free_port()
        for d in (self.config_dir, self.queue_dir, self.data_dir):
            d.mkdir(parents=True)
        # The data directory belongs to the mail owner; the queue's subdirectories are made by
        # `postfix start` itself.
        shutil.chown(self.data_dir, "postfix", "postfix")
        settings = {
            "compatibility_level": "3.6",
            "queue_directory": str(self.queue_dir),
            "data_directory": str(self.data_dir),
            "mail_owner": "postfix",
            "setgid_group": "postdrop",
            "inet_interfaces": "loopback-only",
            "inet_protocols": "ipv4",
            "myhostname": "mx.example.test",
            "mydomain": "example.test",
            "mydestination": "localhost.example.test",
            "mynetworks": "127.0.0.0/8",
            "maillog_file": str(self.log_file),
            "maillog_file_prefixes": str(root),
            "smtpd_banner": "$myhostname ESMTP",
            "biff": "no",
            "smtputf8_enable": "no",
            "relayhost": "",
            "default_transport": "error:no outside delivery in tests",
            "alias_maps": "",
            "alias_database": "",
            "message_size_limit": "40000000",
            **main,
        }
        (self.config_dir / "main.cf").write_text(
            "".join(f"{k} = {v}\n" for k, v in settings.items()))
        master = pathlib.Path("/etc/postfix/master.cf").read_text()
        # SMTP only on our port; no chroot, so no files need copying into the queue directory.
        master = master.replace("smtp      inet  n       -       y       -       -       smtpd",
                                f"127.0.0.1:{self.smtp_port} inet n - n - - smtpd")
        (self.config_dir / "master.cf").write_text(master)
        self.postconf("-F", "*/*/chroot = n")

    def postconf(self, *args):
        return subprocess.run([POSTCONF, "-c", str(self.config_dir), *args], check=True,
                              capture_output=True, text=True).stdout

    def _postfix(self, *args):
        return subprocess.run([POSTFIX, "-c", str(self.config_dir), *args], capture_output=True,
                              text=True, timeout=60)

    def start(self):
        result = self._postfix("start")
        if result.returncode != 0:
            raise RuntimeError("postfix start failed:\n" + result.stdout + result.stderr +
                               self.log())
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.smtp_port), timeout=1) as s:
                    if s.recv(100).startswith(b"220"):
                        return self
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("postfix SMTP did not come up:\n" + self.log())

    def stop(self):
        self._postfix("stop")

    def flush(self):
        subprocess.run([POSTQUEUE, "-c", str(self.config_dir), "-f"], capture_output=True,
                       timeout=30)

    def queue_ids(self):
        """Queue ids of messages still queued (deferred or active)."""
        out = subprocess.run([POSTQUEUE, "-c", str(self.config_dir), "-j"], capture_output=True,
                             text=True, timeout=30).stdout
        return [line for line in out.splitlines() if line.strip()]

    def log(self):
        try:
            return self.log_file.read_text(errors="replace")
        except FileNotFoundError:
            return "(no maillog)"


def wait_for(predicate, timeout, what, log=lambda: ""):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}\n{log()}")
