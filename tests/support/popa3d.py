"""Debian's popa3d as a real old mbox POP3 server, without installing it (the package conflicts
with dovecot-pop3d): the .deb is fetched with `apt-get download` into a cache directory, unpacked
with `dpkg-deb -x` into a temp dir, and its binary runs inetd-style (the connection on stdin and
stdout), one process per connection accepted by a small loopback acceptor.

popa3d authenticates system accounts through PAM (/etc/pam.d/popa3d: pam_unix, i.e. /etc/passwd
and /etc/shadow), drops to its own user `popa3d` chrooted to /var/lib/popa3d before reading a
command, and serves /var/mail/USER as that user. Each connection's process therefore runs in a
private mount namespace (`unshare --mount`) where temp files are bind-mounted over /etc/passwd,
/etc/shadow, /etc/group, /etc/pam.d, /var/mail and /var/lib: a throwaway user and popa3d's own,
a temp spool directory and an empty chroot. The real /etc and /var/mail are never touched.

    with Popa3dServer(workdir, users={"alice": "alicepw"}) as old:
        old.spool("alice").write_bytes(mbox)
        poplib.POP3("127.0.0.1", old.port)
"""

import os
import pathlib
import shutil
import socket
import subprocess
import threading
import time

CACHE = pathlib.Path(os.environ.get("MAILPORT_TEST_CACHE",
                                    pathlib.Path.home() / ".cache" / "mailport-tests")) / "popa3d"
FIRST_UID = 64100  # throwaway accounts; they exist only inside the namespaces
POPA3D_UID = 64099
MAX_CONNECTIONS = 100  # every loop is bounded; no test needs more
SESSION_SECONDS = 60


class Unavailable(Exception):
    """popa3d cannot run here; the message says why (tests skip with it)."""


def _run(cmd, cwd=None, timeout=120):
    return subprocess.run(cmd, cwd=cwd, capture_output=True, timeout=timeout)


def fetch_deb():
    """The cached popa3d .deb, downloaded with apt-get on first use."""
    CACHE.mkdir(parents=True, exist_ok=True)
    debs = sorted(CACHE.glob("popa3d_*.deb"))
    if debs:
        return debs[-1]
    if shutil.which("apt-get") is None:
        raise Unavailable("apt-get is missing, so the popa3d package cannot be downloaded")
    try:
        out = _run(["apt-get", "download", "popa3d"], cwd=CACHE)
    except subprocess.TimeoutExpired:
        raise Unavailable("apt-get download popa3d timed out (offline?)") from None
    debs = sorted(CACHE.glob("popa3d_*.deb"))
    if out.returncode != 0 or not debs:
        raise Unavailable("apt-get download popa3d failed (offline, or no apt lists: run "
                          "apt-get update): " + out.stderr.decode(errors="replace").strip())
    return debs[-1]


def check_usable():
    if os.geteuid() != 0:
        raise Unavailable("popa3d switches users and the test isolates it with mount "
                          "namespaces: root only")
    for tool in ("unshare", "dpkg-deb", "mount", "openssl"):
        if shutil.which(tool) is None:
            raise Unavailable(f"{tool} is missing")


def sha512_crypt(password):
    out = _run(["openssl", "passwd", "-6", "-salt", "mailporttest", password], timeout=10)
    if out.returncode != 0:
        raise Unavailable("openssl passwd -6 failed: " + out.stderr.decode())
    return out.stdout.decode().strip()


class Popa3dServer:
    def __init__(self, workdir, users):
        """users: {name: password}; each gets an empty spool /var/mail/<name> it owns."""
        check_usable()
        self.dir = pathlib.Path(workdir).resolve()
        self.dir.mkdir(parents=True, exist_ok=True)
        self.users = users
        self.uids = {name: FIRST_UID + i for i, name in enumerate(sorted(users))}
        self.mail_dir = self.dir / "var-mail"
        self.log = self.dir / "popa3d.log"
        self.port = None
        self._listener = None
        self._thread = None
        self._stop = threading.Event()
        self._processes = []
        self._lock = threading.Lock()
        self.connections = 0

    def spool(self, user):
        return self.mail_dir / user

    def write_spool(self, user, data):
        path = self.spool(user)
        path.write_bytes(data)
        os.chown(path, self.uids[user], self.uids[user])
        os.chmod(path, 0o600)

    def _unpack(self):
        root = self.dir / "pkg"
        out = _run(["dpkg-deb", "-x", str(fetch_deb()), str(root)])
        if out.returncode != 0:
            raise Unavailable("dpkg-deb -x failed: " + out.stderr.decode())
        self.binary = root / "usr" / "sbin" / "popa3d"
        version = _run([str(self.binary), "-V"], timeout=10)
        if version.returncode != 0:
            raise Unavailable("the unpacked popa3d does not run: " + version.stderr.decode())

    def _write_system_files(self):
        etc = self.dir / "etc"
        (etc / "pam.d").mkdir(parents=True, exist_ok=True)
        passwd = ["root:x:0:0:root:/root:/bin/sh",
                  f"popa3d:x:{POPA3D_UID}:{POPA3D_UID}::/var/lib/popa3d:/usr/sbin/nologin"]
        shadow = ["root:*:19000:0:99999:7:::", "popa3d:*:19000:0:99999:7:::"]
        group = ["root:x:0:", f"popa3d:x:{POPA3D_UID}:"]
        for name, password in sorted(self.users.items()):
            uid = self.uids[name]
            passwd.append(f"{name}:x:{uid}:{uid}::/nonexistent:/usr/sbin/nologin")
            shadow.append(f"{name}:{sha512_crypt(password)}:19000:0:99999:7:::")
            group.append(f"{name}:x:{uid}:")
        (etc / "passwd").write_text("\n".join(passwd) + "\n")
        (etc / "shadow").write_text("\n".join(shadow) + "\n")
        os.chmod(etc / "shadow", 0o600)
        (etc / "group").write_text("\n".join(group) + "\n")
        # What the package's /etc/pam.d/popa3d amounts to on Debian (common-auth, common-account).
        (etc / "pam.d" / "popa3d").write_text("auth required pam_unix.so\n"
                                              "account required pam_unix.so\n")
        self.mail_dir.mkdir(exist_ok=True)
        os.chmod(self.mail_dir, 0o1777)
        for name in self.users:
            if not self.spool(name).exists():
                self.write_spool(name, b"")
        chroot = self.dir / "var-lib" / "popa3d"
        chroot.mkdir(parents=True, exist_ok=True)
        os.chmod(chroot, 0o755)

    def _command(self):
        etc = self.dir / "etc"
        mounts = [(etc / "passwd", "/etc/passwd"), (etc / "shadow", "/etc/shadow"),
                  (etc / "group", "/etc/group"), (etc / "pam.d", "/etc/pam.d"),
                  (self.mail_dir, "/var/mail"), (self.dir / "var-lib", "/var/lib")]
        script = "set -e\n" + "".join(f"mount --bind '{src}' '{dst}'\n" for src, dst in mounts)
        script += f"exec '{self.binary}'\n"
        return ["unshare", "--mount", "--propagation", "private", "sh", "-c", script]

    def start(self):
        self._unpack()
        self._write_system_files()
        self._listener = socket.socket()
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(8)
        self._listener.settimeout(0.2)
        self.port = self._listener.getsockname()[1]
        self._thread = threading.Thread(target=self._accept_loop, daemon=True)
        self._thread.start()
        return self

    def _accept_loop(self):
        command = self._command()
        with open(self.log, "ab") as log:
            while not self._stop.is_set() and self.connections < MAX_CONNECTIONS:
                try:
                    conn, _ = self._listener.accept()
                except socket.timeout:
                    continue
                except OSError:
                    return
                with conn:
                    conn.settimeout(None)
                    process = subprocess.Popen(command, stdin=conn.fileno(),
                                               stdout=conn.fileno(), stderr=log)
                with self._lock:
                    self._processes.append((process, time.monotonic()))
                    self.connections += 1
                self._reap(deadline_only=True)

    def _reap(self, deadline_only):
        with self._lock:
            for process, started in self._processes:
                if process.poll() is None and (
                        not deadline_only or time.monotonic() - started > SESSION_SECONDS):
                    process.kill()

    def stop(self):
        self._stop.set()
        if self._thread:
            self._thread.join(timeout=5)
        if self._listener:
            self._listener.close()
        self._reap(deadline_only=False)
        with self._lock:
            for process, _ in self._processes:
                try:
                    process.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    pass
            self._processes.clear()

    def log_text(self):
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
