"""`mailport fetch`: downloads against mailport, Dovecot and a fake server; every destination
and deletion policy; and runs killed with SIGKILL at random points, after which no message is
lost, none is stored twice and nothing is left on the server that should have been deleted."""

import fcntl
import os
import pty
import random
import re
import select
import signal
import subprocess
import time

import pytest

from client_util import (BIN, FakePop3, fetch, local_form, maildir_contents, maildir_files,
                         make_messages, mailport)
from support import dovecot


def url(server, user="alice", tls=True):
    return (f"pop3s://{user}@localhost:{server.pop3s_port}" if tls
            else f"pop3://{user}@localhost:{server.pop3_port}")


def common(tmp_path, pki, *extra):
    return ["--cafile", str(pki.ca), "--state-dir", str(tmp_path / "state"), *extra]


def fill(server, messages, user="alice"):
    for m in messages:
        server.mail.add(user, m)


def quote_from(message: bytes) -> bytes:
    return re.sub(rb"(?m)^(>*From )", rb">\1", message)


def mbox_entries(path):
    """Each entry of an mbox file without its From_ line: the quoted message and the blank line
    that ends it. Every 'From ' line inside a message is quoted, so splitting is exact."""
    text = path.read_bytes()
    assert text.startswith(b"From ")
    return re.split(rb"(?m)^From [^\n]*\n", text)[1:]


def test_pop3s_to_maildir_deletes_after_storing(server, pki, tmp_path):
    messages = make_messages(7)
    fill(server, messages)
    server.start()
    out = fetch(url(server), "--to", str(tmp_path / "Maildir"), *common(tmp_path, pki))
    assert out.returncode == 0, out.stderr
    assert maildir_contents(tmp_path / "Maildir") == sorted(local_form(m) for m in messages)
    assert server.mail.files("alice") == []
    summary = out.stdout.decode()
    assert re.search(r"alice@localhost:\d+: 7 fetched \(.*\), 7 deleted on the server, 0 left",
                     summary), summary
    # Not a terminal: plain log lines, one per message.
    log = out.stderr.decode()
    assert "stored message 7/7" in log and "7 new" in log
    for path in maildir_files(tmp_path / "Maildir"):
        assert path.parent.name == "new" and oct(path.stat().st_mode & 0o777) == "0o600"
        assert re.fullmatch(r"\d+\.M\d+P\d+Q\d+\..+,S=\d+", path.name), path.name


def test_stls_upgrade_and_second_run_fetches_only_new_mail(server, pki, tmp_path):
    first = make_messages(3, "first")
    fill(server, first)
    server.start()
    args = [url(server, tls=False), "--to", str(tmp_path / "md"), "--keep",
            *common(tmp_path, pki)]
    out = fetch(*args)
    assert out.returncode == 0, out.stderr
    assert b"3 fetched" in out.stdout and b"0 deleted on the server, 3 left there" in out.stdout
    assert len(server.mail.files("alice")) == 3
    again = fetch(*args)
    assert again.returncode == 0
    assert b"0 fetched" in again.stdout and b"3 left there" in again.stdout
    later = make_messages(2, "later")
    fill(server, later)
    third = fetch(*args)
    assert b"2 fetched" in third.stdout and b"5 left there" in third.stdout
    assert maildir_contents(tmp_path / "md") == sorted(local_form(m) for m in first + later)
    # Dropping --keep deletes what is already stored locally, without fetching it again.
    final = fetch(*args[:3], *common(tmp_path, pki))
    assert final.returncode == 0
    assert b"0 fetched" in final.stdout and b"5 deleted on the server" in final.stdout
    assert server.mail.files("alice") == []
    assert len(maildir_files(tmp_path / "md")) == 5


def test_wrong_password_is_exit_77_and_deletes_nothing(server, pki, tmp_path):
    fill(server, make_messages(2))
    server.start()
    out = fetch(url(server), "--to", str(tmp_path / "md"), *common(tmp_path, pki),
                password="wrong")
    assert out.returncode == 77, out.stdout
    assert b"FAILED" in out.stdout and b"[AUTH]" in out.stdout
    assert len(server.mail.files("alice")) == 2


def test_untrusted_certificate_is_refused_before_the_password_is_sent(server, tmp_path):
    fill(server, make_messages(1))
    server.start()
    out = fetch(url(server), "--to", str(tmp_path / "md"), "--state-dir",
                str(tmp_path / "state"))
    assert out.returncode == 69, out.stdout
    assert b"certificate of localhost rejected" in out.stdout
    assert b"--cafile" in out.stdout
    assert len(server.mail.files("alice")) == 1


def test_certificate_name_must_match(make_server, pki, tmp_path):
    cert, key = pki.issue("elsewhere", hosts=("mail.example.org",), ips=())
    server = make_server(args=["--cert", str(cert), "--key", str(key)])
    server.start()
    out = fetch(url(server), "--to", str(tmp_path / "md"), *common(tmp_path, pki))
    assert out.returncode == 69
    assert b"rejected" in out.stdout


@pytest.mark.parametrize("method", ["scram-sha-256", "plain", "user"])
def test_forced_login_method(server, pki, tmp_path, method):
    fill(server, make_messages(1))
    server.start()
    out = fetch(url(server), "--to", str(tmp_path / "md"), "--auth", method,
                *common(tmp_path, pki))
    assert out.returncode == 0, out.stdout
    assert f"logged in ({method})".encode() in out.stderr


def test_password_file_and_permissions_warning(server, pki, tmp_path):
    fill(server, make_messages(1))
    server.start()
    secret = tmp_path / "pw"
    secret.write_text("alicepw\n")
    secret.chmod(0o644)
    out = fetch(url(server), "--to", str(tmp_path / "md"), "--password-file", str(secret),
                *common(tmp_path, pki), password=None)
    assert out.returncode == 0, out.stdout
    assert b"readable by other users" in out.stderr


def test_no_password_source_without_a_terminal_is_a_usage_error(server, pki, tmp_path):
    server.start()
    proc = subprocess.run([BIN, "fetch", url(server), "--to", str(tmp_path / "md"),
                           *common(tmp_path, pki)],
                          capture_output=True, timeout=60, start_new_session=True,
                          stdin=subprocess.DEVNULL,
                          env={k: v for k, v in os.environ.items() if k != "MAILPORT_PASSWORD"})
    assert proc.returncode == 64
    assert b"--password-file" in proc.stderr


def test_password_is_never_taken_from_the_url(tmp_path):
    out = fetch("pop3s://alice:alicepw@localhost:1", "--to", str(tmp_path / "md"))
    assert out.returncode == 64
    assert b"does not belong in the URL" in out.stderr


def test_password_prompt_on_a_terminal(server, pki, tmp_path):
    fill(server, make_messages(2))
    server.start()
    env = {k: v for k, v in os.environ.items() if k != "MAILPORT_PASSWORD"}
    pid, fd = pty.fork()
    if pid == 0:
        os.execve(BIN, [BIN, "fetch", url(server), "--to", str(tmp_path / "md"),
                        *common(tmp_path, pki)], env)
    seen = b""
    deadline = time.monotonic() + 30
    answered = False
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.2)
        if ready:
            try:
                chunk = os.read(fd, 4096)
            except OSError:
                break
            if not chunk:
                break
            seen += chunk
        if not answered and b"Password: " in seen:
            os.write(fd, b"alicepw\n")
            answered = True
        finished, status = os.waitpid(pid, os.WNOHANG)
        if finished:
            break
    else:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        pytest.fail(f"fetch did not finish: {seen!r}")
    if not finished:
        _, status = os.waitpid(pid, 0)
    os.close(fd)
    assert os.waitstatus_to_exitcode(status) == 0, seen
    assert b"Password for alice@localhost" in seen
    assert b"alicepw" not in seen  # no echo
    # On a terminal the progress bar replaces the log lines.
    assert re.search(rb"\[#+\]", seen) and b"done" in seen
    assert b"stored message" not in seen
    assert len(maildir_files(tmp_path / "md")) == 2


def test_mbox_delivery_quotes_from_lines(server, pki, tmp_path):
    messages = make_messages(5)
    fill(server, messages)
    server.start()
    box = tmp_path / "mail" / "inbox"
    out = fetch(url(server), "--mbox", str(box), *common(tmp_path, pki))
    assert out.returncode == 0, out.stdout
    entries = mbox_entries(box)
    assert sorted(entries) == sorted(quote_from(local_form(m)) + b"\n" for m in messages)
    assert b"\n>From the start of a line\n>>From quoted\n" in box.read_bytes()
    assert oct(box.stat().st_mode & 0o777) == "0o600"


def test_mbox_waits_for_another_programs_lock(server, pki, tmp_path):
    fill(server, make_messages(1))
    server.start()
    box = tmp_path / "inbox"
    box.write_bytes(b"")
    holder = open(box, "r+b")
    fcntl.lockf(holder, fcntl.LOCK_EX)
    proc = subprocess.Popen([BIN, "fetch", url(server), "--mbox", str(box),
                             *common(tmp_path, pki)], env=dict(os.environ,
                                                               MAILPORT_PASSWORD="alicepw"),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    time.sleep(1.0)
    assert proc.poll() is None  # waiting for the lock
    assert box.read_bytes() == b""
    fcntl.lockf(holder, fcntl.LOCK_UN)
    holder.close()
    assert proc.wait(timeout=60) == 0
    assert box.read_bytes().startswith(b"From ")


def test_mda_delivery_and_failure(server, pki, tmp_path):
    messages = make_messages(3)
    fill(server, messages)
    server.start()
    out_dir = tmp_path / "mda"
    out_dir.mkdir()
    # The MDA fails for the second message it sees; that message must stay on the server.
    script = tmp_path / "mda.sh"
    script.write_text(f"""#!/bin/sh
n=$(ls {out_dir} | wc -l)
if [ "$n" = 1 ] && [ ! -e {tmp_path}/failed-once ]; then
  touch {tmp_path}/failed-once; cat >/dev/null; exit 75
fi
cat > {out_dir}/"$MAILPORT_UIDL"
""")
    script.chmod(0o755)
    out = fetch(url(server), "--mda", str(script), *common(tmp_path, pki))
    assert out.returncode == 75, out.stdout
    assert b"exited with status 75" in out.stdout
    assert b"1 fetched" in out.stdout and b"1 deleted on the server, 2 left there" in out.stdout
    assert len(os.listdir(out_dir)) == 1
    assert len(server.mail.files("alice")) == 2  # the first one, safely delivered, is gone
    again = fetch(url(server), "--mda", str(script), *common(tmp_path, pki))
    assert again.returncode == 0, again.stdout
    assert sorted(p.read_bytes() for p in out_dir.iterdir()) == sorted(
        local_form(m) for m in messages)
    assert server.mail.files("alice") == []


def test_delete_after_days_uses_the_first_fetch_time(server, pki, tmp_path):
    fill(server, make_messages(3))
    server.start()
    args = [url(server), "--to", str(tmp_path / "md"), "--delete-after-days", "3",
            *common(tmp_path, pki)]
    out = fetch(*args)
    assert out.returncode == 0 and b"3 fetched" in out.stdout and b"3 left there" in out.stdout
    state_files = list((tmp_path / "state").glob("*.state"))
    assert len(state_files) == 1
    text = state_files[0].read_text()
    assert text.startswith("mailport-fetch-state 1\n") and text.count("\nfetched ") == 3
    # Four days pass (rewritten by hand: the file format is documented text).
    aged = re.sub(r"^fetched (\S+) (\d+)$", lambda m: f"fetched {m[1]} {int(m[2]) - 4 * 86400}",
                  text, flags=re.M)
    state_files[0].write_text(aged)
    again = fetch(*args)
    assert again.returncode == 0
    assert b"0 fetched" in again.stdout and b"3 deleted on the server" in again.stdout
    assert server.mail.files("alice") == []
    assert len(maildir_files(tmp_path / "md")) == 3


def test_keep_and_delete_after_days_exclude_each_other(tmp_path):
    out = fetch("pop3s://a@localhost:1", "--to", str(tmp_path), "--keep",
                "--delete-after-days", "2")
    assert out.returncode != 0 and b"excludes" in out.stderr.lower()


def test_login_delay_is_honoured(make_server, pki, tmp_path):
    config = tmp_path / "delay.toml"
    config.write_text('[mail]\nlogin_delay = "300s"\nexpire = 0\n')
    server = make_server(args=["--config", str(config)])
    fill(server, make_messages(1))
    server.start()
    args = [url(server), "--to", str(tmp_path / "md"), "--keep", *common(tmp_path, pki)]
    out = fetch(*args)
    assert out.returncode == 0, out.stdout
    # EXPIRE 0: the server deletes what was retrieved, whatever --keep says; fetch warns.
    assert b"EXPIRE 0" in out.stderr
    again = fetch(*args)
    assert again.returncode == 0
    assert b"skipped" in again.stdout and b"LOGIN-DELAY" in again.stdout


def test_no_stls_requires_insecure_plaintext(tmp_path):
    messages = make_messages(2)
    with FakePop3(messages) as fake:
        target = f"pop3://alice@127.0.0.1:{fake.port}"
        refused = fetch(target, "--to", str(tmp_path / "md"), "--state-dir",
                        str(tmp_path / "state"))
        assert refused.returncode == 69
        assert b"offers no STLS" in refused.stdout
        assert "USER" not in fake.commands and "PASS" not in fake.commands
        allowed = fetch(target, "--to", str(tmp_path / "md"), "--state-dir",
                        str(tmp_path / "state"), "--insecure-plaintext")
        assert allowed.returncode == 0, allowed.stdout
        assert b"without encryption" in allowed.stderr
        assert fake.remaining() == []
    assert maildir_contents(tmp_path / "md") == sorted(local_form(m) for m in messages)


def test_connection_dropped_mid_message_loses_nothing(tmp_path):
    messages = make_messages(4)
    with FakePop3(messages, hangup_in_retr=3) as fake:
        args = [f"pop3://alice@127.0.0.1:{fake.port}", "--to", str(tmp_path / "md"),
                "--state-dir", str(tmp_path / "state"), "--insecure-plaintext"]
        dropped = fetch(*args)
        assert dropped.returncode == 75, dropped.stdout
        assert b"closed the connection" in dropped.stdout
        # Two messages were stored, but without QUIT the server deleted nothing.
        assert len(maildir_files(tmp_path / "md")) == 2
        assert len(fake.remaining()) == 4
        resumed = fetch(*args)
        assert resumed.returncode == 0, resumed.stdout
        assert b"2 fetched" in resumed.stdout and b"4 deleted on the server" in resumed.stdout
        assert fake.remaining() == []
    assert maildir_contents(tmp_path / "md") == sorted(local_form(m) for m in messages)


def test_server_without_uidl_is_refused(tmp_path):
    with FakePop3(make_messages(1), uidl=False) as fake:
        out = fetch(f"pop3://alice@127.0.0.1:{fake.port}", "--to", str(tmp_path / "md"),
                    "--state-dir", str(tmp_path / "state"), "--insecure-plaintext")
        assert out.returncode == 69
        assert b"does not support UIDL" in out.stdout
        assert "RETR" not in fake.commands and len(fake.remaining()) == 1


def test_second_fetch_of_the_same_account_waits_its_turn(server, pki, tmp_path):
    fill(server, make_messages(1))
    server.start()
    args = [url(server), "--to", str(tmp_path / "md"), *common(tmp_path, pki)]
    assert fetch(*args, "--keep").returncode == 0
    journal = next((tmp_path / "state").glob("*.journal"))
    with open(journal, "rb") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        out = fetch(*args)
    assert out.returncode == 75
    assert b"another mailport fetch is working on this account" in out.stdout


def test_config_with_several_accounts_fetched_concurrently(make_server, pki, tmp_path):
    server = make_server(users={"alice": "alicepw", "bob": "bobpw", "carol": "carolpw"})
    mail = {u: make_messages(4, u) for u in ("alice", "bob", "carol")}
    for user, messages in mail.items():
        fill(server, messages, user)
    server.start()
    for user in mail:
        (tmp_path / f"{user}.pw").write_text(f"{user}pw\n")
        (tmp_path / f"{user}.pw").chmod(0o600)
    config = tmp_path / "fetch.toml"
    config.write_text(f"""
state_dir = "state"
cafile = "{pki.ca}"
jobs = 3

[[account]]
url = "pop3s://alice@localhost:{server.pop3s_port}"
password_file = "alice.pw"
to = "alice-md"

[[account]]
url = "pop3://bob@localhost:{server.pop3_port}"
password_file = "bob.pw"
mbox = "bob.mbox"
keep = true

[[account]]
url = "pop3s://carol@localhost:{server.pop3s_port}"
password_file = "carol.pw"
to = "carol-md"
auth = "user"
""")
    out = fetch("--config", str(config), password=None)
    assert out.returncode == 0, out.stdout + out.stderr
    lines = out.stdout.decode().splitlines()
    assert len(lines) == 3 and all("4 fetched" in line for line in lines)
    assert maildir_contents(tmp_path / "alice-md") == sorted(local_form(m) for m in mail["alice"])
    assert maildir_contents(tmp_path / "carol-md") == sorted(local_form(m) for m in mail["carol"])
    assert sorted(mbox_entries(tmp_path / "bob.mbox")) == sorted(
        quote_from(local_form(m)) + b"\n" for m in mail["bob"])
    assert server.mail.files("alice") == [] and server.mail.files("carol") == []
    assert len(server.mail.files("bob")) == 4
    assert len(list((tmp_path / "state").glob("*.state"))) == 3


def test_unwritable_state_directory_is_exit_74(server, pki, tmp_path):
    server.start()
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")
    out = fetch(url(server), "--to", str(tmp_path / "md"), "--cafile", str(pki.ca),
                "--state-dir", str(blocker / "state"))
    assert out.returncode == 74, out.stdout


def test_config_errors_name_the_line(tmp_path):
    config = tmp_path / "bad.toml"
    config.write_text('[[account]]\nurl = "pop3s://a@h"\nto = "x"\nkep = true\n')
    out = fetch("--config", str(config))
    assert out.returncode == 78
    assert f"{config}:4: kep: unknown key".encode() in out.stderr
    mixed = fetch("--config", str(config), "--keep")
    assert mixed.returncode == 64


def run_killed(cmd, env, delay):
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(delay)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    return proc.returncode


def crash_loop(server, cmd, env, iterations, per_iteration, seed):
    """Adds messages, starts fetch, kills it at a random moment; returns every message added.
    The kill window is calibrated on an uninterrupted run, so kills land before, during and
    after the transfers."""
    rng = random.Random(seed)
    added = []
    calibration = make_messages(per_iteration, "calibrate")
    fill(server, calibration)
    added += calibration
    start = time.monotonic()
    assert subprocess.run(cmd, env=env, capture_output=True, timeout=60).returncode == 0
    window = (time.monotonic() - start) * 1.3
    killed = 0
    for i in range(iterations):
        batch = make_messages(per_iteration, f"round{i}")
        fill(server, batch)
        added += batch
        if run_killed(cmd, env, rng.uniform(0, window)) == -signal.SIGKILL:
            killed += 1
    assert killed >= iterations // 2, f"only {killed} runs were killed; window {window:.3f}s"
    final = subprocess.run(cmd, env=env, capture_output=True, timeout=120)
    assert final.returncode == 0, final.stdout + final.stderr
    return added


@pytest.mark.parametrize("seed", [8, 1939])
def test_sigkill_at_random_points_maildir_delete_mode(server, pki, tmp_path, seed):
    server.start()
    md = tmp_path / "Maildir"
    cmd = [BIN, "fetch", url(server), "--to", str(md), *common(tmp_path, pki)]
    env = dict(os.environ, MAILPORT_PASSWORD="alicepw")
    added = crash_loop(server, cmd, env, iterations=30, per_iteration=6, seed=seed)
    # Every message exactly once, nothing left on the server, nothing half-written.
    assert maildir_contents(md) == sorted(local_form(m) for m in added)
    assert server.mail.files("alice") == []
    assert list((md / "tmp").iterdir()) == []


def test_sigkill_at_random_points_mbox_keep_mode(server, pki, tmp_path):
    server.start()
    box = tmp_path / "inbox"
    cmd = [BIN, "fetch", url(server), "--mbox", str(box), "--keep", *common(tmp_path, pki)]
    env = dict(os.environ, MAILPORT_PASSWORD="alicepw")
    added = crash_loop(server, cmd, env, iterations=25, per_iteration=5, seed=110995)
    assert sorted(mbox_entries(box)) == sorted(quote_from(local_form(m)) + b"\n" for m in added)
    assert len(server.mail.files("alice")) == len(added)


@pytest.fixture
def dovecot_with_mail(tmp_path, pki):
    if not dovecot.available():
        pytest.skip("dovecot is not installed (./dev.sh installs dovecot-pop3d)")
    servers = []

    def start(messages, **kwargs):
        d = dovecot.DovecotServer(tmp_path / f"dovecot{len(servers)}",
                                  users={"alice": "{PLAIN}alicepw"}, cert=pki.cert, key=pki.key,
                                  **kwargs)
        servers.append(d)
        md = d.maildir("alice")
        for sub in ("cur", "new", "tmp"):
            (md / sub).mkdir(parents=True, exist_ok=True)
        for i, m in enumerate(messages):
            (md / "new" / f"{1700000000 + i}.M{i}P1.fixture").write_bytes(m)
        return d.start()

    yield start
    for d in servers:
        d.stop()


def dovecot_messages(d):
    md = d.maildir("alice")
    return [p for sub in ("cur", "new") for p in (md / sub).iterdir()]


def test_dovecot_keep_then_delete(dovecot_with_mail, pki, tmp_path):
    messages = make_messages(6)
    d = dovecot_with_mail(messages)
    target = f"pop3s://alice@localhost:{d.pop3s_port}"
    args = ["--to", str(tmp_path / "md"), *common(tmp_path, pki)]
    out = fetch(target, *args, "--keep")
    assert out.returncode == 0, out.stdout + out.stderr
    assert b"6 fetched" in out.stdout and len(dovecot_messages(d)) == 6
    again = fetch(target, *args)
    assert again.returncode == 0, again.stdout
    assert b"0 fetched" in again.stdout and b"6 deleted on the server" in again.stdout
    assert dovecot_messages(d) == []
    assert maildir_contents(tmp_path / "md") == sorted(local_form(m) for m in messages)


def test_dovecot_stls_delete_mode(dovecot_with_mail, pki, tmp_path):
    messages = make_messages(5)
    d = dovecot_with_mail(messages)
    out = fetch(f"pop3://alice@localhost:{d.pop3_port}", "--to", str(tmp_path / "md"),
                *common(tmp_path, pki))
    assert out.returncode == 0, out.stdout + out.stderr
    assert b"5 fetched" in out.stdout and b"5 deleted on the server" in out.stdout
    assert dovecot_messages(d) == []
    assert maildir_contents(tmp_path / "md") == sorted(local_form(m) for m in messages)


def test_dovecot_scram_sha_256(dovecot_with_mail, pki, tmp_path):
    messages = make_messages(2)
    d = dovecot_with_mail(messages, extra_config="auth_mechanisms = plain login scram-sha-256\n")
    target = f"pop3s://alice@localhost:{d.pop3s_port}"
    out = fetch(target, "--to", str(tmp_path / "md"), "--auth", "scram-sha-256",
                *common(tmp_path, pki))
    assert out.returncode == 0, out.stdout + out.stderr
    assert b"logged in (scram-sha-256)" in out.stderr
    assert maildir_contents(tmp_path / "md") == sorted(local_form(m) for m in messages)
    wrong = fetch(target, "--to", str(tmp_path / "md2"), "--auth", "scram-sha-256",
                  *common(tmp_path, pki), password="nope")
    assert wrong.returncode == 77
