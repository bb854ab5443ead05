"""fetchmail over POP3S and POP3+STLS, certificate checked against the test CA (--sslcertck)."""

import pytest

from interop_util import (TRANSPORTS, assert_logins_over, assert_messages, fill, fm,
                          listener_of, maildir_messages, numbered_files, port_of, require, run,
                          save_message_command, unix_mailbox)
from interop_util import rogue_pki, rogue_server  # noqa: F401  (fixtures)


class Fetchmail:
    """fetchmail run as root: its own rc file (mode 0600), id file and pid file under tmp, no
    syslog, and every message handed to an MDA that stores it as a numbered file."""

    def __init__(self, tmp, pki, port, transport):
        self.binary = require("fetchmail")
        self.home = tmp / "fetchmail"
        self.home.mkdir()
        self.out = self.home / "out"
        self.out.mkdir()
        self.idfile = self.home / "ids"
        self.rcfile = self.home / "rc"
        self.rcfile.write_text(f'poll localhost port {port} protocol pop3 auth password\n'
                               f'  user "alice" there with password "alicepw"\n')
        self.rcfile.chmod(0o600)
        self.pki = pki
        self.transport = transport

    def run(self, *flags):
        tls = ["--ssl"] if self.transport == "pop3s" else ["--sslproto", "tls1.2+"]
        cmd = [self.binary, "--nosyslog", "--nodetach", "-f", self.rcfile, "-i", self.idfile,
               "--pidfile", self.home / "pid", "--invisible", "--norewrite",
               *tls, "--sslcertck", "--sslcertfile", self.pki.ca,
               "--mda", save_message_command(self.out), "-v", *flags]
        env = {"PATH": "/usr/bin:/bin", "HOME": str(self.home), "FETCHMAILHOME": str(self.home)}
        return run(cmd, env=env)

    def messages(self):
        return numbered_files(self.out)


def check(result, status=0):
    # fetchmail exits 1 when there was no mail: a status, not a failure.
    assert result.returncode == status, result.stdout.decode() + result.stderr.decode()


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_fetchmail_delete_mode_fetches_every_fixture_and_empties_the_maildrop(
        server, pki, tmp_path, transport):
    messages = fm.with_big()
    fill(server, messages)
    server.start()
    client = Fetchmail(tmp_path, pki, port_of(server, transport), transport)
    result = client.run()
    check(result)
    assert b"POP3> TOP 1 " in result.stdout + result.stderr  # fetchmail reads whole messages by TOP
    assert_messages(client.messages(), unix_mailbox(messages))
    assert server.mail.files("alice") == []
    assert_logins_over(server, listener_of(transport))


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_fetchmail_keep_with_uidl_fetches_nothing_new_the_second_time(
        server, pki, tmp_path, transport):
    messages = fm.stored()
    fill(server, messages)
    server.start()
    client = Fetchmail(tmp_path, pki, port_of(server, transport), transport)
    check(client.run("--keep", "--uidl"))
    assert_messages(client.messages(), unix_mailbox(messages))
    assert client.idfile.read_text().count("alice@localhost") == len(messages)

    second = client.run("--keep", "--uidl")
    check(second, status=1)
    log = (second.stdout + second.stderr).decode()
    assert f"{len(messages)} messages ({len(messages)} seen)" in log
    assert "POP3> RETR" not in log and "POP3> TOP" not in log
    assert len(client.messages()) == len(messages)
    assert maildir_messages(server.mail.maildir("alice")) == sorted(d for _, d in messages)
    assert_logins_over(server, listener_of(transport))


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_fetchmail_keep_without_uidl_uses_retr(server, pki, tmp_path, transport):
    messages = fm.stored()
    fill(server, messages)
    server.start()
    client = Fetchmail(tmp_path, pki, port_of(server, transport), transport)
    result = client.run("--keep")
    check(result)
    assert b"POP3> RETR 1" in result.stdout + result.stderr
    assert_messages(client.messages(), unix_mailbox(messages))
    assert len(server.mail.files("alice")) == len(messages)


def test_fetchmail_refuses_a_certificate_from_an_unknown_ca(rogue_server, pki, tmp_path):
    client = Fetchmail(tmp_path, pki, rogue_server.pop3s_port, "pop3s")
    result = client.run("--keep")
    assert result.returncode not in (0, 1), result.stdout + result.stderr
    assert client.messages() == []
    assert "event=login" not in rogue_server.log()
