"""Helpers for driving real POP3 clients against a mailport started by the test.

Every client verifies the server certificate against the test CA (pki.ca); the `rogue_server`
fixture serves a certificate from a CA the client does not trust, for the negative controls.
"""

import fcntl
import os
import pathlib
import pty
import pwd
import re
import select
import shutil
import signal
import struct
import subprocess
import sys
import termios
import time

import pytest

from conftest import Pki, Server

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "fixtures" / "messages"))

import fixture_messages as fm  # noqa: E402  (needs the path above)

SAVE_MESSAGE = HERE / "save_message.py"
CLIENT_TIMEOUT = 60


def require(tool):
    path = shutil.which(tool)
    if not path:
        pytest.fail(f"{tool} is required for the interoperability tests (./dev.sh installs it)")
    return path


def fill(server, messages, user="alice"):
    """Stores the messages in the user's Maildir, in this order (names sort like the list)."""
    for i, (_, data) in enumerate(messages):
        server.mail.add(user, data, folder="cur", name=f"{1700000000 + i}.M{i}P1.interop:2,S")


def run(cmd, timeout=CLIENT_TIMEOUT, **kwargs):
    return subprocess.run([str(c) for c in cmd], capture_output=True, timeout=timeout, **kwargs)


def save_message_command(directory):
    """A command line that stores its standard input as the next numbered file in directory."""
    return f"{sys.executable} {SAVE_MESSAGE} {directory}"


def numbered_files(directory):
    return [p.read_bytes() for p in sorted(pathlib.Path(directory).iterdir())]


def maildir_messages(maildir):
    maildir = pathlib.Path(maildir)
    return sorted(p.read_bytes() for sub in ("new", "cur") if (maildir / sub).is_dir()
                  for p in (maildir / sub).iterdir())


# --- What each kind of client makes of a message ---------------------------------------------

def wire(messages):
    """As received and un-dot-stuffed: CRLF line ends, a final CRLF always present."""
    return [fm.wire(data) for _, data in messages]


def unix_mailbox(messages, prefix=b""):
    """As Unix mail tools store a download: LF line ends, and the empty line that ends the header
    added when a message has none (every such client writes the header/body separator)."""
    out = []
    for _, data in messages:
        text = fm.lf(data)
        if not text.startswith(b"\n") and b"\n\n" not in text:
            text += b"\n"
        out.append(prefix + text)
    return out


def assert_messages(got, expected, ordered=True):
    """Byte-for-byte comparison with a readable report of the first difference."""
    if not ordered:
        got, expected = sorted(got), sorted(expected)
    assert len(got) == len(expected), f"got {len(got)} messages, expected {len(expected)}"
    for i, (g, e) in enumerate(zip(got, expected)):
        if g != e:
            at = next((k for k, (a, b) in enumerate(zip(g, e)) if a != b), min(len(g), len(e)))
            pytest.fail(f"message {i + 1} differs at octet {at} (got {len(g)} octets, expected "
                        f"{len(e)}):\n got {g[max(0, at - 40):at + 40]!r}\n"
                        f"want {e[max(0, at - 40):at + 40]!r}")


# --- Which transport the client really used ----------------------------------------------------

def logins(server):
    """[(listener, tls version)] of the successful logins in the server log."""
    return re.findall(r"event=login result=ok .*?listener=(\w+) tls=(\S+)", server.log())


def assert_logins_over(server, listener):
    """Every successful login came over `listener` ("pop3" means after STLS) with TLS active."""
    seen = logins(server)
    assert seen, "no successful login in the server log"
    for kind, version in seen:
        assert kind == listener and version.startswith("TLSv1."), (kind, version)


# --- Servers ----------------------------------------------------------------------------------

@pytest.fixture(scope="session")
def rogue_pki(tmp_path_factory):
    """A CA no client is told to trust, and a localhost certificate from it."""
    p = Pki(tmp_path_factory.mktemp("rogue-pki"))
    p.make_ca()
    p.issue("server")
    return p


@pytest.fixture
def rogue_server(tmp_path, rogue_pki):
    (tmp_path / "rogue").mkdir()
    s = Server(tmp_path / "rogue", rogue_pki)
    fill(s, fm.stored()[:1])
    s.start()
    yield s
    s.stop()


def port_of(server, transport):
    return server.pop3s_port if transport == "pop3s" else server.pop3_port


TRANSPORTS = ["pop3s", "stls"]


def listener_of(transport):
    return "pop3s" if transport == "pop3s" else "pop3"


# --- Running as root --------------------------------------------------------------------------

def owned_directory(path, user="nobody"):
    """A directory an unprivileged user can write, reachable through the (0700) temp tree, for
    clients that refuse to deliver mail as root."""
    entry = pwd.getpwnam(user)
    path = pathlib.Path(path)
    path.mkdir(parents=True, exist_ok=True)
    for p in [path, *path.parents]:
        mode = p.stat().st_mode
        if mode & 0o011 != 0o011:
            os.chmod(p, mode | 0o011)
    os.chown(path, entry.pw_uid, entry.pw_gid)
    return path


# --- Full-screen clients ----------------------------------------------------------------------

def run_in_terminal(cmd, env, timeout=CLIENT_TIMEOUT, stop_on=None):
    """Runs a curses client on a pseudo-terminal, collecting the screen output. Returns
    (exit status or None if it was stopped, output). stop_on: a bytes regex after which the client
    is killed (a prompt the test does not mean to answer)."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 132, 0, 0))
    proc = subprocess.Popen([str(c) for c in cmd], stdin=slave, stdout=slave, stderr=slave,
                            env=env, start_new_session=True)
    os.close(slave)
    out = b""
    deadline = time.monotonic() + timeout
    stopped = False
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.1)
            if ready:
                try:
                    chunk = os.read(master, 65536)
                except OSError:  # EIO: the client closed the terminal
                    break
                if not chunk:
                    break
                out += chunk
                if stop_on is not None and re.search(stop_on, out):
                    stopped = True
                    break
            elif proc.poll() is not None:
                break
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        os.close(master)
    if not stopped and time.monotonic() >= deadline:
        pytest.fail(f"{cmd[0]} did not finish within {timeout}s:\n{out[-2000:]!r}")
    return (None if stopped else proc.returncode), out
