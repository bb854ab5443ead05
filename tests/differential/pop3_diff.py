"""Drives identical scripted POP3 sessions against mailport and Dovecot and normalises the answers
so that only what a client depends on is compared: the status (+OK, -ERR and any RFC 2449
response code, or a SASL "+" continuation with its challenge), the numbers of STAT, LIST and
single-message UIDL, and every multi-line body octet for octet. Free text after the status and
the UIDL values themselves (each server has its own scheme) are normalised away; UIDLs are
replaced by tokens in order of first appearance, so a message must keep its UIDL across
commands and sessions on each server.

A script is a list of steps:
  "CMD args"              one command, then its response
  ("burst", [cmd, ...])   every command in one write, then every response in order; after an
                          accepted STLS the rest was sent in plaintext and must be ignored
  ("raw", bytes, verb)    arbitrary bytes (one line), answered like command `verb`
After a +OK to STLS the session performs the TLS handshake. A script that ends with QUIT must
end with the server closing the connection and nothing left unread.
"""

import dataclasses
import pathlib
import re
import socket
import ssl
import sys
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "fixtures" / "messages"))

import fixture_messages as fm  # noqa: E402,F401  (needs the path above; re-exported)

TIMEOUT = 10.0
CLOSED = "<closed>"


class Closed(Exception):
    pass


@dataclasses.dataclass
class Exchange:
    command: str
    status: str  # "+OK", "-ERR", "-ERR [CODE]", "+ <challenge>", or CLOSED
    detail: str | None  # the part of the status line that carries data, normalised
    body: tuple | None  # multi-line body lines, normalised; None for single-line responses

    def view(self):
        return (self.status, self.detail, self.body)


class Uids:
    """Replaces one server's UIDL values by tokens, consistently for the life of a test."""

    def __init__(self):
        self.tokens = {}

    def __call__(self, uid: bytes) -> str:
        return self.tokens.setdefault(uid, f"uid{len(self.tokens) + 1}")


def multiline(command: str) -> bool:
    verb, _, rest = command.partition(" ")
    verb = verb.upper()
    if verb in ("CAPA", "RETR", "TOP"):
        return True
    return verb in ("LIST", "UIDL", "LANG", "AUTH") and rest.strip(" ") == ""


class Session:
    def __init__(self, port, context, tls_now, uids, source="127.0.0.1"):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT,
                                             source_address=(source, 0))
        self.context = context
        if tls_now:
            self.sock = context.wrap_socket(self.sock, server_hostname="localhost")
        self.buf = b""
        self.uids = uids
        self.transcript = []
        self.closed = False
        self._read_response("<greeting>")

    def _fill(self):
        try:
            chunk = self.sock.recv(1 << 20)
        except (ConnectionResetError, ssl.SSLError):
            chunk = b""
        if not chunk:
            raise Closed()
        self.buf += chunk

    def _line(self) -> bytes:
        deadline = time.monotonic() + TIMEOUT
        while b"\r\n" not in self.buf:
            if time.monotonic() > deadline:
                raise TimeoutError(f"no complete line; buffered {self.buf[:200]!r}")
            self._fill()
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def _body(self):
        lines = []
        for _ in range(10_000_000):  # far more lines than any fixture has
            line = self._line()
            if line == b".":
                return lines
            lines.append(line[1:] if line.startswith(b".") else line)
        raise AssertionError("unterminated multi-line response")

    def _read_response(self, command):
        if self.closed:
            self.transcript.append(Exchange(command, CLOSED, None, None))
            return
        try:
            line = self._line()
        except Closed:
            self.closed = True
            self.transcript.append(Exchange(command, CLOSED, None, None))
            return
        self.transcript.append(self._normalise(command, line))

    def _normalise(self, command, line):
        verb, _, arg = command.partition(" ")
        verb = verb.upper()
        if line.startswith(b"+ ") or line == b"+":
            return Exchange(command, "+ " + line[2:].decode("latin-1"), None, None)
        if line.startswith(b"-ERR"):
            code = re.match(rb"-ERR \[([^\]]+)\]", line)
            return Exchange(command, "-ERR" + (f" [{code.group(1).decode()}]" if code else ""),
                            None, None)
        assert line.startswith(b"+OK"), f"{command!r}: not a POP3 status line: {line!r}"
        text = line[3:].strip()
        detail = None
        if verb == "STAT" or (verb == "LIST" and arg.strip(" ")):
            detail = text.decode("latin-1")
        elif verb == "UIDL" and arg.strip(" "):
            number, _, uid = text.partition(b" ")
            detail = f"{number.decode()} {self.uids(uid)}"
        body = None
        if multiline(command) and command != "<greeting>":
            body = self._body()
            if verb == "UIDL":
                body = [b"%s %s" % (n, self.uids(u).encode())
                        for n, _, u in (entry.partition(b" ") for entry in body)]
            body = tuple(body)
        return Exchange(command, "+OK", detail, body)

    def send(self, data: bytes):
        if self.closed:
            return
        try:
            self.sock.sendall(data)
        except OSError:
            self.closed = True

    def command(self, command):
        self.send(command.encode("utf-8") + b"\r\n")
        self._read_response(command)
        self._after(command)

    def raw(self, data, verb):
        self.send(data)
        self._read_response(verb)

    def burst(self, commands):
        self.send(b"".join(c.encode("utf-8") + b"\r\n" for c in commands))
        for command in commands:
            self._read_response(command)
            if self._after(command):
                return  # the rest went out in plaintext before the handshake

    def _after(self, command):
        """Upgrades after an accepted STLS; True if it did."""
        last = self.transcript[-1]
        if command.upper() == "STLS" and last.status == "+OK":
            assert self.buf == b"", f"data after +OK to STLS: {self.buf!r}"
            try:
                self.sock = self.context.wrap_socket(self.sock, server_hostname="localhost")
            except (ssl.SSLError, OSError):
                self.closed = True  # the server gave up on the handshake
            return True
        return False

    def finish(self):
        """After QUIT: the server must close and have sent nothing more."""
        if not self.closed:
            try:
                for _ in range(100):
                    self._fill()
            except Closed:
                self.closed = True
        leftover, self.buf = self.buf, b""
        self.sock.close()
        return leftover

    def close(self):
        self.sock.close()


def run_script(port, context, tls_now, uids, script, source="127.0.0.1"):
    session = Session(port, context, tls_now, uids, source)
    try:
        for step in script:
            if isinstance(step, str):
                session.command(step)
            elif step[0] == "burst":
                session.burst(step[1])
            elif step[0] == "raw":
                session.raw(step[1], step[2])
            else:
                raise ValueError(step)
        ends_with_quit = script and isinstance(script[-1], str) and script[-1].upper() == "QUIT"
        if ends_with_quit:
            leftover = session.finish()
            assert leftover == b"", f"unexpected data after QUIT: {leftover[:200]!r}"
            assert session.closed, "the server did not close the connection after QUIT"
    finally:
        session.close()
    return session.transcript


def raw_conversation(port, context, source, lines):
    """Sends every line at once over implicit TLS and returns all the server sent, up to its
    close: for differences that would desynchronise the line-by-line reader."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT,
                                    source_address=(source, 0))
    with context.wrap_socket(sock, server_hostname="localhost") as tls:
        tls.sendall(b"".join(line + b"\r\n" for line in lines))
        received = b""
        for _ in range(100_000):
            chunk = tls.recv(1 << 16)
            if not chunk:
                return received
            received += chunk
    raise AssertionError("the server did not close the connection")


def capabilities(exchange, ignore, mechanisms_ignored=()):
    """A CAPA body as a set of capability lines, without the ones listed in `ignore` and without
    the SASL mechanisms in `mechanisms_ignored`."""
    lines = set()
    for line in exchange.body:
        words = line.split(b" ")
        if words[0].decode() in ignore:
            continue
        if words[0] == b"SASL":
            line = b" ".join(w for w in words if w.decode() not in mechanisms_ignored)
        lines.add(line)
    return lines


def mechanisms(exchange, ignored=()):
    """The body of a mechanism listing (AUTH without argument) as a set."""
    return {m for m in exchange.body if m.decode() not in ignored}


def render(transcript):
    return "\n".join(f"  {e.command[:60]!r:64} {e.status} {e.detail or ''} "
                     f"{'' if e.body is None else f'[{len(e.body)} lines]'}" for e in transcript)
