"""An isolated Dovecot POP3 server on loopback, for differential tests, client tests and
benchmarks. It uses its own base_dir, state_dir, log and instance name, touches no system
service, and serves mail as the `mail` user (Dovecot refuses uid 0 for mail access).

    with DovecotServer(workdir, users={"alice": "{PLAIN}alicepw"}, cert=..., key=...) as d:
        d.pop3_port, d.pop3s_port, d.maildir("alice")
"""

import os
import pathlib
import pwd
import shutil
import socket
import subprocess
import time

DOVECOT = shutil.which("dovecot") or "/usr/sbin/dovecot"


def available():
    return os.path.exists(DOVECOT)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class DovecotServer:
    def __init__(self, workdir, users, cert, key, plaintext_auth=False, extra_config="",
                 mail_root=None, performance=False):
        """users: {name: "{SCHEME}hash"}; mail_root: directory with <user>/Maildir (shared with a
        mailport under test if wanted; it is chowned to the mail user)."""
        self.dir = pathlib.Path(workdir).resolve()
        self.users = users
        self.cert = pathlib.Path(cert).resolve()
        self.key = pathlib.Path(key).resolve()
        self.plaintext_auth = plaintext_auth
        self.extra_config = extra_config
        self.mail_root = pathlib.Path(mail_root).resolve() if mail_root else self.dir / "mail"
        self.performance = performance
        self.pop3_port = free_port()
        self.pop3s_port = free_port()
        self.config = self.dir / "dovecot.conf"
        self.log = self.dir / "dovecot.log"
        self.mail = pwd.getpwnam("mail")

    def maildir(self, user):
        return self.mail_root / user / "Maildir"

    @staticmethod
    def _make_traversable(path):
        """Unprivileged Dovecot processes must be able to reach path (temp dirs are 0700)."""
        for p in [path, *path.parents]:
            mode = p.stat().st_mode
            if mode & 0o011 != 0o011:
                os.chmod(p, mode | 0o011)

    def _write_config(self):
        run = self.dir / "run"
        run.mkdir(parents=True, exist_ok=True)
        self.mail_root.mkdir(parents=True, exist_ok=True)
        self._make_traversable(run)
        self._make_traversable(self.mail_root)
        os.chmod(self.dir, 0o755)
        passwd = self.dir / "passwd"
        passwd.write_text("".join(f"{u}:{h}\n" for u, h in self.users.items()))
        perf = ""
        if self.performance:
            perf = ("service pop3-login {\n  service_count = 0\n  process_min_avail = 2\n"
                    "  vsz_limit = 1G\n}\nservice pop3 {\n  process_limit = 20000\n}\n"
                    "default_process_limit = 20000\ndefault_client_limit = 40000\n")
        self.config.write_text(f"""
protocols = pop3
base_dir = {run}
state_dir = {self.dir}/state
instance_name = mailport-test-{self.pop3_port}
listen = 127.0.0.1
log_path = {self.log}
ssl = yes
ssl_cert = <{self.cert}
ssl_key = <{self.key}
ssl_min_protocol = TLSv1.2
disable_plaintext_auth = {"no" if self.plaintext_auth else "yes"}
auth_mechanisms = plain login
mail_location = maildir:{self.mail_root}/%u/Maildir
first_valid_uid = 1
pop3_uidl_format = %08Xu%08Xv
passdb {{
  driver = passwd-file
  args = {passwd}
}}
userdb {{
  driver = static
  args = uid=mail gid=mail home={self.mail_root}/%u
}}
service pop3-login {{
  inet_listener pop3 {{
    port = {self.pop3_port}
  }}
  inet_listener pop3s {{
    port = {self.pop3s_port}
    ssl = yes
  }}
}}
service imap-login {{
  inet_listener imap {{
    port = 0
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
{perf}
{self.extra_config}
""")

    def chown_mail(self):
        """Give the mail tree to the mail user (call after adding messages as root)."""
        self.mail_root.mkdir(parents=True, exist_ok=True)
        for root, dirs, files in os.walk(self.mail_root):
            for name in dirs + files:
                os.chown(os.path.join(root, name), self.mail.pw_uid, self.mail.pw_gid)
        os.chown(self.mail_root, self.mail.pw_uid, self.mail.pw_gid)

    def start(self, timeout=15.0):
        self._write_config()
        self.chown_mail()
        # The daemon inherits its stdio: never hand it a pipe we would wait on.
        with open(self.dir / "start.err", "wb") as err:
            subprocess.run([DOVECOT, "-c", str(self.config)], check=True,
                           stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.pop3_port), timeout=1) as s:
                    if s.recv(64).startswith(b"+OK"):
                        return self
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError("dovecot did not start:\n" + self.read_log())

    def read_log(self):
        return self.log.read_text() if self.log.exists() else ""

    def master_pid(self):
        pid_file = self.dir / "run" / "master.pid"
        return int(pid_file.read_text()) if pid_file.exists() else None

    def stop(self):
        subprocess.run([DOVECOT, "-c", str(self.config), "stop"], stdin=subprocess.DEVNULL,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and (self.dir / "run" / "master.pid").exists():
            time.sleep(0.05)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
