"""End to end: a real Postfix accepts mail over SMTP and hands it to mailport over LMTP; a POP3
client fetches it over TLS, byte for byte. Failure modes keep the message queued in Postfix:
an unknown recipient is refused at RCPT time, a full disk defers delivery until space is freed.
Also Postfix's local(8) writing an mbox file that mailport then serves."""

import os
import pathlib
import poplib
import shutil
import smtplib
import subprocess
import tempfile

import pytest

from postfix_util import Postfix, unavailable_reason, wait_for

REASON = unavailable_reason()
pytestmark = pytest.mark.skipif(REASON is not None, reason=REASON or "")

SENDER = "sender@outside.test"


def message(subject, body_lines):
    head = (f"From: Sender <{SENDER}>\r\nTo: alice@example.test, bob@example.test\r\n"
            f"Date: Mon, 01 Jan 2024 00:00:00 +0000\r\nMessage-ID: <{subject}@outside.test>\r\n"
            f"Subject: {subject}\r\n\r\n")
    return head.encode() + b"".join(line + b"\r\n" for line in body_lines)


@pytest.fixture
def world():
    """A directory the postfix user can traverse (pytest's tmp_path is private to root)."""
    root = pathlib.Path(tempfile.mkdtemp(prefix="mailport-e2e-"))
    os.chmod(root, 0o755)
    mounts = []
    yield root, mounts
    for mount in mounts:
        subprocess.run(["umount", "-l", str(mount)], capture_output=True)
    shutil.rmtree(root, ignore_errors=True)


def start_pair(make_server, root, users, extra_main=None):
    """mailport (Maildir under each user's home, LMTP on a Unix socket) and Postfix relaying the
    virtual domain example.test to it."""
    passwd = root / "mailport-passwd"
    passwd.write_text("".join(f"{u}:{{PLAIN}}{u}pw::::{home}::\n" for u, home in users.items()))
    sock = root / "lmtp"
    server = make_server(args=["--passwd", str(passwd), "--mail", "%h/Maildir",
                               "--lmtp", f"unix:{sock}"]).start()
    assert server.wait_log(r"listening listener=lmtp")
    postfix = Postfix(root / "postfix", {
        "virtual_mailbox_domains": "example.test",
        "virtual_mailbox_maps": "static:accepted-then-verified",
        "virtual_transport": f"lmtp:unix:{sock}",
        # Ask mailport at RCPT time whether the user exists (an LMTP probe: RCPT, then RSET).
        "smtpd_recipient_restrictions":
            "reject_unverified_recipient, permit_mynetworks, reject_unauth_destination",
        "unverified_recipient_reject_code": "550",
        "address_verify_poll_delay": "1s",
        **(extra_main or {}),
    }).start()
    return server, postfix


def rcpt_until_final(smtp, address, attempts=10):
    """RCPT, repeated while Postfix answers 450 'verification in progress'."""
    for _ in range(attempts):
        code, text = smtp.rcpt(address)
        if code != 450:
            return code, text
    return code, text


def send(postfix, recipients, data):
    with smtplib.SMTP("127.0.0.1", postfix.smtp_port, timeout=120) as smtp:
        smtp.ehlo("client.test")
        assert smtp.mail(SENDER)[0] == 250
        replies = {r: rcpt_until_final(smtp, r) for r in recipients}
        accepted = [r for r, (code, _) in replies.items() if code == 250]
        if accepted:
            code, text = smtp.data(data)
            assert code == 250, text
        return replies


def fetch_all(server, user):
    pop = poplib.POP3_SSL("127.0.0.1", server.pop3s_port, context=server.pki.client_context())
    try:
        pop.user(user)
        pop.pass_(f"{user}pw")
        count, _ = pop.stat()
        return [b"\r\n".join(pop.retr(i + 1)[1]) + b"\r\n" for i in range(count)]
    finally:
        pop.quit()


def maildir_count(home):
    new = pathlib.Path(home) / "Maildir" / "new"
    return len(list(new.iterdir())) if new.is_dir() else 0


def test_smtp_to_two_users_arrives_byte_exact_and_unknown_is_refused(make_server, world):
    root, _ = world
    homes = {u: str(root / "home" / u) for u in ("alice", "bob")}
    server, postfix = start_pair(make_server, root, homes)
    try:
        data = message("two-users", [b"first line", b".starts with a dot", b"..two dots",
                                     b"From the middle of a line", b"", b"last line"])
        replies = send(postfix, ["alice@example.test", "bob@example.test",
                                 "nobody@example.test"], data)
        assert replies["alice@example.test"][0] == 250
        assert replies["bob@example.test"][0] == 250
        assert replies["nobody@example.test"][0] == 550, replies
        wait_for(lambda: maildir_count(homes["alice"]) and maildir_count(homes["bob"]), 60,
                 "delivery over LMTP", postfix.log)
        for user in ("alice", "bob"):
            (got,) = fetch_all(server, user)
            assert got.endswith(data), got[:2000]
            head = got[:len(got) - len(data)]
            assert head.startswith(f"Return-Path: <{SENDER}>\r\n".encode())
            assert b"by mx.example.test (Postfix)" in head
        assert "status=sent" in postfix.log()
        # Postfix sent one LMTP transaction for both: one file, two links.
        alice_file = next((pathlib.Path(homes["alice"]) / "Maildir" / "cur").iterdir())
        assert os.stat(alice_file).st_nlink == 2
    finally:
        postfix.stop()


def test_twenty_megabyte_message(make_server, world):
    root, _ = world
    homes = {"alice": str(root / "home" / "alice")}
    server, postfix = start_pair(make_server, root, homes)
    try:
        line = b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-_=+./:;!?#"
        body = [b"%08d " % i + line for i in range(20 * 1024 * 1024 // len(line) + 1)]
        data = message("big", body)
        assert len(data) > 20 * 1024 * 1024
        assert send(postfix, ["alice@example.test"], data)["alice@example.test"][0] == 250
        wait_for(lambda: maildir_count(homes["alice"]), 120, "the 20 MB delivery", postfix.log)
        (got,) = fetch_all(server, "alice")
        assert got.endswith(data)
    finally:
        postfix.stop()


def test_disk_full_defers_until_space_is_freed(make_server, world):
    root, mounts = world
    small = root / "small"
    small.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k,mode=0755", "tmpfs",
                              str(small)], capture_output=True, text=True)
    if mounted.returncode != 0:
        pytest.skip("cannot mount a small tmpfs to fill (needs root and mount permission): " +
                    mounted.stderr.strip())
    mounts.append(small)
    homes = {"carol": str(small / "carol")}
    server, postfix = start_pair(make_server, root, homes)
    try:
        data = message("disk-full", [b"x" * 70 for _ in range(8000)])  # ~570 KB > 256 KB
        assert send(postfix, ["carol@example.test"], data)["carol@example.test"][0] == 250
        wait_for(lambda: "status=deferred" in postfix.log(), 60, "a deferral", postfix.log)
        assert "4.2.2" in postfix.log()
        assert len(postfix.queue_ids()) == 1, "the message must stay queued"
        assert maildir_count(homes["carol"]) == 0
        assert server.wait_log(r"result=storage-full")
        # Free space, then let Postfix retry at once instead of after its back-off.
        subprocess.run(["mount", "-o", "remount,size=16m", str(small)], check=True)
        postfix.flush()
        wait_for(lambda: maildir_count(homes["carol"]) == 1, 60, "delivery after space was freed",
                 postfix.log)
        (got,) = fetch_all(server, "carol")
        assert got.endswith(data)
        wait_for(lambda: not postfix.queue_ids(), 30, "an empty queue", postfix.log)
        tmp = pathlib.Path(homes["carol"]) / "Maildir" / "tmp"
        assert list(tmp.iterdir()) == [], "no partial file left behind"
    finally:
        postfix.stop()


def test_mbox_written_by_postfix_local_is_served(make_server, world, pki):
    root, _ = world
    spool = root / "spool"
    spool.mkdir()
    os.chmod(spool, 0o1777)
    aliases = root / "aliases"
    # local(8) appends to a file named in an alias, in mbox format, under its own locks.
    aliases.write_text(f"dave {spool / 'dave'}\n")  # texthash: "key value", no colon
    postfix = Postfix(root / "postfix", {
        "mydestination": "example.test",
        "alias_maps": f"texthash:{aliases}",
        "local_recipient_maps": "$alias_maps",
        "default_privs": "nobody",
    }).start()
    passwd = root / "mailport-passwd"
    passwd.write_text("dave:{PLAIN}davepw::::::\n")
    server = make_server(args=["--passwd", str(passwd), "--mail", f"mbox:{spool}/%u"]).start()
    try:
        first = message("mbox-one", [b"hello", b"From the start of a body line", b"bye"])
        second = message("mbox-two", [b"second"])
        for data in (first, second):
            reply = send(postfix, ["dave@example.test"], data)["dave@example.test"]
            assert reply[0] == 250, (reply, postfix.log())
        wait_for(lambda: (spool / "dave").exists() and
                 (spool / "dave").read_bytes().count(b"\nFrom ") >= 1 and
                 b"mbox-two" in (spool / "dave").read_bytes(), 60, "local(8) delivery",
                 postfix.log)
        got = fetch_all(server, "dave")
        assert len(got) == 2
        # local(8) quotes body lines starting with "From "; mailport serves them as stored.
        assert got[0].endswith(first.replace(b"\r\nFrom the start", b"\r\n>From the start"))
        assert got[1].endswith(second)
        assert got[0].startswith(b"Return-Path: <sender@outside.test>\r\n")
    finally:
        postfix.stop()
