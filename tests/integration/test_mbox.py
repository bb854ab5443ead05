"""Serving classic mbox spools: messages as the MTA's local delivery writes them, stable UIDLs,
and UPDATE rewriting the spool without losing mail that arrived during the session."""

from mailin_util import deliver, retrieve_all

SPOOL = (b"From alice@example.org Mon Jan  1 00:00:00 2024\n"
         b"Return-Path: <alice@example.org>\nSubject: first\n\nhello\n>From quoted\n\n"
         b"From bob@example.org Mon Jan  1 00:00:01 2024\n"
         b"Subject: second\n\nsecond body\n\n"
         b"From carol@example.org Mon Jan  1 00:00:02 2024\n"
         b"Subject: third\nX-UIDL: kept-from-the-old-server\n\nthird\n\n")


def mbox_server(make_server, tmp_path):
    spool_dir = tmp_path / "spool"
    spool_dir.mkdir()
    server = make_server(args=["--mail", f"mbox:{spool_dir}/%u"])
    return server, spool_dir


def login(server):
    pop = server.raw(tls=True)
    assert pop.line().startswith(b"+OK")
    pop.login()
    return pop


def test_lists_sizes_uidls_and_bodies(make_server, tmp_path):
    server, spool_dir = mbox_server(make_server, tmp_path)
    (spool_dir / "alice").write_bytes(SPOOL)
    server.start()
    pop = login(server)
    messages = retrieve_all(pop)
    assert messages == [
        b"Return-Path: <alice@example.org>\r\nSubject: first\r\n\r\nhello\r\n>From quoted\r\n",
        b"Subject: second\r\n\r\nsecond body\r\n",
        b"Subject: third\r\nX-UIDL: kept-from-the-old-server\r\n\r\nthird\r\n"]
    pop.send(b"LIST\r\n")
    assert pop.line().startswith(b"+OK")
    sizes = [int(line.split()[1]) for line in pop.multiline().split(b"\r\n") if line]
    assert sizes == [len(m) for m in messages]
    pop.send(b"UIDL\r\n")
    pop.line()
    uidls = [line.split()[1] for line in pop.multiline().split(b"\r\n") if line]
    assert uidls[2] == b"kept-from-the-old-server"
    assert len(set(uidls)) == 3
    pop.cmd("QUIT")
    again = login(server)
    again.send(b"UIDL\r\n")
    again.line()
    assert [line.split()[1] for line in again.multiline().split(b"\r\n") if line] == uidls


def test_update_keeps_mail_delivered_during_the_session(make_server, tmp_path):
    server, spool_dir = mbox_server(make_server, tmp_path)
    (spool_dir / "alice").write_bytes(SPOOL)
    server.start()
    pop = login(server)
    assert pop.cmd("DELE 1").startswith(b"+OK")
    assert pop.cmd("DELE 3").startswith(b"+OK")
    late = deliver(["--passwd", str(server.passwd), "--mail", f"mbox:{spool_dir}/%u",
                    "-d", "alice", "-f", "late@example.net"], b"Subject: late\n\nlate\n")
    assert late.returncode == 0, late.stderr
    assert pop.cmd("QUIT").startswith(b"+OK")
    spool = (spool_dir / "alice").read_bytes()
    assert spool.startswith(b"From bob@example.org Mon Jan  1 00:00:01 2024\nSubject: second\n")
    assert b"Subject: first" not in spool and b"Subject: third" not in spool
    assert spool.endswith(b"Subject: late\n\nlate\n\n")
    assert not (spool_dir / "alice.lock").exists()
    pop = login(server)
    assert [m.split(b"\r\n")[-3:] for m in retrieve_all(pop)] == [
        [b"", b"second body", b""], [b"", b"late", b""]]


def test_missing_spool_is_empty_and_not_created(make_server, tmp_path):
    server, spool_dir = mbox_server(make_server, tmp_path)
    server.start()
    pop = login(server)
    assert pop.cmd("STAT") == b"+OK 0 0"
    pop.cmd("QUIT")
    assert not (spool_dir / "alice").exists()
