"""Python's poplib over POP3S and POP3+STLS, verifying the certificate against the test CA."""

import poplib
import ssl

import pytest

from interop_util import (TRANSPORTS, assert_logins_over, assert_messages, fill, fm,
                          listener_of, wire)
from interop_util import rogue_pki, rogue_server  # noqa: F401  (fixtures)


def connect(server, pki, transport):
    context = pki.client_context()
    if transport == "pop3s":
        return poplib.POP3_SSL("localhost", server.pop3s_port, context=context, timeout=30)
    client = poplib.POP3("localhost", server.pop3_port, timeout=30)
    assert "STLS" in client.capa()
    client.stls(context=context)
    return client


def joined(lines):
    # poplib strips each line end and un-dot-stuffs; every line ended with CRLF on the wire.
    return b"".join(line + b"\r\n" for line in lines)


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_poplib_retr_top_uidl_and_dele(server, pki, transport):
    messages = fm.with_big()
    fill(server, messages)
    server.start()
    client = connect(server, pki, transport)
    client.user("alice")
    client.pass_("alicepw")
    assert client.stat() == (len(messages), sum(fm.octets(d) for _, d in messages))
    _, listing, _ = client.list()
    assert listing == [b"%d %d" % (i, fm.octets(d)) for i, (_, d) in enumerate(messages, 1)]

    got = []
    for i, (_, data) in enumerate(messages, 1):
        response, lines, _ = client.retr(i)
        assert response == b"+OK %d octets" % fm.octets(data)
        got.append(joined(lines))
    assert_messages(got, wire(messages))

    for i, (_, data) in enumerate(messages, 1):
        for count in (0, 1, 2):
            assert joined(client.top(i, count)[1]) == fm.top(data, count), (i, count)

    _, uids, _ = client.uidl()
    assert [u.split()[0] for u in uids] == [b"%d" % i for i in range(1, len(messages) + 1)]
    client.dele(1)
    client.dele(len(messages))
    assert client.stat()[0] == len(messages) - 2
    client.quit()
    assert sorted(server.mail.contents("alice")) == sorted(d for _, d in messages[1:-1])
    assert_logins_over(server, listener_of(transport))


def test_poplib_refuses_a_certificate_from_an_unknown_ca(rogue_server, pki):
    with pytest.raises(ssl.SSLCertVerificationError):
        poplib.POP3_SSL("localhost", rogue_server.pop3s_port, context=pki.client_context(),
                        timeout=30)
