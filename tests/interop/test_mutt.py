"""neomutt reading pops:// and pop:// (STLS required) on a pseudo-terminal, driven by a pushed
key sequence: tag every message, pipe each one to a script that stores it, quit.

neomutt's batch mode (-B) starts no mailbox, so the full-screen client runs on a pty instead.
"""

import os

import pytest

from interop_util import (TRANSPORTS, assert_logins_over, assert_messages, fill, fm,
                          listener_of, numbered_files, port_of, require, run_in_terminal,
                          save_message_command, unix_mailbox)
from interop_util import rogue_pki, rogue_server  # noqa: F401  (fixtures)


def muttrc(path, ca):
    lines = [
        "set pop_pass=alicepw",
        "set ssl_force_tls=yes",  # pop:// must upgrade with STLS or fail
        "set ssl_starttls=yes",
        "set ssl_verify_host=yes",
        "set ssl_verify_dates=yes",
        "set pop_delete=no",
        "set move=no",
        "set quit=yes",
        "set sort=mailbox-order",
        "set header_cache=''",
        "set message_cachedir=''",
        "set pipe_split=yes",  # one run of the command per message
        "set pipe_decode=no",  # the message as received
        "set pipe_sep=''",
        "set wait_key=no",
        "set sleep_time=0",  # no pause after informational messages
        "set auto_tag=yes",
        f"set folder={path.parent}",  # an existing folder: no "create ~/Mail?" prompt
        f"set certificate_file={path.parent / 'certificates'}",
    ]
    if ca is not None:
        lines.append(f"set ssl_ca_certificates_file={ca}")
    path.write_text("\n".join(lines) + "\n")
    return path


def neomutt(tmp_path, ca, url, out, stop_on=None):
    home = tmp_path / "home"
    home.mkdir()
    out.mkdir()
    rc = muttrc(home / "muttrc", ca)
    keys = f"<tag-pattern>~A<enter><pipe-message>{save_message_command(out)}<enter><quit>"
    env = {"PATH": "/usr/bin:/bin", "HOME": str(home), "TERM": "xterm", "LANG": "C.UTF-8"}
    return run_in_terminal([require("neomutt"), "-n", "-F", rc, "-f", url,
                            "-e", f'push "{keys}"'], env=env, stop_on=stop_on)


def url_for(server, transport):
    scheme = "pops" if transport == "pop3s" else "pop"
    return f"{scheme}://alice@localhost:{port_of(server, transport)}/"


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_neomutt_pipes_every_fixture_byte_exact(server, pki, tmp_path, transport):
    messages = fm.stored()
    fill(server, messages)
    server.start()
    out = tmp_path / "out"
    status, screen = neomutt(tmp_path, pki.ca, url_for(server, transport), out)
    assert status == 0, screen[-2000:]
    assert_messages(numbered_files(out), unix_mailbox(messages))
    assert len(server.mail.files("alice")) == len(messages)
    assert_logins_over(server, listener_of(transport))


def test_neomutt_does_not_trust_a_certificate_from_an_unknown_ca(rogue_server, pki, tmp_path):
    out = tmp_path / "out"
    status, screen = neomutt(tmp_path, pki.ca, url_for(rogue_server, "pop3s"), out,
                             stop_on=rb"\(r\)eject, accept \(o\)nce")
    # Unverified, neomutt stops to ask the user; nothing was fetched and no login was tried.
    assert status is None, screen[-2000:]
    assert numbered_files(out) == []
    assert "event=login" not in rogue_server.log()
    assert not os.path.exists(tmp_path / "home" / "certificates")
