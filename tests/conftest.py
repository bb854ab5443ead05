"""Shared fixtures: a test PKI, a mailport server started on loopback ports, raw POP3 clients."""

import os
import pathlib
import re
import select
import shutil
import signal
import socket
import ssl
import subprocess
import threading
import time

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
BIN = os.environ.get("MAILPORT_BIN") or str(ROOT / "build" / "src" / "cli" / "mailport")
START_TIMEOUT = 15.0
# .ci/sanitizers.sh points this at the directory whose non-empty files fail the run. ASan writes
# there itself (log_path); GCC's UBSan ignores log_path and prints to stderr, which the server
# fixtures swallow, so they copy such lines there.
SANITIZER_REPORTS = os.environ.get("MAILPORT_SANITIZER_REPORTS")
SANITIZER_REPORT = re.compile(r"runtime error:|ERROR: (Address|Leak|Thread)Sanitizer")


def note_sanitizer_report(line: str):
    if SANITIZER_REPORTS and SANITIZER_REPORT.search(line):
        with open(os.path.join(SANITIZER_REPORTS, f"stderr.{os.getpid()}"), "a") as out:
            out.write(line)


def run(cmd, **kwargs):
    return subprocess.run(cmd, check=True, capture_output=True, **kwargs)


class Pki:
    """A private CA and a server certificate for localhost/127.0.0.1 signed by it."""

    def __init__(self, directory: pathlib.Path):
        self.dir = directory
        self.ca = directory / "ca.pem"
        self.ca_key = directory / "ca.key"
        self.cert = directory / "server.pem"
        self.key = directory / "server.key"

    def make_ca(self):
        run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
             "-nodes", "-keyout", self.ca_key, "-out", self.ca, "-days", "30",
             "-subj", "/CN=mailport test CA"])

    def issue(self, name, hosts=("localhost",), ips=("127.0.0.1",), days="30", start=None):
        key = self.dir / f"{name}.key"
        csr = self.dir / f"{name}.csr"
        cert = self.dir / f"{name}.pem"
        ext = self.dir / f"{name}.ext"
        alt = ",".join([f"DNS:{h}" for h in hosts] + [f"IP:{i}" for i in ips])
        ext.write_text(f"subjectAltName={alt}\nextendedKeyUsage=serverAuth\n"
                       "basicConstraints=CA:FALSE\n")
        run(["openssl", "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
             "-keyout", key, "-out", csr, "-subj", f"/CN={hosts[0] if hosts else name}"])
        cmd = ["openssl", "x509", "-req", "-in", csr, "-CA", self.ca, "-CAkey", self.ca_key,
               "-CAcreateserial", "-out", cert, "-days", days, "-extfile", ext]
        run(cmd)
        return cert, key

    def client_context(self):
        context = ssl.create_default_context(cafile=str(self.ca))
        return context


@pytest.fixture(scope="session")
def pki(tmp_path_factory):
    p = Pki(tmp_path_factory.mktemp("pki"))
    p.make_ca()
    p.issue("server")
    return p


def crlf(data: bytes) -> bytes:
    """The wire form of stored bytes: every bare LF becomes CRLF."""
    return re.sub(rb"(?<!\r)\n", b"\r\n", data)


class Mailstore:
    def __init__(self, root: pathlib.Path):
        self.root = root
        self.counter = 0

    def maildir(self, user):
        return self.root / user / "Maildir"

    def add(self, user, content: bytes, folder="cur", name=None):
        md = self.maildir(user)
        for sub in ("cur", "new", "tmp"):
            (md / sub).mkdir(parents=True, exist_ok=True)
        self.counter += 1
        if name is None:
            name = f"{1700000000 + self.counter}.M{self.counter}P{os.getpid()}.testhost"
            if folder == "cur":
                name += ":2,S"
        path = md / folder / name
        path.write_bytes(content)
        return path

    def files(self, user):
        md = self.maildir(user)
        return sorted(p for sub in ("cur", "new") if (md / sub).exists()
                      for p in (md / sub).iterdir())

    def contents(self, user):
        return sorted(p.read_bytes() for p in self.files(user))


class Server:
    """A mailport process on 127.0.0.1 with ephemeral ports."""

    def __init__(self, tmp: pathlib.Path, pki: Pki, users=None, args=(), env=None):
        self.tmp = tmp
        self.pki = pki
        self.passwd = tmp / "passwd"
        self.mail = Mailstore(tmp / "mail")
        self.args = list(args)
        self.env = env
        users = users if users is not None else {"alice": "alicepw", "bob": "bobpw"}
        self.passwd.write_text("".join(f"{u}:{{PLAIN}}{p}\n" for u, p in users.items()))
        self.proc = None
        self.log_lines = []
        self.ports = {}
        self._lock = threading.Lock()

    def command(self):
        return [BIN, "serve", "--pop3", "127.0.0.1:0", "--pop3s", "127.0.0.1:0",
                "--cert", str(self.pki.cert), "--key", str(self.pki.key),
                "--passwd", str(self.passwd), "--mail", str(self.mail.root / "%u" / "Maildir"),
                "--failure-delay", "0s", "--log-level", "debug", *self.args]

    def start(self):
        self.proc = subprocess.Popen(self.command(), stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, env=self.env)
        threading.Thread(target=self._pump, args=(self.proc.stderr,), daemon=True).start()
        deadline = time.monotonic() + START_TIMEOUT
        wanted = {"pop3", "pop3s"} - {k for k in ("pop3", "pop3s") if f"--{k}" in self.args and
                                       self.args[self.args.index(f"--{k}") + 1] == "off"}
        while time.monotonic() < deadline:
            with self._lock:
                for line in self.log_lines:
                    m = re.search(r"listening listener=(\w+) address=\S+ port=(\d+)", line)
                    if m:
                        self.ports[m.group(1)] = int(m.group(2))
            if wanted <= set(self.ports):
                return self
            if self.proc.poll() is not None:
                break
            time.sleep(0.02)
        self.stop()
        raise RuntimeError("mailport did not start:\n" + self.log())

    def _pump(self, stream):
        for raw in stream:
            line = raw.decode("utf-8", "replace")
            note_sanitizer_report(line)
            with self._lock:
                self.log_lines.append(line)

    def log(self):
        with self._lock:
            return "".join(self.log_lines)

    def wait_log(self, pattern, timeout=5.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if re.search(pattern, self.log()):
                return True
            time.sleep(0.02)
        return False

    def stop(self, sig=signal.SIGTERM):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode if self.proc else None

    @property
    def pop3_port(self):
        return self.ports["pop3"]

    @property
    def pop3s_port(self):
        return self.ports["pop3s"]

    def raw(self, tls=False, source=None):
        return RawClient.connect(self.pop3s_port if tls else self.pop3_port,
                                 self.pki.client_context() if tls else None, source=source)

    def write_config(self, text):
        """A TOML file for settings without a flag; pass it as args=["--config", path]."""
        path = self.tmp / "mailport.toml"
        path.write_text(text)
        return path


class RawClient:
    """A byte-level POP3 client for precise protocol checks."""

    def __init__(self, sock):
        self.sock = sock
        self.buf = b""

    @classmethod
    def connect(cls, port, context=None, host="127.0.0.1", source=None):
        """source: a loopback address to connect from (e.g. "127.0.0.2"), to act as another
        client address."""
        sock = socket.create_connection((host, port), timeout=10,
                                        source_address=(source, 0) if source else None)
        if context is not None:
            sock = context.wrap_socket(sock, server_hostname="localhost")
        return cls(sock)

    def send(self, data: bytes):
        self.sock.sendall(data)

    def cmd(self, line: str) -> bytes:
        self.send(line.encode() + b"\r\n")
        return self.line()

    def _fill(self):
        chunk = self.sock.recv(65536)
        if not chunk:
            raise EOFError("connection closed; buffered: %r" % self.buf)
        self.buf += chunk

    def line(self) -> bytes:
        while b"\r\n" not in self.buf:
            self._fill()
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def multiline(self) -> bytes:
        """The raw dot-stuffed body up to (not including) the terminating CRLF.CRLF."""
        while True:
            if self.buf.startswith(b".\r\n"):
                self.buf = self.buf[3:]
                return b""
            end = self.buf.find(b"\r\n.\r\n")
            if end >= 0:
                body, self.buf = self.buf[:end + 2], self.buf[end + 5:]
                return body
            self._fill()

    def starttls(self, context):
        self.sock = context.wrap_socket(self.sock, server_hostname="localhost")

    def login(self, user="alice", password="alicepw"):
        assert self.cmd(f"USER {user}").startswith(b"+OK")
        reply = self.cmd(f"PASS {password}")
        assert reply.startswith(b"+OK"), reply
        return reply

    def closed(self, timeout=5.0) -> bool:
        """True if the server closes the connection (after any pending data) within timeout."""
        deadline = time.monotonic() + timeout
        self.sock.settimeout(0.2)
        try:
            while time.monotonic() < deadline:
                try:
                    chunk = self.sock.recv(65536)
                except (socket.timeout, ssl.SSLWantReadError):
                    continue
                except (ConnectionResetError, ssl.SSLError, OSError):
                    return True
                if not chunk:
                    return True
                self.buf += chunk
            return False
        finally:
            self.sock.settimeout(10)

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


def unstuff(body: bytes) -> bytes:
    lines = body.split(b"\r\n")
    return b"\r\n".join(l[1:] if l.startswith(b".") else l for l in lines)


@pytest.fixture
def make_server(tmp_path, pki):
    servers = []

    def factory(**kwargs):
        s = Server(tmp_path, pki, **kwargs)
        servers.append(s)
        return s

    yield factory
    for s in servers:
        s.stop()


@pytest.fixture
def server(make_server):
    return make_server()


@pytest.fixture
def curl():
    path = shutil.which("curl")
    if not path:
        pytest.fail("curl is required for the integration tests (./dev.sh installs it)")
    return path
