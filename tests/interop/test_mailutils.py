"""GNU mailutils' POP3 client, through movemail: pops:// (implicit TLS) and pop:// (which upgrades
with STLS when the server offers it), keeping the maildrop. Into a Maildir for the byte-exact
check; UIDL tracking (--uidl) only works with an mbox destination in this version.

mailutils 3.15 cannot verify a server certificate: its TLS client never asks GnuTLS to check the
peer and has no setting for a trusted CA. The last test pins that down, so that
docs/compatibility.md stays true; the transfers below are checked byte for byte all the same.
"""

import pytest

from interop_util import (TRANSPORTS, assert_logins_over, assert_messages, fill, fm,
                          listener_of, maildir_messages, port_of, require, run, unix_mailbox)
from interop_util import rogue_pki, rogue_server  # noqa: F401  (fixtures)


def movemail(server_port, transport, destination, home, *flags):
    scheme = "pops" if transport == "pop3s" else "pop"
    url = f"{scheme}://alice:alicepw@localhost:{server_port}"
    return run([require("movemail"), "--no-config", "--preserve", "--debug-level=mailbox.prot",
                *flags, url, destination],
               env={"PATH": "/usr/bin:/bin", "HOME": str(home)})


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_movemail_copies_every_fixture_once(server, tmp_path, transport):
    messages = fm.stored()
    fill(server, messages)
    server.start()
    maildir = tmp_path / "movemail" / "Maildir"
    maildir.parent.mkdir()
    port = port_of(server, transport)

    result = movemail(port, transport, f"maildir:{maildir}", maildir.parent)
    assert result.returncode == 0, result.stderr
    if transport == "stls":
        assert b"C: STLS" in result.stderr
    assert_messages(maildir_messages(maildir), unix_mailbox(messages), ordered=False)

    mbox = tmp_path / "movemail" / "mbox"
    first = movemail(port, transport, mbox, mbox.parent, "--uidl")
    assert first.returncode == 0, first.stderr
    assert first.stderr.count(b"C: RETR") == len(messages)
    second = movemail(port, transport, mbox, mbox.parent, "--uidl")
    assert second.returncode == 0, second.stderr
    assert b"C: UIDL" in second.stderr and b"C: RETR" not in second.stderr
    assert mbox.read_bytes().count(b"\nX-UIDL: ") == len(messages)
    assert maildir_messages(server.mail.maildir("alice")) == sorted(d for _, d in messages)
    assert_logins_over(server, listener_of(transport))


def test_movemail_does_not_verify_the_server_certificate(rogue_server, tmp_path):
    maildir = tmp_path / "movemail" / "Maildir"
    maildir.parent.mkdir()
    result = movemail(rogue_server.pop3s_port, "pop3s", f"maildir:{maildir}",
                      maildir.parent)
    # A certificate from a CA nobody trusts is accepted: a client limitation, documented.
    assert result.returncode == 0, result.stderr
    assert len(maildir_messages(maildir)) == 1
