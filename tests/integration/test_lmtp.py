"""The LMTP listener of `mailport serve`: delivery over a Unix socket and loopback TCP, per-
recipient replies, one file hard-linked into several Maildirs, and retrieval over POP3S."""

import os

from mailin_util import LmtpClient, body_after_trace, lmtp_args, lmtp_tcp_port, retrieve_all

MESSAGE = (b"From: Sender <sender@example.net>\r\nTo: alice@example.org\r\n"
           b"Subject: over LMTP\r\n\r\n.leading dot survives\r\n..two dots\r\n"
           b"From the body\r\n8-bit: \xc3\xa9t\xc3\xa9\r\nlast line\r\n")


def test_unix_socket_delivers_to_each_known_recipient(make_server, tmp_path):
    sock = tmp_path / "run" / "lmtp"
    server = make_server(args=lmtp_args(sock)).start()
    assert server.wait_log(r"listening listener=lmtp address=unix:")
    assert oct(os.stat(sock).st_mode & 0o777) == "0o666"
    client = LmtpClient.unix(sock)
    lhlo = client.greet()
    for extension in (b"PIPELINING", b"ENHANCEDSTATUSCODES", b"8BITMIME", b"SIZE 52428800"):
        assert extension in lhlo
    rcpt, data = client.transaction("sender@example.net",
                                    ["alice@example.org", "nobody@example.org", "bob"], MESSAGE)
    assert [code for code, _ in rcpt] == [250, 550, 250]
    assert b"5.1.1" in rcpt[1][1]
    assert [code for code, _ in data] == [250, 250]
    assert b"<alice@example.org>" in data[0][1] and b"<bob>" in data[1][1]
    client.close()

    # Written once: both Maildirs hold the same inode.
    alice, bob = server.mail.files("alice"), server.mail.files("bob")
    assert len(alice) == 1 and len(bob) == 1
    assert os.stat(alice[0]).st_ino == os.stat(bob[0]).st_ino
    assert os.stat(alice[0]).st_nlink == 2
    assert alice[0].parent.name == "new"

    for user, password in (("alice", "alicepw"), ("bob", "bobpw")):
        pop = server.raw(tls=True)
        assert pop.line().startswith(b"+OK")
        pop.login(user, password)
        (got,) = retrieve_all(pop)
        pop.cmd("QUIT")
        assert body_after_trace(got) == MESSAGE
        assert got.startswith(b"Return-Path: <sender@example.net>\r\nReceived: from test.example")
        assert b"Delivered-To:" not in got  # a shared copy names no single recipient


def test_single_recipient_gets_delivered_to(make_server, tmp_path):
    sock = tmp_path / "lmtp"
    server = make_server(args=lmtp_args(sock)).start()
    client = LmtpClient.unix(sock)
    client.greet()
    _, data = client.transaction("", ["alice"], b"Subject: x\r\n\r\nbody\r\n")
    assert data[0][0] == 250
    client.close()
    (stored,) = server.mail.contents("alice")
    assert stored.startswith(b"Return-Path: <>\nDelivered-To: alice\nReceived: from test.example")
    assert stored.endswith(b"\nSubject: x\n\nbody\n")
    name = server.mail.files("alice")[0].name
    wire = len(stored) + stored.count(b"\n")
    assert f",S={len(stored)}," in name and f",W={wire}" in name


def test_tcp_listener_pipelining_and_size_limit(make_server, tmp_path):
    config = tmp_path / "lmtp.toml"
    config.write_text("[lmtp]\nmax_message_size = \"2K\"\n")
    server = make_server(args=["--config", str(config), *lmtp_args(tcp=True)])
    server.start()
    port = lmtp_tcp_port(server)
    client = LmtpClient.tcp(port)
    assert client.reply()[0] == 220
    # The whole transaction in one write, as PIPELINING allows.
    client.send(b"LHLO t\r\nMAIL FROM:<s@x>\r\nRCPT TO:<alice>\r\nRCPT TO:<bob>\r\nDATA\r\n")
    assert [client.reply()[0] for _ in range(5)] == [250, 250, 250, 250, 354]
    client.send(b"x" * 3000 + b"\r\n.\r\nMAIL FROM:<s@x> SIZE=5000\r\n")
    assert [client.reply() for _ in range(2)] == [
        (552, b"552 5.3.4 <alice> message exceeds the size limit"),
        (552, b"552 5.3.4 <bob> message exceeds the size limit")]
    assert client.reply() == (552, b"552 5.3.4 message exceeds the size limit")
    client.close()
    assert server.mail.files("alice") == []


def test_helo_is_refused_and_quit_closes(make_server, tmp_path):
    sock = tmp_path / "lmtp"
    make_server(args=lmtp_args(sock)).start()
    client = LmtpClient.unix(sock)
    assert client.reply()[0] == 220
    assert client.cmd("EHLO x")[0] == 500
    assert client.cmd("QUIT")[0] == 221
    assert client.sock.recv(10) == b""


def test_socket_mode_from_config_and_socket_removed_at_exit(make_server, tmp_path):
    sock = tmp_path / "lmtp"
    config = tmp_path / "mode.toml"
    config.write_text(f"[lmtp]\nlisten = \"unix:{sock}\"\nsocket_mode = 0o600\n")
    server = make_server(args=["--config", str(config)]).start()
    assert server.wait_log(r"listening listener=lmtp")
    assert oct(os.stat(sock).st_mode & 0o777) == "0o600"
    server.stop()
    assert not sock.exists()


def test_lmtp_over_tcp_must_stay_on_loopback(make_server):
    server = make_server(args=["--lmtp", "0.0.0.0:2424"])
    try:
        server.start()
        raise AssertionError("started with LMTP on 0.0.0.0")
    except RuntimeError:
        pass
    assert "not a loopback address" in server.log()
