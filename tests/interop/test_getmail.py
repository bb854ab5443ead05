"""getmail6: SimplePOP3SSLRetriever into a Maildir, certificate checked against the test CA.

getmail6's POP3 retrievers cannot use STLS (only implicit TLS), so only POP3S is tested; see
docs/compatibility.md.
"""

from interop_util import (assert_logins_over, assert_messages, fill, fm, maildir_messages,
                          owned_directory, require, run, unix_mailbox)
from interop_util import rogue_pki, rogue_server  # noqa: F401  (fixtures)

# getmail always writes a Return-Path header; POP3 has no envelope sender to put in it.
RETURN_PATH = b"Return-Path: <unknown>\n"


class Getmail:
    """getmail run as root: it refuses to deliver into a Maildir as root, so the Maildir belongs
    to `nobody` and the destination switches to that user."""

    def __init__(self, tmp, ca, port):
        self.binary = require("getmail")
        self.dir = tmp / "getmail"
        self.state = self.dir / "state"
        self.state.mkdir(parents=True)
        self.maildir = owned_directory(self.dir / "Maildir")
        for sub in ("cur", "new", "tmp"):
            owned_directory(self.maildir / sub)
        self.rcfile = self.dir / "getmailrc"
        self.rcfile.write_text(f"""[retriever]
type = SimplePOP3SSLRetriever
server = localhost
port = {port}
username = alice
password = alicepw
ca_certs = {ca}

[destination]
type = Maildir
path = {self.maildir}/
user = nobody

[options]
delete = false
read_all = false
delivered_to = false
received = false
message_log_syslog = false
verbose = 1
""")

    def run(self):
        return run([self.binary, "--getmaildir", self.state, "--rcfile", self.rcfile],
                   env={"PATH": "/usr/bin:/bin", "HOME": str(self.dir)})

    def messages(self):
        return maildir_messages(self.maildir)


def test_getmail_pop3s_retrieves_once_and_keeps_the_maildrop(server, pki, tmp_path):
    messages = fm.stored()
    fill(server, messages)
    server.start()
    client = Getmail(tmp_path, pki.ca, server.pop3s_port)

    first = client.run()
    assert first.returncode == 0, first.stdout + first.stderr
    assert f"{len(messages)} messages".encode() in first.stdout
    assert_messages(client.messages(), unix_mailbox(messages, prefix=RETURN_PATH), ordered=False)

    second = client.run()
    assert second.returncode == 0, second.stdout + second.stderr
    assert b"0 messages (0 bytes) retrieved" in second.stdout
    assert len(client.messages()) == len(messages)
    assert maildir_messages(server.mail.maildir("alice")) == sorted(d for _, d in messages)
    assert_logins_over(server, "pop3s")


def test_getmail_refuses_a_certificate_from_an_unknown_ca(rogue_server, pki, tmp_path):
    client = Getmail(tmp_path, pki.ca, rogue_server.pop3s_port)
    result = client.run()
    assert result.returncode != 0
    assert b"certificate verify failed" in result.stdout + result.stderr
    assert client.messages() == []
