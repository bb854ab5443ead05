"""Helpers for the mail-in tests (LMTP, deliver, mbox) on top of the shared fixtures."""

import re
import socket
import subprocess
import time

from conftest import BIN


def lmtp_args(socket_path=None, tcp=False):
    """serve flags for an LMTP listener on a Unix socket and/or an ephemeral loopback port."""
    args = []
    if socket_path is not None:
        args += ["--lmtp", f"unix:{socket_path}"]
    if tcp:
        args += ["--lmtp", "127.0.0.1:0"]
    return args


def lmtp_tcp_port(server, timeout=5.0):
    """The port of the TCP LMTP listener, from the start-up log."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        m = re.search(r"listening listener=lmtp address=127\.0\.0\.1:(\d+)", server.log())
        if m:
            return int(m.group(1))
        time.sleep(0.02)
    raise RuntimeError("no LMTP TCP listener in the log:\n" + server.log())


class LmtpClient:
    """A byte-level LMTP client that reads one reply per recipient after DATA."""

    def __init__(self, sock):
        self.sock = sock
        self.sock.settimeout(30)
        self.buf = b""

    @classmethod
    def unix(cls, path, timeout=5.0):
        deadline = time.monotonic() + timeout
        while True:
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                sock.connect(str(path))
                return cls(sock)
            except (FileNotFoundError, ConnectionRefusedError):
                sock.close()
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    @classmethod
    def tcp(cls, port):
        return cls(socket.create_connection(("127.0.0.1", port), timeout=10))

    def send(self, data: bytes):
        self.sock.sendall(data)

    def reply(self):
        """One reply, multi-line replies joined: (code, text)."""
        lines = []
        while True:
            while b"\r\n" not in self.buf:
                chunk = self.sock.recv(65536)
                if not chunk:
                    raise EOFError("closed; buffered %r" % self.buf)
                self.buf += chunk
            line, self.buf = self.buf.split(b"\r\n", 1)
            lines.append(line)
            if line[3:4] != b"-":
                return int(line[:3]), b"\n".join(lines)

    def cmd(self, line):
        self.send(line.encode() + b"\r\n")
        return self.reply()

    def greet(self):
        assert self.reply()[0] == 220
        code, text = self.cmd("LHLO test.example")
        assert code == 250, text
        return text

    def transaction(self, sender, recipients, message: bytes):
        """MAIL, RCPT..., DATA; returns (rcpt replies, data replies per accepted recipient)."""
        assert self.cmd(f"MAIL FROM:<{sender}>")[0] == 250
        rcpt = [self.cmd(f"RCPT TO:<{r}>") for r in recipients]
        accepted = sum(1 for code, _ in rcpt if code == 250)
        code, text = self.cmd("DATA")
        if accepted == 0:
            return rcpt, [(code, text)]
        assert code == 354, text
        self.send(dot_stuff(message) + b".\r\n")
        return rcpt, [self.reply() for _ in range(accepted)]

    def close(self):
        try:
            self.cmd("QUIT")
        except (OSError, EOFError):
            pass
        self.sock.close()


def dot_stuff(message: bytes) -> bytes:
    """CRLF line ends and SMTP dot-stuffing, ready to send after DATA."""
    lines = message.replace(b"\r\n", b"\n").split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    return b"".join((b"." + l if l.startswith(b".") else l) + b"\r\n" for l in lines)


def deliver(args, message: bytes, env=None):
    """Runs `mailport deliver ARGS` with the message on stdin."""
    return subprocess.run([BIN, "deliver", *args], input=message, capture_output=True,
                          timeout=60, env=env)


def retrieve_all(client):
    """Every message of a logged-in RawClient, as sent on the wire (CRLF, unstuffed)."""
    from conftest import unstuff
    count = int(client.cmd("STAT").split()[1])
    messages = []
    for i in range(1, count + 1):
        assert client.cmd(f"RETR {i}").startswith(b"+OK")
        messages.append(unstuff(client.multiline()))
    return messages


def body_after_trace(message: bytes) -> bytes:
    """The message without the trace fields a final delivery put on top."""
    lines = message.split(b"\r\n")
    i = 0
    while i < len(lines) and (lines[i].split(b":")[0] in (b"Return-Path", b"Delivered-To",
                                                           b"Received") or
                              lines[i].startswith((b"\t", b" "))):
        i += 1
    return b"\r\n".join(lines[i:])
