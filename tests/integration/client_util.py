"""Helpers for the `mailport fetch` and `mailport check` tests: running the commands, reading
local mail stores, certificates the tests need (expired, wrong host, self-signed) and a small
scriptable POP3 server for behaviours mailport itself never shows (no STLS, legacy TLS,
plaintext on the TLS port)."""

import os
import pathlib
import re
import socket
import ssl
import subprocess
import threading
import warnings

from conftest import BIN, crlf, run


def mailport(*args, env=None, timeout=120, input=None):
    return subprocess.run([BIN, *args], capture_output=True, timeout=timeout, env=env,
                          input=input)


def fetch(*args, password="alicepw", env=None, timeout=120):
    """`mailport fetch` with the password in MAILPORT_PASSWORD (None: not set)."""
    environment = dict(os.environ if env is None else env)
    environment.pop("MAILPORT_PASSWORD", None)
    if password is not None:
        environment["MAILPORT_PASSWORD"] = password
    return mailport("fetch", *args, env=environment, timeout=timeout)


def local_form(message: bytes) -> bytes:
    """What fetch stores for a message the server holds: wire form with LF line ends."""
    wire = crlf(message)
    if not wire.endswith(b"\r\n"):
        wire += b"\r\n"
    return wire.replace(b"\r\n", b"\n")


def maildir_files(path: pathlib.Path):
    return sorted(p for sub in ("new", "cur") if (path / sub).is_dir()
                  for p in (path / sub).iterdir())


def maildir_contents(path: pathlib.Path):
    return sorted(p.read_bytes() for p in maildir_files(path))


def make_messages(count, tag="m"):
    """Distinct messages with the shapes that break naive clients: dot lines, From lines,
    CRLF and LF, a missing final newline."""
    out = []
    for i in range(count):
        body = (f"From: sender{i}@example.org\nSubject: {tag} {i}\n\nline one of {tag}{i}\n"
                f".leading dot\n..two dots\n.\nFrom the start of a line\n>From quoted\n")
        if i % 3 == 1:
            body = body.replace("\n", "\r\n")
        if i % 4 == 2:
            body = body.rstrip("\n") + "no final newline"
        out.append(body.encode() + (b"x" * (i * 37)))
    return out


# --- certificates ---------------------------------------------------------------------------

def issue_with_dates(pki, name, not_before, not_after, hosts=("localhost",),
                     ips=("127.0.0.1",)):
    """A certificate from the test CA with explicit validity dates (YYYYMMDDHHMMSSZ), made with
    `openssl ca`, which, unlike `openssl x509`, accepts dates in the past."""
    key = pki.dir / f"{name}.key"
    csr = pki.dir / f"{name}.csr"
    cert = pki.dir / f"{name}.pem"
    db = pki.dir / f"{name}.db"
    conf = pki.dir / f"{name}.cnf"
    db.write_text("")
    alt = ",".join([f"DNS:{h}" for h in hosts] + [f"IP:{i}" for i in ips])
    conf.write_text(f"""
[ca]
default_ca = test
[test]
database = {db}
new_certs_dir = {pki.dir}
serial = {pki.dir}/{name}.serial
default_md = sha256
policy = anything
unique_subject = no
copy_extensions = none
x509_extensions = server
[anything]
commonName = supplied
[server]
subjectAltName = {alt}
extendedKeyUsage = serverAuth
basicConstraints = CA:FALSE
""")
    (pki.dir / f"{name}.serial").write_text("1000\n")
    run(["openssl", "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
         "-keyout", key, "-out", csr, "-subj", f"/CN={hosts[0] if hosts else name}"])
    run(["openssl", "ca", "-batch", "-config", conf, "-in", csr, "-out", cert,
         "-cert", pki.ca, "-keyfile", pki.ca_key, "-startdate", not_before,
         "-enddate", not_after, "-notext"])
    return cert, key


def self_signed(directory: pathlib.Path, name="selfsigned", host="localhost"):
    key = directory / f"{name}.key"
    cert = directory / f"{name}.pem"
    run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
         "-nodes", "-keyout", key, "-out", cert, "-days", "30", "-subj", f"/CN={host}",
         "-addext", f"subjectAltName=DNS:{host},IP:127.0.0.1"])
    return cert, key


# --- a scriptable POP3 server ---------------------------------------------------------------

class FakePop3:
    """A minimal RFC 1939 server on 127.0.0.1 for behaviours a well-configured server never has.

    tls: an ssl.SSLContext for implicit TLS, or None for plain TCP.
    stls: an ssl.SSLContext to offer STLS with, or None.
    """

    def __init__(self, messages=(), user="alice", password="alicepw", tls=None, stls=None,
                 greeting="+OK POP3 ready", capa=("USER", "UIDL", "TOP"), uidl=True,
                 hangup_in_retr=None):
        """hangup_in_retr: RETR of this message number (1-based) sends half the message and
        drops the connection, once."""
        self.messages = [crlf(m) if crlf(m).endswith(b"\r\n") else crlf(m) + b"\r\n"
                         for m in messages]
        self.deleted = set()
        self.user, self.password = user, password
        self.tls, self.stls = tls, stls
        self.greeting, self.capa, self.uidl = greeting, list(capa), uidl
        self.hangup_in_retr = hangup_in_retr
        self.commands = []
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self._stop = False
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop = True
        try:
            socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
        except OSError:
            pass
        self._thread.join(timeout=5)
        self.sock.close()

    def remaining(self):
        return [m for i, m in enumerate(self.messages) if i not in self.deleted]

    def _serve(self):
        while not self._stop:
            conn, _ = self.sock.accept()
            if self._stop:
                conn.close()
                break
            threading.Thread(target=self._session, args=(conn,), daemon=True).start()

    def _session(self, conn):
        conn.settimeout(10)
        try:
            if self.tls is not None:
                conn = self.tls.wrap_socket(conn, server_side=True)
            self._dialog(conn)
        except (OSError, ssl.SSLError, ValueError):
            pass
        finally:
            try:
                conn.close()
            except OSError:
                pass

    def _dialog(self, conn):
        reader = conn.makefile("rb")
        send = lambda text: conn.sendall(text.encode() + b"\r\n")
        send(self.greeting)
        user, logged_in, marked = None, False, set()
        while True:
            raw = reader.readline(4096)
            if not raw:
                return
            line = raw.rstrip(b"\r\n").decode("latin-1")
            verb, _, arg = line.partition(" ")
            verb = verb.upper()
            self.commands.append(verb)
            if verb == "CAPA":
                send("+OK")
                for c in self.capa + (["STLS"] if self.stls and not logged_in else []):
                    send(c)
                send(".")
            elif verb == "STLS" and self.stls is not None:
                send("+OK Begin TLS")
                conn = self.stls.wrap_socket(conn, server_side=True)
                reader = conn.makefile("rb")
                send = lambda text, c=conn: c.sendall(text.encode() + b"\r\n")
            elif verb == "USER":
                user = arg
                send("+OK")
            elif verb == "PASS":
                if user == self.user and arg == self.password:
                    logged_in = True
                    send("+OK logged in")
                else:
                    send("-ERR [AUTH] bad login")
            elif verb == "QUIT":
                if logged_in:
                    self.deleted |= marked
                send("+OK bye")
                return
            elif not logged_in:
                send("-ERR not logged in")
            elif verb == "UIDL" and self.uidl:
                send("+OK")
                for i, _ in enumerate(self.messages):
                    if i not in self.deleted:
                        send(f"{i + 1} uid-{i + 1}")
                send(".")
            elif verb == "LIST":
                send("+OK")
                for i, m in enumerate(self.messages):
                    if i not in self.deleted:
                        send(f"{i + 1} {len(m)}")
                send(".")
            elif verb == "RETR":
                i = int(arg) - 1
                send("+OK")
                body = re.sub(rb"(?m)^\.", b"..", self.messages[i])
                if self.hangup_in_retr == i + 1:
                    self.hangup_in_retr = None
                    conn.sendall(body[:len(body) // 2])
                    return
                conn.sendall(body + b".\r\n")
            elif verb == "DELE":
                marked.add(int(arg) - 1)
                send("+OK")
            else:
                send("-ERR unknown command")


def legacy_tls_context(cert, key):
    """A server context that still accepts TLS 1.0 and 1.1 (and everything newer)."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.set_ciphers("ALL:@SECLEVEL=0")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # deprecated is the point here
        context.minimum_version = ssl.TLSVersion.TLSv1
    context.load_cert_chain(str(cert), str(key))
    return context


def modern_tls_context(cert, key):
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(str(cert), str(key))
    return context
