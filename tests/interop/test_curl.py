"""curl: pop3s:// and pop3:// with --ssl-reqd (STLS); LIST, RETR, UIDL, TOP and DELE via -X."""

import pytest

from interop_util import (TRANSPORTS, assert_logins_over, assert_messages, fill, fm,
                          listener_of, port_of, require, run, wire)
from interop_util import rogue_pki, rogue_server  # noqa: F401  (fixtures)


def base_url(server, transport):
    scheme = "pop3s" if transport == "pop3s" else "pop3"
    return f"{scheme}://localhost:{port_of(server, transport)}"


def curl(pki, transport, *args):
    tls = ["--ssl-reqd"] if transport == "stls" else []
    result = run([require("curl"), "-sS", "--cacert", pki.ca, "--user", "alice:alicepw", *tls,
                  *args])
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_curl_retrieves_every_fixture_byte_exact(server, pki, tmp_path, transport):
    messages = fm.with_big()
    fill(server, messages)
    server.start()
    url = base_url(server, transport)
    # One curl process, one connection: every URL is fetched over the same session.
    args = []
    for i in range(1, len(messages) + 1):
        args += [f"{url}/{i}", "-o", str(tmp_path / f"{i:03d}")]
    curl(pki, transport, *args)
    got = [(tmp_path / f"{i:03d}").read_bytes() for i in range(1, len(messages) + 1)]
    assert_messages(got, wire(messages))
    assert_logins_over(server, listener_of(transport))


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_curl_list_uidl_top_and_dele(server, pki, transport):
    messages = fm.stored()
    fill(server, messages)
    server.start()
    url = base_url(server, transport)

    listing = curl(pki, transport, f"{url}/")
    assert listing == b"".join(b"%d %d\r\n" % (i, fm.octets(d))
                               for i, (_, d) in enumerate(messages, 1))
    uidl = curl(pki, transport, "-X", "UIDL", f"{url}/").decode().splitlines()
    assert [line.split()[0] for line in uidl] == [str(i) for i in range(1, len(messages) + 1)]
    assert len({line.split()[1] for line in uidl}) == len(messages)

    for number, lines in [(1, 0), (2, 3), (3, 1), (7, 1), (9, 0), (10, 5)]:
        got = curl(pki, transport, "-X", f"TOP {number} {lines}", f"{url}/")
        assert got == fm.top(messages[number - 1][1], lines), (number, lines)

    curl(pki, transport, "-X", "DELE", "-I", f"{url}/1")
    listing = curl(pki, transport, f"{url}/")
    assert listing == b"".join(b"%d %d\r\n" % (i, fm.octets(d))
                               for i, (_, d) in enumerate(messages[1:], 1))
    assert sorted(server.mail.contents("alice")) == sorted(d for _, d in messages[1:])
    assert_logins_over(server, listener_of(transport))


def test_curl_refuses_a_certificate_from_an_unknown_ca(rogue_server, pki):
    result = run([require("curl"), "-sS", "--cacert", pki.ca, "--user", "alice:alicepw",
                  f"pop3s://localhost:{rogue_server.pop3s_port}/1"])
    assert result.returncode == 60, result.stderr  # CURLE_PEER_FAILED_VERIFICATION
    assert result.stdout == b""
