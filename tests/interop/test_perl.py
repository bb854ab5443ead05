"""Perl clients: Mail::POP3Client with USESSL, Net::POP3 with SSL and with starttls.

Mail::POP3Client has no STLS support, so it is tested over POP3S only (docs/compatibility.md).
"""

import pytest

from interop_util import (HERE, TRANSPORTS, assert_logins_over, assert_messages, fill, fm,
                          listener_of, numbered_files, port_of, require, run, wire)
from interop_util import rogue_pki, rogue_server  # noqa: F401  (fixtures)

SCRIPTS = HERE / "perl"


def perl(script, *args):
    return run([require("perl"), SCRIPTS / script, *args])


def out_dir(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    return out


def test_mail_pop3client_usessl_retrieves_every_fixture(server, pki, tmp_path):
    messages = fm.stored()
    fill(server, messages)
    server.start()
    out = out_dir(tmp_path)
    result = perl("pop3client_fetch.pl", server.pop3s_port, pki.ca, out)
    assert result.returncode == 0, result.stderr
    assert_messages(numbered_files(out), wire(messages))
    assert_logins_over(server, "pop3s")


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_net_pop3_retrieves_every_fixture(server, pki, tmp_path, transport):
    messages = fm.stored()
    fill(server, messages)
    server.start()
    out = out_dir(tmp_path)
    result = perl("netpop3_fetch.pl", transport, port_of(server, transport), pki.ca, out)
    assert result.returncode == 0, result.stderr
    # Net::POP3 turns CRLF into "\n" and writes it back as CRLF to a :raw handle.
    assert_messages(numbered_files(out), wire(messages))
    uids = result.stdout.decode().splitlines()
    assert [u.split()[0] for u in uids] == [str(i) for i in range(1, len(messages) + 1)]
    assert_logins_over(server, listener_of(transport))


def test_mail_pop3client_refuses_a_certificate_from_an_unknown_ca(rogue_server, pki, tmp_path):
    out = out_dir(tmp_path)
    result = perl("pop3client_fetch.pl", rogue_server.pop3s_port, pki.ca, out)
    assert result.returncode != 0
    assert b"certificate verify failed" in result.stderr
    assert numbered_files(out) == []


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_net_pop3_refuses_a_certificate_from_an_unknown_ca(rogue_server, pki, tmp_path,
                                                           transport):
    out = out_dir(tmp_path)
    result = perl("netpop3_fetch.pl", transport, port_of(rogue_server, transport), pki.ca, out)
    assert result.returncode != 0
    assert b"certificate verify failed" in result.stderr
    assert numbered_files(out) == []
    assert "event=login" not in rogue_server.log()
