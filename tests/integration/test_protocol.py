"""Protocol behaviour over real sockets: policy, STLS, limits, pipelining, UPDATE semantics."""

import socket
import ssl
import threading
import time

import pytest

from conftest import RawClient, crlf, unstuff


def test_greeting_and_capa_before_tls_hide_plaintext_login(server):
    server.start()
    c = server.raw()
    assert c.line().startswith(b"+OK")
    assert c.cmd("CAPA").startswith(b"+OK")
    caps = c.multiline().decode().split("\r\n")
    assert "STLS" in caps and "PIPELINING" in caps and "UIDL" in caps and "TOP" in caps
    assert "USER" not in caps
    assert not any(cap.startswith("SASL") and "PLAIN" in cap for cap in caps)
    assert not any(cap.startswith("IMPLEMENTATION") for cap in caps)


def test_plaintext_login_refused_before_stls(server):
    server.start()
    c = server.raw()
    c.line()
    reply = c.cmd("USER alice")
    assert reply.startswith(b"-ERR [AUTH]") and b"STLS" in reply
    assert c.cmd("AUTH PLAIN AGFsaWNlAGFsaWNlcHc=").startswith(b"-ERR [AUTH]")
    assert "result=ok" not in server.log()


def test_plaintext_auth_loopback_policy_allows_local_clients(make_server):
    server = make_server(args=["--plaintext-auth", "loopback"])
    server.mail.add("alice", b"Subject: x\n\nbody\n")
    server.start()
    c = server.raw()
    c.line()
    c.login()
    assert c.cmd("STAT") == b"+OK 1 " + str(len(crlf(b"Subject: x\n\nbody\n"))).encode()


def test_stls_discards_pipelined_plaintext(server, pki):
    server.start()
    c = server.raw()
    c.line()
    # Everything after STLS in the same packet must never be executed (command injection).
    c.send(b"STLS\r\nUSER alice\r\nPASS alicepw\r\n")
    assert c.line().startswith(b"+OK")
    c.starttls(pki.client_context())
    assert c.cmd("NOOP").startswith(b"-ERR")  # NOOP is a TRANSACTION command (RFC 1939)
    assert c.cmd("STAT").startswith(b"-ERR")  # not logged in: the injected login was discarded
    assert c.cmd("STLS").startswith(b"-ERR")  # a second STLS is refused
    assert c.cmd("CAPA").startswith(b"+OK")
    caps = c.multiline().decode().split("\r\n")
    assert "STLS" not in caps and "USER" in caps
    c.login()


def test_implicit_tls_drops_a_plaintext_client(server):
    server.start()
    sock = socket.create_connection(("127.0.0.1", server.pop3s_port), timeout=10)
    sock.sendall(b"CAPA\r\n")
    data = b""
    sock.settimeout(10)
    try:
        while True:
            chunk = sock.recv(4096)
            if not chunk:
                break
            data += chunk
    except ConnectionResetError:
        pass
    assert b"+OK" not in data
    # The server keeps serving others.
    c = server.raw(tls=True)
    assert c.line().startswith(b"+OK")


def test_commands_in_every_state_and_errors(server, pki):
    server.mail.add("alice", b"Subject: a\n\nA\n")
    server.mail.add("alice", b"Subject: b\n\nB\n")
    server.start()
    c = server.raw(tls=True)
    c.line()
    assert c.cmd("STAT").startswith(b"-ERR")
    assert c.cmd("USER").startswith(b"-ERR")
    assert c.cmd("PASS x").startswith(b"-ERR")
    assert c.cmd("").startswith(b"-ERR")
    assert c.cmd("!!").startswith(b"-ERR")
    c.login()
    assert c.cmd("USER alice").startswith(b"-ERR")
    assert c.cmd("RETR 3").startswith(b"-ERR")
    assert c.cmd("RETR x").startswith(b"-ERR")
    assert c.cmd("DELE 1").startswith(b"+OK")
    assert c.cmd("DELE 1").startswith(b"-ERR")
    assert c.cmd("RETR 1").startswith(b"-ERR")
    assert c.cmd("LIST 1").startswith(b"-ERR")
    assert c.cmd("STAT").startswith(b"+OK 1 ")
    assert c.cmd("LIST").startswith(b"+OK")
    assert c.multiline().startswith(b"2 ")
    assert c.cmd("RSET").startswith(b"+OK")
    assert c.cmd("STAT").startswith(b"+OK 2 ")
    assert c.cmd("QUIT").startswith(b"+OK")
    assert c.closed()


def test_quit_before_login_is_answered(server):
    server.start()
    c = server.raw()
    c.line()
    assert c.cmd("QUIT").startswith(b"+OK")
    assert c.closed()


def test_nul_and_control_bytes_are_never_executed(server, pki):
    server.start()
    c = server.raw(tls=True)
    c.line()
    c.send(b"USER alice\x00junk\r\n")
    assert c.line().startswith(b"-ERR")
    assert c.cmd("PASS alicepw").startswith(b"-ERR")  # USER was not accepted
    c.send(b"CAPA\rCAPA\r\n")
    assert c.line().startswith(b"-ERR")
    assert c.cmd("CAPA").startswith(b"+OK")


def test_huge_line_over_tls_is_refused_without_disturbing_others(server, pki):
    server.mail.add("bob", b"Subject: b\n\nbody\n")
    server.start()
    attacker = server.raw(tls=True)
    attacker.line()
    other = server.raw(tls=True)
    other.line()
    other.login("bob", "bobpw")
    attacker.send(b"A" * (1024 * 1024) + b"\r\n")
    assert attacker.line().startswith(b"-ERR")
    assert attacker.cmd("CAPA").startswith(b"+OK")
    attacker.multiline()
    assert other.cmd("STAT").startswith(b"+OK 1 ")
    assert attacker.cmd("A" * 250).startswith(b"-ERR")  # within the limit but unknown


def test_pipelined_commands_are_answered_in_order(server, pki):
    for i in range(5):
        server.mail.add("alice", f"Subject: {i}\n\nbody {i}\n".encode())
    server.start()
    c = server.raw(tls=True)
    c.line()
    c.send(b"USER alice\r\nPASS alicepw\r\n" + b"NOOP\r\n" * 200 + b"STAT\r\nUIDL\r\nQUIT\r\n")
    assert c.line().startswith(b"+OK")
    assert c.line().startswith(b"+OK")
    for _ in range(200):
        assert c.line().startswith(b"+OK")
    assert c.line().startswith(b"+OK 5 ")
    assert c.line().startswith(b"+OK")
    uidls = c.multiline().split(b"\r\n")[:-1]
    assert len(uidls) == 5 and len(set(u.split()[1] for u in uidls)) == 5
    assert c.line().startswith(b"+OK")


def test_bare_lf_message_is_served_with_crlf_and_exact_octets(server, pki):
    body = b"Subject: lf\n\n.\nline\n..x\nno final newline"
    server.mail.add("alice", body)
    server.start()
    c = server.raw(tls=True)
    c.line()
    c.login()
    size = len(crlf(body))
    assert c.cmd("LIST 1") == b"+OK 1 %d" % size
    reply = c.cmd("RETR 1")
    assert reply.startswith(b"+OK")
    data = c.multiline()
    assert unstuff(data) == crlf(body) + b"\r\n"
    assert b"\r\n..\r\n" in data and b"\r\n...x\r\n" in data


def test_top_zero_sends_headers_and_blank_line_only(server, pki):
    server.mail.add("alice", b"Subject: t\nX-A: 1\n\nline1\nline2\nline3\n")
    server.start()
    c = server.raw(tls=True)
    c.line()
    c.login()
    assert c.cmd("TOP 1 0").startswith(b"+OK")
    assert c.multiline() == b"Subject: t\r\nX-A: 1\r\n\r\n"
    assert c.cmd("TOP 1 2").startswith(b"+OK")
    assert c.multiline() == b"Subject: t\r\nX-A: 1\r\n\r\nline1\r\nline2\r\n"


def test_dele_then_quit_removes_and_dropped_connection_keeps(server, pki):
    server.mail.add("alice", b"Subject: 1\n\none\n")
    server.mail.add("alice", b"Subject: 2\n\ntwo\n")
    server.start()
    c = server.raw(tls=True)
    c.line()
    c.login()
    assert c.cmd("DELE 1").startswith(b"+OK")
    c.close()  # no QUIT: nothing may be deleted
    assert server.wait_log(r"event=disconnect user=\"alice\"")
    assert len(server.mail.files("alice")) == 2
    c = server.raw(tls=True)
    c.line()
    c.login()
    assert c.cmd("DELE 1").startswith(b"+OK")
    assert c.cmd("RSET").startswith(b"+OK")
    assert c.cmd("DELE 2").startswith(b"+OK")
    assert c.cmd("QUIT").startswith(b"+OK")
    assert c.closed()
    assert server.mail.contents("alice") == [b"Subject: 1\n\none\n"]


def test_concurrent_login_gets_in_use_and_lock_dies_with_session(make_server, pki):
    server = make_server(args=["--lock-timeout", "1s"])
    server.mail.add("alice", b"Subject: 1\n\none\n")
    server.start()
    first = server.raw(tls=True)
    first.line()
    first.login()
    second = server.raw(tls=True)
    second.line()
    assert second.cmd("USER alice").startswith(b"+OK")
    started = time.monotonic()
    assert second.cmd("PASS alicepw").startswith(b"-ERR [IN-USE]")
    assert time.monotonic() - started >= 0.8  # it waited for the lock first
    first.close()  # dropped without QUIT: the lock must go with it
    assert server.wait_log(r"event=disconnect user=\"alice\"")
    third = server.raw(tls=True)
    third.line()
    third.login()


def test_waiting_login_succeeds_when_the_other_session_quits(make_server, pki):
    server = make_server(args=["--lock-timeout", "5s"])
    server.start()
    first = server.raw(tls=True)
    first.line()
    first.login()
    second = server.raw(tls=True)
    second.line()
    second.cmd("USER alice")
    second.send(b"PASS alicepw\r\n")
    time.sleep(0.5)
    assert first.cmd("QUIT").startswith(b"+OK")
    assert second.line().startswith(b"+OK")


def test_new_mail_moves_to_cur_and_later_arrivals_wait_for_next_session(server, pki):
    server.mail.add("alice", b"Subject: new\n\nfresh\n", folder="new")
    server.start()
    c = server.raw(tls=True)
    c.line()
    c.login()
    assert c.cmd("STAT").startswith(b"+OK 1 ")
    assert not list((server.mail.maildir("alice") / "new").iterdir())
    server.mail.add("alice", b"Subject: later\n\nlater\n", folder="new")
    assert c.cmd("STAT").startswith(b"+OK 1 ")
    assert c.cmd("UIDL 1").startswith(b"+OK 1 ")
    c.cmd("QUIT")
    c = server.raw(tls=True)
    c.line()
    c.login()
    assert c.cmd("STAT").startswith(b"+OK 2 ")


def test_uidl_is_stable_across_sessions(server, pki):
    server.mail.add("alice", b"Subject: 1\n\none\n", folder="new")
    server.mail.add("alice", b"Subject: 2\n\ntwo\n")
    server.start()

    def uidls():
        c = server.raw(tls=True)
        c.line()
        c.login()
        assert c.cmd("UIDL").startswith(b"+OK")
        listing = c.multiline()
        c.cmd("QUIT")
        return listing

    first = uidls()
    assert first == uidls()
    for line in first.split(b"\r\n")[:-1]:
        uid = line.split(b" ")[1]
        assert 1 <= len(uid) <= 70 and all(0x21 <= b <= 0x7E for b in uid)


def test_missing_maildir_is_an_empty_maildrop(server, pki):
    server.start()
    c = server.raw(tls=True)
    c.line()
    c.login("bob", "bobpw")
    assert c.cmd("STAT") == b"+OK 0 0"
    assert (server.mail.maildir("bob") / "cur").is_dir()


def test_wrong_password_and_unknown_user_get_identical_replies(server, pki):
    server.start()
    replies = []
    for user, password in (("alice", "wrong"), ("nobody", "wrong")):
        c = server.raw(tls=True)
        c.line()
        c.cmd(f"USER {user}")
        replies.append(c.cmd(f"PASS {password}"))
    assert replies[0] == replies[1]
    assert replies[0].startswith(b"-ERR [AUTH]")
    assert server.wait_log(r"event=login result=failed user=\"nobody\"")


def test_sigterm_stops_cleanly_without_applying_deletions(server, pki):
    server.mail.add("alice", b"Subject: keep\n\nme\n")
    server.start()
    c = server.raw(tls=True)
    c.line()
    c.login()
    assert c.cmd("DELE 1").startswith(b"+OK")
    assert server.stop() == 0
    assert len(server.mail.files("alice")) == 1


def test_prelogin_timeout_drops_idle_connections(make_server, tmp_path, pki):
    config = tmp_path / "short.toml"
    config.write_text('[session]\nprelogin_timeout = "1s"\n[mail]\nlocation = "/tmp/unused/%u"\n'
                      '[auth]\npasswd = "unused"\n')
    server = make_server(args=["--config", str(config)])
    server.start()
    c = server.raw()
    c.line()
    started = time.monotonic()
    assert c.closed(timeout=10)
    assert time.monotonic() - started < 8
