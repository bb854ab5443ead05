"""`mailport deliver`, the local delivery agent: exit statuses an MTA understands, trace fields,
Maildir and mbox targets, and the delivered mail retrieved over POP3S."""

import os

from mailin_util import deliver, retrieve_all

MESSAGE = b"From: a@example.net\nSubject: local\n\nFrom the start\n.dot\nend\n"


def base_args(server, *extra):
    return ["--passwd", str(server.passwd), "--mail", str(server.mail.root / "%u" / "Maildir"),
            *extra]


def test_delivers_with_return_path_and_delivered_to(make_server):
    server = make_server()
    result = deliver(base_args(server, "-d", "alice", "-f", "a@example.net", "-a",
                               "alice@example.org"), MESSAGE)
    assert result.returncode == 0, result.stderr
    (path,) = server.mail.files("alice")
    assert path.parent.name == "new"
    stored = path.read_bytes()
    assert stored == b"Return-Path: <a@example.net>\nDelivered-To: alice@example.org\n" + MESSAGE
    server.start()
    pop = server.raw(tls=True)
    pop.line()
    pop.login()
    assert retrieve_all(pop) == [stored.replace(b"\n", b"\r\n")]


def test_mbox_envelope_line_on_stdin_is_not_a_header(make_server):
    server = make_server()
    result = deliver(base_args(server, "-d", "bob"),
                     b"From a@example.net Mon Jan  1 00:00:00 2024\n" + MESSAGE)
    assert result.returncode == 0, result.stderr
    assert server.mail.contents("bob") == [b"Return-Path: <>\nDelivered-To: bob\n" + MESSAGE]


def test_existing_return_path_is_replaced_and_delivered_to_not_doubled(make_server):
    server = make_server()
    message = b"Return-Path: <forged@x>\nDelivered-To: alice\nSubject: s\n\nb\n"
    assert deliver(base_args(server, "-d", "alice", "-f", "real@x"), message).returncode == 0
    assert server.mail.contents("alice") == [
        b"Return-Path: <real@x>\nDelivered-To: alice\nSubject: s\n\nb\n"]


def test_unknown_user_is_67(make_server):
    server = make_server()
    result = deliver(base_args(server, "-d", "mallory"), MESSAGE)
    assert result.returncode == 67
    assert b"no such user" in result.stderr
    assert not (server.mail.root / "mallory").exists()


def test_bad_input_is_65(make_server, tmp_path):
    server = make_server()
    assert deliver(base_args(server, "-d", "alice"), b"").returncode == 65
    config = tmp_path / "small.toml"
    config.write_text("[lmtp]\nmax_message_size = \"1K\"\n")
    result = deliver(["--config", str(config), *base_args(server, "-d", "alice")], b"x" * 2000)
    assert result.returncode == 65
    assert b"larger than" in result.stderr
    assert server.mail.files("alice") == []


def test_unwritable_maildir_is_a_temporary_failure(make_server):
    server = make_server()
    (server.mail.root / "alice").mkdir(parents=True)
    (server.mail.root / "alice" / "Maildir").write_text("a file, not a directory")
    result = deliver(base_args(server, "-d", "alice"), MESSAGE)
    assert result.returncode == 75, result.stderr


def test_configuration_error_is_78(make_server):
    server = make_server()
    result = deliver(["--passwd", str(server.passwd), "--mail", "relative/%u", "-d", "alice"],
                     MESSAGE)
    assert result.returncode == 78
    assert b"mail.location" in result.stderr


def test_mbox_target_and_locked_spool(make_server, tmp_path):
    server = make_server()
    spool_dir = tmp_path / "spool"
    args = ["--passwd", str(server.passwd), "--mail", f"mbox:{spool_dir}/%u", "-d", "alice",
            "-f", "s@example.net"]
    assert deliver(args, b"Subject: one\n\nFrom me\n").returncode == 0
    spool = (spool_dir / "alice").read_bytes()
    assert spool.startswith(b"From s@example.net ")
    assert spool.endswith(b"Return-Path: <s@example.net>\nDelivered-To: alice\n"
                          b"Subject: one\n\n>From me\n\n")
    # Another program holds the dot-lock: deliver waits mail.lock_timeout, then asks to retry.
    (spool_dir / "alice.lock").write_text("")
    config = tmp_path / "quick.toml"
    config.write_text("[mail]\nlock_timeout = \"300ms\"\n")
    result = deliver(["--config", str(config), *args], b"Subject: two\n\nx\n")
    assert result.returncode == 75
    assert b"locked" in result.stderr
    assert (spool_dir / "alice").read_bytes() == spool
    os.unlink(spool_dir / "alice.lock")
    assert deliver(["--config", str(config), *args], b"Subject: two\n\nx\n").returncode == 0
