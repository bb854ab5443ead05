"""EXPIRE (RFC 2449 §6.7) is enforced, not only announced."""

import time


def expire_server(make_server, days):
    server = make_server()
    server.args = ["--config", str(server.write_config(f"[mail]\nexpire = {days}\n"))]
    server.mail.add("alice", b"Subject: 1\n\none\n", folder="new")
    server.mail.add("alice", b"Subject: 2\n\ntwo\n", folder="new")
    server.start()
    return server


def retr_first_and_quit(server):
    c = server.raw(tls=True)
    c.line()
    c.login()
    assert c.cmd("CAPA").startswith(b"+OK")
    caps = c.multiline()
    assert c.cmd("RETR 1").startswith(b"+OK")
    c.multiline()
    assert c.cmd("QUIT").startswith(b"+OK")
    return caps


def test_expire_zero_deletes_retrieved_messages_at_quit(make_server):
    server = expire_server(make_server, 0)
    assert b"EXPIRE 0" in retr_first_and_quit(server)
    assert server.mail.contents("alice") == [b"Subject: 2\n\ntwo\n"]
    assert server.wait_log(r"event=expire expired=1")


def test_expire_zero_keeps_everything_when_the_session_drops(make_server):
    server = expire_server(make_server, 0)
    c = server.raw(tls=True)
    c.line()
    c.login()
    c.cmd("RETR 1")
    c.multiline()
    c.close()
    assert server.wait_log(r"event=disconnect user=\"alice\"")
    assert len(server.mail.files("alice")) == 2


def test_expire_days_marks_retrieved_messages_and_keeps_them_for_now(make_server):
    server = expire_server(make_server, 30)
    assert b"EXPIRE 30" in retr_first_and_quit(server)
    names = sorted(p.name for p in server.mail.files("alice"))
    assert len(names) == 2
    assert [name.rsplit(":", 1)[1] for name in names] == ["2,S", "2,"], names
