"""Taking over from another POP3 server without re-downloads (docs/migration.md): real Dovecot
serves a Maildir and real clients record its UIDLs; after `mailport migrate import` mailport lists
the same UIDLs on the same Maildir and a client with its old state downloads nothing."""

import os
import poplib
import re
import shutil
import subprocess
import urllib.request

import pytest

from conftest import BIN
from support import dovecot
from support import popa3d as popa3d_support

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="Dovecot serves mail as `mail`: root only")

MESSAGES = [
    b"From: a@example.org\nSubject: one\n\nfirst body\n",
    b"From: b@example.org\nSubject: two\n\nsecond body\n.dot line\n",
    b"From: c@example.org\nSubject: three\n\nthird body\n",
]


def mailport(*args, timeout=60):
    return subprocess.run([BIN, *args], capture_output=True, timeout=timeout)


def uidls(port, pki, user="alice", password="alicepw"):
    client = poplib.POP3_SSL("127.0.0.1", port, context=pki.client_context(), timeout=10)
    try:
        client.user(user)
        client.pass_(password)
        _, lines, _ = client.uidl()
        return [line.decode().split()[1] for line in lines]
    finally:
        client.quit()


@pytest.fixture
def dovecot_on(tmp_path, pki):
    if not dovecot.available():
        pytest.skip("dovecot is not installed (./dev.sh installs dovecot-pop3d)")
    started = []

    def start(mail_root, **kwargs):
        d = dovecot.DovecotServer(tmp_path / f"dovecot{len(started)}",
                                  users={"alice": "{PLAIN}alicepw", "bob": "{PLAIN}bobpw"},
                                  cert=pki.cert, key=pki.key, mail_root=mail_root, **kwargs)
        started.append(d)
        return d.start()

    yield start
    for d in started:
        d.stop()


class Fetchmail:
    """fetchmail --keep --uidl with its own rc and id files; messages are discarded."""

    def __init__(self, tmp, pki):
        self.binary = shutil.which("fetchmail")
        if self.binary is None:
            pytest.skip("fetchmail is not installed (./dev.sh installs it)")
        self.home = tmp / "fetchmail"
        self.home.mkdir()
        self.idfile = self.home / "ids"
        self.pki = pki

    def run(self, port, tls=True):
        rc = self.home / "rc"
        rc.write_text(f'poll localhost port {port} protocol pop3 auth password\n'
                      f'  user "alice" there with password "alicepw"\n')
        rc.chmod(0o600)
        # Without TLS, fetchmail insists on STLS unless told that plaintext is intended.
        security = (["--ssl", "--sslcertck", "--sslcertfile", self.pki.ca] if tls else
                    ["--sslproto", ""])
        cmd = [self.binary, "--nosyslog", "--nodetach", "-f", rc, "-i", self.idfile,
               "--pidfile", self.home / "pid", *security, "--mda", "cat >/dev/null", "--keep",
               "--uidl", "-v"]
        env = {"PATH": "/usr/bin:/bin", "HOME": str(self.home), "FETCHMAILHOME": str(self.home)}
        out = subprocess.run(cmd, capture_output=True, timeout=60, env=env)
        return out.returncode, (out.stdout + out.stderr).decode()


def fill(server, user="alice"):
    server.mail.add(user, MESSAGES[0], folder="cur")
    server.mail.add(user, MESSAGES[1], folder="cur")
    server.mail.add(user, MESSAGES[2], folder="new")


def test_dovecot_uidls_survive_the_switch_and_fetchmail_downloads_nothing(
        make_server, dovecot_on, pki, tmp_path):
    server = make_server()
    fill(server)
    old = dovecot_on(server.mail.root)
    fetchmail = Fetchmail(tmp_path, pki)
    code, log = fetchmail.run(old.pop3s_port)
    assert code == 0, log
    assert "POP3> RETR" in log or "POP3> TOP" in log
    before = uidls(old.pop3s_port, pki)
    assert len(before) == 3
    old.stop()
    assert (server.mail.maildir("alice") / "dovecot-uidlist").exists()

    out = mailport("migrate", "import", "--from", "dovecot", "--mail",
                   str(server.mail.root / "%u" / "Maildir"), "--passwd", str(server.passwd))
    assert out.returncode == 0, out.stderr.decode()
    assert "alice: 3 messages, 3 UIDLs imported, 0 without an old UIDL, 0 collisions" in \
        out.stdout.decode()
    server.start()
    assert uidls(server.pop3s_port, pki) == before

    code, log = fetchmail.run(server.pop3s_port)
    assert code == 1, log  # fetchmail's "no new mail"
    assert "3 messages (3 seen)" in log
    assert "POP3> RETR" not in log and "POP3> TOP" not in log


def test_dovecot_import_dry_run_lists_and_writes_nothing(make_server, dovecot_on, pki):
    server = make_server()
    fill(server)
    old = dovecot_on(server.mail.root)
    before = uidls(old.pop3s_port, pki)
    old.stop()
    # A message delivered after the old server last looked has no old UIDL.
    late = server.mail.add("alice", b"Subject: late\n\nafter the switch\n", folder="new")
    out = mailport("migrate", "import", "--from", "dovecot", "--mail",
                   str(server.mail.root / "%u" / "Maildir"), "--passwd", str(server.passwd),
                   "--users", "alice", "--dry-run")
    assert out.returncode == 0, out.stderr.decode()
    text = out.stdout.decode()
    assert "alice: 4 messages, 3 UIDLs to import, 1 without an old UIDL, 0 collisions" in text
    for number, uidl in enumerate(before, start=1):
        assert f"  {number} {uidl} " in text
    assert f"  4 {late.name} {late.name}  NO-OLD-UIDL" in text
    assert not (server.mail.maildir("alice") / "mailport-uidlmap").exists()


def test_dovecot_custom_uidl_format(make_server, dovecot_on, pki):
    server = make_server()
    fill(server)
    old = dovecot_on(server.mail.root, extra_config="protocol pop3 {\n  pop3_uidl_format = %v.%u\n}\n")
    before = uidls(old.pop3s_port, pki)
    old.stop()
    assert all("." in u for u in before)
    out = mailport("migrate", "import", "--from", "dovecot", "--uidl-format", "%v.%u", "--mail",
                   str(server.mail.root / "%u" / "Maildir"), "--passwd", str(server.passwd))
    assert out.returncode == 0, out.stderr.decode()
    server.start()
    assert uidls(server.pop3s_port, pki) == before


def test_import_errors_name_file_and_line(make_server, tmp_path):
    server = make_server()
    fill(server)
    uidlist = server.mail.maildir("alice") / "dovecot-uidlist"
    uidlist.write_text("3 V1 N3\n1 :x\ngarbage\n")
    out = mailport("migrate", "import", "--from", "dovecot", "--mail",
                   str(server.mail.root / "%u" / "Maildir"), "--passwd", str(server.passwd))
    assert out.returncode == 65
    assert f"{uidlist}:3: expected" in out.stderr.decode()
    bad = mailport("migrate", "import", "--from", "dovecot", "--uidl-format", "%q", "--mail",
                   str(server.mail.root / "%u" / "Maildir"), "--passwd", str(server.passwd))
    assert bad.returncode == 64
    assert "--uidl-format" in bad.stderr.decode()
    nouser = mailport("migrate", "import", "--from", "xuidl", "--mail",
                      str(server.mail.root / "%u" / "Maildir"), "--passwd", str(server.passwd),
                      "--users", "carol")
    assert nouser.returncode == 67
    assert 'no user "carol"' in nouser.stderr.decode()


def test_a_broken_map_is_logged_and_mail_is_still_served(server, pki):
    fill(server)
    (server.mail.maildir("alice") / "mailport-uidlmap").write_text("not a map\n")
    server.start()
    assert len(uidls(server.pop3s_port, pki)) == 3
    assert server.wait_log(r"event=uidl-map-unusable .*mailport-uidlmap:1: not a UIDL map")


def pull(url, *args, password="alicepw", tmp_path=None):
    env = dict(os.environ, MAILPORT_PASSWORD=password)
    return subprocess.run([BIN, "migrate", "pull", url, *args], capture_output=True, timeout=60,
                          env=env)


def test_pull_from_dovecot_keeps_uidls_is_resumable_and_deletes_nothing(
        make_server, dovecot_on, pki, tmp_path):
    server = make_server()
    old_root = tmp_path / "old-mail"
    from conftest import Mailstore
    old_mail = Mailstore(old_root)
    for i, message in enumerate(MESSAGES):
        old_mail.add("alice", message, folder="cur" if i < 2 else "new")
    old = dovecot_on(old_root)
    before = uidls(old.pop3s_port, pki)
    url = f"pop3s://alice@localhost:{old.pop3s_port}"
    target = server.mail.maildir("alice")

    first = pull(url, "--cafile", str(pki.ca), "--mail", str(server.mail.root / "%u" / "Maildir"))
    assert first.returncode == 0, first.stderr.decode()
    assert "3 messages on the server, 3 copied" in first.stdout.decode()
    assert "0 failed" in first.stdout.decode()
    assert sorted(p.read_bytes() for p in (target / "new").iterdir()) == sorted(MESSAGES)

    # A copy lost after its name was recorded is fetched again under the same name.
    lost = sorted((target / "new").iterdir())[1]
    lost.unlink()
    old_mail.add("alice", b"Subject: four\n\nlate arrival\n", folder="new")
    second = pull(url, "--cafile", str(pki.ca), "--maildir", str(target))
    assert second.returncode == 0, second.stderr.decode()
    assert "4 messages on the server, 2 copied" in second.stdout.decode()
    assert "2 already copied" in second.stdout.decode()
    assert lost.exists()

    after = uidls(old.pop3s_port, pki)
    assert after[:3] == before and len(after) == 4  # nothing deleted on the old server
    old.stop()
    server.start()
    assert uidls(server.pop3s_port, pki) == after

    third = pull(url.replace(str(old.pop3s_port), str(server.pop3s_port)), "--cafile",
                 str(pki.ca), "--maildir", str(tmp_path / "unused"), password="wrong")
    assert third.returncode == 77, third.stderr.decode()


def test_pull_needs_a_destination_and_a_password(tmp_path):
    out = pull("pop3s://alice@localhost:1", "--maildir", str(tmp_path / "m"), password="")
    assert out.returncode == 64
    assert "MAILPORT_PASSWORD" in out.stderr.decode()
    both = pull("pop3s://alice@localhost:1", "--maildir", "x", "--mail", "y")
    assert both.returncode == 64
    assert "one of --mail TEMPLATE or --maildir DIR" in both.stderr.decode()


def test_report_port110_lists_plain_and_stls_logins(server, pki, tmp_path):
    server.args += ["--plaintext-auth", "always"]
    fill(server)
    server.start()
    plain = poplib.POP3("127.0.0.1", server.pop3_port, timeout=10)
    plain.user("alice")
    plain.pass_("alicepw")
    plain.quit()
    stls = poplib.POP3("127.0.0.1", server.pop3_port, timeout=10)
    stls.stls(context=pki.client_context())
    stls.user("bob")
    stls.pass_("bobpw")
    stls.quit()
    uidls(server.pop3s_port, pki)
    assert server.wait_log(r'event=login result=ok user="alice" .*listener=pop3 tls=none')
    assert server.wait_log(r'event=login result=ok user="alice" .*listener=pop3s')
    assert server.wait_log(r'event=login result=ok user="bob" .*listener=pop3 tls=TLS')
    log = tmp_path / "mailport.log"
    log.write_text(server.log())
    out = mailport("report", "port110", "--log", str(log))
    assert out.returncode == 0, out.stderr.decode()
    rows = {line.split()[0]: line.split() for line in out.stdout.decode().splitlines()[1:-1]}
    assert rows["alice"][1:4] == ["1", "0", "1"] and rows["alice"][-1] == "(plain)"
    assert rows["bob"][1:4] == ["0", "1", "0"] and rows["bob"][-1] == "(stls)"
    assert "2 users logged in over port 110 in 3 logins" in out.stdout.decode()
    later = mailport("report", "port110", "--log", str(log), "--since", "2999-01-01")
    assert "0 users logged in over port 110 in 0 logins" in later.stdout.decode()
    missing = mailport("report", "port110", "--log", str(tmp_path / "nope.log"))
    assert missing.returncode == 74
    assert "nope.log" in missing.stderr.decode()


def test_plaintext_refusal_on_110_carries_the_hint(make_server):
    server = make_server()
    server.start()
    raw = server.raw()
    raw.line()
    assert raw.cmd("USER alice") == (
        b"-ERR [AUTH] Plaintext authentication disallowed on non-secure connections; use STLS "
        b"first. Set your mail program to port 995 with SSL/TLS.")
    raw.close()


def test_plaintext_refusal_hint_is_configurable(make_server, tmp_path):
    config = tmp_path / "hint.toml"
    config.write_text('[session]\nplaintext_refusal_hint = "Port 110 closes on 1 March: use 995."\n')
    server = make_server(args=["--config", str(config)])
    server.start()
    raw = server.raw()
    raw.line()
    assert raw.cmd("USER alice").endswith(b"use STLS first. Port 110 closes on 1 March: use 995.")
    raw.close()


def churn_alarms(server):
    with urllib.request.urlopen(f"http://127.0.0.1:{server.ports['metrics']}/metrics",
                                timeout=5) as response:
        text = response.read().decode()
    values = [line.split()[1] for line in text.splitlines()
              if line.startswith("mailport_uidl_churn_alarms_total ")]
    assert len(values) == 1, text
    return float(values[0])


def test_uidl_churn_alarm_when_names_change_behind_the_servers_back(make_server, pki):
    server = make_server(args=["--metrics", "127.0.0.1:0"])
    for i in range(24):
        server.mail.add("alice", f"Subject: {i}\n\nbody {i}\n".encode())
    server.start()
    first = uidls(server.pop3s_port, pki)
    assert len(first) == 24
    assert churn_alarms(server) == 0
    maildir = server.mail.maildir("alice")
    for path in list((maildir / "cur").iterdir())[:20]:
        path.rename(path.with_name("renamed-" + path.name))
    assert len(uidls(server.pop3s_port, pki)) == 24
    assert server.wait_log(r'event=uidl_churn user="alice" seen=24 missing=20 ')
    assert churn_alarms(server) == 1
    # Deleting through POP3 is not churn.
    delete_first(server, pki, 20)
    assert len(uidls(server.pop3s_port, pki)) == 4
    assert server.log().count("event=uidl_churn") == 1
    assert churn_alarms(server) == 1


def delete_first(server, pki, count):
    """alice DELEs messages 1..count over POP3S and QUITs."""
    client = poplib.POP3_SSL("127.0.0.1", server.pop3s_port, context=pki.client_context(),
                             timeout=10)
    client.user("alice")
    client.pass_("alicepw")
    for number in range(1, count + 1):
        client.dele(number)
    client.quit()


def churn_spool(headers):
    return b"".join(f"From x@example.org Thu Nov 26 10:00:{i:02} 2026\nSubject: {i}\n"
                    f"{headers(i)}\nbody {i}\n\n".encode() for i in range(24))


def test_uidl_churn_alarm_when_an_mbox_spool_is_rewritten_behind_the_servers_back(
        make_server, pki, tmp_path):
    spool_dir = tmp_path / "spool"
    spool_dir.mkdir()
    spool = spool_dir / "alice"
    spool.write_bytes(churn_spool(lambda i: ""))
    server = make_server(args=["--mail", f"mbox:{spool_dir}/%u", "--metrics", "127.0.0.1:0"])
    server.start()
    first = uidls(server.pop3s_port, pki)
    assert len(first) == 24
    assert (spool_dir / ".alice.mailport-seen-uidls").stat().st_size == 8 + 24 * 8
    assert churn_alarms(server) == 0
    # A tool that added a header to 20 messages: their digests, so their UIDLs, change.
    spool.write_bytes(churn_spool(lambda i: "X-Converted: yes\n" if i < 20 else ""))
    second = uidls(server.pop3s_port, pki)
    assert len(second) == 24 and len(set(first) & set(second)) == 4
    assert server.wait_log(r'event=uidl_churn user="alice" seen=24 missing=20 mbox="' +
                           re.escape(str(spool)) + '"'), server.log()
    assert churn_alarms(server) == 1
    # Deleting through POP3 is not churn.
    delete_first(server, pki, 20)
    assert uidls(server.pop3s_port, pki) == second[20:]
    assert server.log().count("event=uidl_churn") == 1
    assert churn_alarms(server) == 1


def test_pull_resumes_after_a_dropped_connection_without_duplicates(tmp_path, pki):
    from client_util import FakePop3, modern_tls_context
    messages = [b"Subject: 1\n\none\n", b"Subject: 2\n\ntwo\n", b"Subject: 3\n\nthree\n"]
    with FakePop3(messages, tls=modern_tls_context(pki.cert, pki.key), hangup_in_retr=2) as fake:
        url = f"pop3s://alice@localhost:{fake.port}"
        target = tmp_path / "Maildir"
        first = pull(url, "--cafile", str(pki.ca), "--maildir", str(target))
        assert first.returncode == 75, first.stderr.decode()
        assert len(list((target / "new").iterdir())) == 1
        second = pull(url, "--cafile", str(pki.ca), "--maildir", str(target))
        assert second.returncode == 0, second.stderr.decode()
        assert "3 messages on the server, 2 copied" in second.stdout.decode()
        assert "1 already copied" in second.stdout.decode()
        assert "DELE" not in fake.commands
    stored = sorted(p.read_bytes() for p in (target / "new").iterdir())
    assert stored == sorted(messages)
    lines = (target / "mailport-uidlmap").read_text().splitlines()
    assert lines[0] == "mailport-uidlmap 1"
    assert sorted(line.split()[1] for line in lines[1:]) == ["uid-1", "uid-2", "uid-3"]


# An mbox spool as an MTA writes it. popa3d's UIDL of a message is a digest of one header: its
# X-Delivery-ID, else its first Received, else Date and Message-ID; so each differs here.
POPA3D_SPOOL = (
    b"From a@example.org Thu Nov 26 10:00:00 2026\n"
    b"Received: from a.example.org by mx.example.org; Thu, 26 Nov 2026 10:00:00 +0000\n"
    b"From: a@example.org\nSubject: one\n\nfirst body\n>From here on, quoted\n\n"
    b"From b@example.org Thu Nov 26 10:01:00 2026\n"
    b"Received: from b.example.org by mx.example.org; Thu, 26 Nov 2026 10:01:00 +0000\n"
    b"From: b@example.org\nSubject: two\n\nsecond body\n\n"
    b"From c@example.org Thu Nov 26 10:02:00 2026\n"
    b"Date: Thu, 26 Nov 2026 10:02:00 +0000\nMessage-ID: <3@example.org>\n"
    b"From: c@example.org\nSubject: three\n\nthird body\n\n")
LATE_MESSAGE = (b"From d@example.org Thu Nov 26 11:00:00 2026\n"
                b"Received: from d.example.org by mx.example.org; Thu, 26 Nov 2026 11:00:00\n"
                b"Subject: after the import\n\nnew\n\n")


@pytest.fixture
def popa3d_server(tmp_path):
    server = None
    try:
        server = popa3d_support.Popa3dServer(tmp_path / "popa3d", users={"alice": "alicepw"})
        server.start()
    except popa3d_support.Unavailable as e:
        pytest.skip(str(e))
    yield server
    server.stop()


def plain_uidls(port, user="alice", password="alicepw"):
    client = poplib.POP3("127.0.0.1", port, timeout=10)
    try:
        client.user(user)
        client.pass_(password)
        _, lines, _ = client.uidl()
        return [line.decode().split()[1] for line in lines]
    finally:
        client.quit()


def import_pop3(port, *args, password="alicepw"):
    env = dict(os.environ, MAILPORT_PASSWORD=password)
    return subprocess.run([BIN, "migrate", "import", "--from", "pop3",
                           f"pop3://alice@127.0.0.1:{port}", "--insecure-plaintext", *args],
                          capture_output=True, timeout=60, env=env)


def test_popa3d_mbox_uidls_survive_the_switch_and_fetchmail_downloads_nothing(
        make_server, popa3d_server, pki, tmp_path):
    old = popa3d_server
    old.write_spool("alice", POPA3D_SPOOL)
    spool = old.spool("alice")
    fetchmail = Fetchmail(tmp_path, pki)
    code, log = fetchmail.run(old.port, tls=False)
    assert code == 0, log + old.log_text()
    assert "POP3> RETR" in log or "POP3> TOP" in log
    before = plain_uidls(old.port)
    assert len(before) == 3 and len(set(before)) == 3
    assert all(len(u) == 16 for u in before), before

    dry = import_pop3(old.port, "--mbox", str(spool), "--dry-run")
    assert dry.returncode == 0, dry.stderr.decode()
    out = dry.stdout.decode()
    assert "alice: 3 messages, 3 UIDLs to import, 0 without an old UIDL, 0 collisions" in out
    assert [line.split()[1] for line in out.splitlines()[1:]] == before
    map_file = spool.parent / ".alice.mailport-uidlmap"
    assert not map_file.exists()

    done = import_pop3(old.port, "--mail", f"mbox:{spool.parent}/%u")
    assert done.returncode == 0, done.stderr.decode()
    assert "alice: 3 messages, 3 UIDLs imported, 0 without an old UIDL, 0 collisions" in \
        done.stdout.decode()
    assert sorted(line.split()[1] for line in map_file.read_text().splitlines()[1:]) == \
        sorted(before)
    again = import_pop3(old.port, "--mbox", str(spool))
    assert "0 UIDLs imported" in again.stdout.decode(), again.stderr.decode()
    old.stop()
    assert spool.read_bytes() == POPA3D_SPOOL  # popa3d and the import deleted nothing

    # Mail that arrives during the switch has no old UIDL: the only message to download.
    with open(spool, "ab") as f:
        f.write(LATE_MESSAGE)
    server = make_server(args=["--mail", f"mbox:{spool.parent}/%u"])
    server.start()
    after = uidls(server.pop3s_port, pki)
    assert after[:3] == before
    assert after[3] not in before
    code, log = fetchmail.run(server.pop3s_port)
    assert code == 0, log
    assert "4 messages (3 seen)" in log, log
    assert log.count("POP3> RETR") + log.count("POP3> TOP") == 1, log  # the late message only
    assert "reading message alice@localhost:4 of 4" in log
    assert "event=uidl-collision" not in server.log()


def test_pop3_import_refuses_a_spool_that_changed_and_bad_usage(popa3d_server, tmp_path):
    old = popa3d_server
    old.write_spool("alice", POPA3D_SPOOL)
    other = tmp_path / "elsewhere" / "alice"
    other.parent.mkdir()
    other.write_bytes(POPA3D_SPOOL.replace(b"second body\n", b"second body, edited\n"))
    out = import_pop3(old.port, "--mbox", str(other))
    assert out.returncode == 75, out.stderr.decode()
    err = out.stderr.decode()
    assert "message 2 is " in err and "the old server said" in err and "run the import again" in err
    assert not (other.parent / ".alice.mailport-uidlmap").exists()

    wrong = import_pop3(old.port, "--mbox", str(other), password="wrong")
    assert wrong.returncode == 77, wrong.stderr.decode()
    usage = import_pop3(old.port, "--mail", str(tmp_path / "%u" / "Maildir"))
    assert usage.returncode == 64
    assert "--from pop3 imports into mbox spools" in usage.stderr.decode()
    both = import_pop3(old.port)
    assert both.returncode == 64 and "--mbox FILE or --mail TEMPLATE" in both.stderr.decode()
    # popa3d offers no STLS: without --insecure-plaintext the password stays home.
    env = dict(os.environ, MAILPORT_PASSWORD="alicepw")
    plain = subprocess.run([BIN, "migrate", "import", "--from", "pop3",
                            f"pop3://alice@127.0.0.1:{old.port}", "--mbox", str(other)],
                           capture_output=True, timeout=60, env=env)
    assert plain.returncode == 69 and "offers no STLS" in plain.stderr.decode()
