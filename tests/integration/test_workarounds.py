"""session.client_workarounds reaches the wire (off by default)."""

from conftest import unstuff


def fetch_first(server):
    c = server.raw(tls=True)
    c.line()
    c.login()
    assert c.cmd("RETR 1").startswith(b"+OK")
    return unstuff(c.multiline())


def test_outlook_no_nuls_only_when_configured(make_server):
    plain = make_server()
    plain.mail.add("alice", b"Subject: nul\n\na\x00b\n")
    plain.start()
    assert b"a\x00b" in fetch_first(plain)
    plain.stop()
    tuned = make_server()
    tuned.args = ["--config", str(tuned.write_config(
        '[session]\nclient_workarounds = ["outlook-no-nuls"]\n'))]
    tuned.start()
    assert b"a\x80b" in fetch_first(tuned)
