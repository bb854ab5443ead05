"""Differential tests: the same scripted sessions against mailport and an isolated Dovecot on
copies of the same Maildir. Status, response codes, numbers and multi-line bodies must match;
every accepted difference is named in the script that shows it and explained in
docs/compatibility.md ("Differences from Dovecot").
"""

import itertools
import shutil

import pytest

from conftest import Server
from pop3_diff import (CLOSED, Session, Uids, capabilities, fm, mechanisms, raw_conversation,
                       render, run_script)
from support import dovecot

# Capabilities only one side announces (docs/compatibility.md): mailport implements RFC 6856
# (UTF8, LANG); Dovecot lists CAPA itself, which is not a registered capability.
MAILPORT_ONLY_CAPS = {"UTF8", "LANG"}
DOVECOT_ONLY_CAPS = {"CAPA"}
# The Dovecot under test offers PLAIN and LOGIN; mailport may offer SCRAM as well (RFC 5802).
MAILPORT_ONLY_MECHANISMS = {"SCRAM-SHA-1", "SCRAM-SHA-256"}

# Dovecot treats only connections whose remote address equals its local address as secure, so
# the other loopback addresses the scripts connect from are made trusted (which also makes them
# secure): plaintext logins then behave as with mailport's --plaintext-auth loopback.
DOVECOT_EXTRA_CONFIG = "auth_failure_delay = 0\nlogin_trusted_networks = 127.0.0.0/8\n"

# alice's maildrop is only read; each test that changes a maildrop has a user of its own.
MAILDROP_USERS = ("alice", "expunge", "wipe", "dropped", "locked")

# Messages whose very first line starts with ".", in a maildrop of their own.
DOT_FIRST = [("dot-only", b"."), ("dot-header", b".hidden: x\n\nbody\n")]

EMPTY_FILE = 11  # message number of the 0-octet file
BIG = 12  # message number of the 10 MB message


def maildrop():
    return fm.stored() + [("11-empty-file", b""), (fm.BIG_NAME, fm.big_message())]


class Pair:
    """mailport and Dovecot serving copies of one Maildir, both with plaintext logins allowed on
    loopback and no failed-login delay. Each script connects from its own loopback address
    (127.0.x.y), so that neither server's per-address slow-down for failed logins carries over
    from one script to the next."""

    def __init__(self, tmp, pki):
        if not dovecot.available():
            pytest.fail("Dovecot is required for the differential tests (./dev.sh installs it)")
        (tmp / "mailport").mkdir()
        users = {user: f"{user}pw" for user in ("bob", "dotfirst", *MAILDROP_USERS)}
        self.mailport = Server(tmp / "mailport", pki, users=users,
                               args=["--plaintext-auth", "loopback", "--lock-timeout", "0s"])
        for user in MAILDROP_USERS:
            for i, (_, data) in enumerate(maildrop()):
                self.mailport.mail.add(user, data, folder="cur",
                                       name=f"{1700000000 + i}.M{i}P1.diff:2,S")
        for i, (_, data) in enumerate(DOT_FIRST):
            self.mailport.mail.add("dotfirst", data, folder="cur",
                                   name=f"{1700000000 + i}.M{i}P1.diff:2,S")
        for sub in ("cur", "new", "tmp"):
            (self.mailport.mail.maildir("bob") / sub).mkdir(parents=True)
        self.dovecot = dovecot.DovecotServer(
            tmp / "dovecot", users={u: "{PLAIN}" + p for u, p in users.items()},
            cert=pki.cert, key=pki.key, extra_config=DOVECOT_EXTRA_CONFIG)
        shutil.copytree(self.mailport.mail.root, self.dovecot.mail_root)
        self.context = pki.client_context()
        # UIDLs differ between the users' copies on Dovecot: one token table per user.
        self.uids = {user: {"mailport": Uids(), "dovecot": Uids()} for user in users}
        self.sources = (f"127.0.{i // 250}.{i % 250 + 2}" for i in range(1, 60000))

    def source(self):
        return next(self.sources)

    def start(self):
        self.mailport.start()
        self.dovecot.start()
        return self

    def stop(self):
        self.mailport.stop()
        self.dovecot.stop()

    def run(self, script, transport="pop3s", user="alice"):
        tls = transport == "pop3s"
        mp_port = self.mailport.pop3s_port if tls else self.mailport.pop3_port
        dc_port = self.dovecot.pop3s_port if tls else self.dovecot.pop3_port
        source = self.source()
        uids = self.uids[user]
        return (run_script(mp_port, self.context, tls, uids["mailport"], script, source),
                run_script(dc_port, self.context, tls, uids["dovecot"], script, source))

    def check(self, script, transport="pop3s", accepted=None, user="alice"):
        mailport, dovecot_ = self.run(script, transport, user)
        compare(mailport, dovecot_, accepted or {})
        return mailport, dovecot_


def compare(mailport, dovecot_, accepted):
    """accepted: documented differences, {command: (mailport status, Dovecot status)} or
    {command: predicate(mailport exchange, Dovecot exchange)}; a key (command, n) names only the
    n-th occurrence. They are checked too, so a difference that goes away is noticed and the
    documentation updated."""
    problems = []
    seen = {}
    for a, b in itertools.zip_longest(mailport, dovecot_):
        if a is None or b is None or a.command != b.command:
            problems.append(f"transcripts diverge at {a!r} / {b!r}")
            break
        seen[a.command] = seen.get(a.command, 0) + 1
        expected = accepted.get((a.command, seen[a.command]), accepted.get(a.command))
        if expected is not None:
            holds = expected(a, b) if callable(expected) else (a.status, b.status) == expected
            if not holds:
                problems.append(f"{a.command!r}: documented difference {expected} not seen: "
                                f"mailport {describe(a)} / Dovecot {describe(b)}")
            continue
        if a.command.upper() == "CAPA" and a.status == b.status == "+OK":
            ours = capabilities(a, MAILPORT_ONLY_CAPS, MAILPORT_ONLY_MECHANISMS)
            theirs = capabilities(b, DOVECOT_ONLY_CAPS)
            if ours != theirs:
                problems.append(f"CAPA: mailport {sorted(ours)} / Dovecot {sorted(theirs)}")
            continue
        if a.command.upper() == "AUTH" and a.status == b.status == "+OK" and a.body is not None:
            ours, theirs = mechanisms(a, MAILPORT_ONLY_MECHANISMS), mechanisms(b)
            if ours != theirs:
                problems.append(f"AUTH: mailport {sorted(ours)} / Dovecot {sorted(theirs)}")
            continue
        if a.view() != b.view():
            problems.append(f"{a.command[:80]!r}:\n    mailport {describe(a)}\n"
                            f"    Dovecot  {describe(b)}")
    assert not problems, ("\n".join(problems) + "\nmailport:\n" + render(mailport) +
                          "\nDovecot:\n" + render(dovecot_))


def capa_after_login(a, b):
    """Documented: after login Dovecot stops announcing USER and SASL; mailport keeps them, as RFC
    2449 §5 asks for capabilities available in the AUTHORIZATION state."""
    if not a.status == b.status == "+OK":
        return False
    ours = capabilities(a, MAILPORT_ONLY_CAPS, MAILPORT_ONLY_MECHANISMS)
    theirs = capabilities(b, DOVECOT_ONLY_CAPS)
    return theirs <= ours and {c.split(b" ")[0] for c in ours - theirs} == {b"USER", b"SASL"}


def describe(exchange):
    body = exchange.body
    if body is not None and len(body) > 12:
        body = body[:6] + ("...",) + body[-3:]
    return f"{exchange.status} {exchange.detail!r} {body!r}"


@pytest.fixture(scope="module")
def pair(tmp_path_factory, pki):
    p = Pair(tmp_path_factory.mktemp("differential"), pki).start()
    yield p
    p.stop()


def login(user):
    return [f"USER {user}", f"PASS {user}pw"]


LOGIN = login("alice")
ALL = range(1, BIG + 1)


# --- AUTHORIZATION state -----------------------------------------------------------------------
# Dovecot closes a connection at its third bad command before login (mailport counts to
# session.max_bad_commands), so each script here makes at most two. A login retried after a
# failure on the same connection costs seconds with Dovecot, so only one script does that.

AUTHORIZATION_SCRIPTS = {
    "capa-quit": ["CAPA", "QUIT"],
    "transaction-commands-1": ["STAT", "LIST", "QUIT"],
    "transaction-commands-2": ["LIST 1", "RETR 1", "QUIT"],
    "transaction-commands-3": ["DELE 1", "RSET", "QUIT"],
    "transaction-commands-4": ["TOP 1 1", "UIDL", "QUIT"],
    "transaction-commands-5": ["UIDL 1", "NOOP", "QUIT"],
    "unknown-and-empty": ["XYZZY", "", "QUIT"],
    "pass-before-user": ["PASS alicepw", "USER alice", "PASS alicepw", "STAT", "QUIT"],
    "wrong-password-then-right": ["USER alice", "PASS wrong", "USER alice", "PASS alicepw",
                                  "STAT", "QUIT"],
    "unknown-user": ["USER nobody", "PASS alicepw", "QUIT"],
    "user-twice": ["USER bob", "USER alice", "PASS alicepw", "STAT", "QUIT"],
    "password-with-spaces": ["USER alice", "PASS alice pw", "QUIT"],
    "lowercase-commands": ["capa", "user alice", "pass alicepw", "stat", "list 1", "uidl 1",
                           "quit"],
    "mixed-case-commands": ["User alice", "Pass alicepw", "sTaT", "Top 1 0", "Quit"],
    "apop-not-offered": ["APOP alice 0123456789abcdef0123456789abcdef", "QUIT"],
    "stls-on-tls": ["STLS", "QUIT"],
    "quit-only": ["QUIT"],
    "sasl-list": ["AUTH", "QUIT"],
    "sasl-plain-initial-response": ["AUTH PLAIN AGFsaWNlAGFsaWNlcHc=", "STAT", "QUIT"],
    "sasl-plain-continuation": ["AUTH PLAIN", "AGFsaWNlAGFsaWNlcHc=", "STAT", "QUIT"],
    "sasl-login": ["AUTH LOGIN", "YWxpY2U=", "YWxpY2Vwdw==", "STAT", "QUIT"],
    "sasl-login-initial-response": ["AUTH LOGIN YWxpY2U=", "YWxpY2Vwdw==", "STAT", "QUIT"],
    "sasl-cancel": ["AUTH PLAIN", "*", "AUTH LOGIN", "*", "QUIT"],
    "sasl-wrong-password": ["AUTH PLAIN AGFsaWNlAHdyb25n", "QUIT"],
    "sasl-authzid-self": ["AUTH PLAIN YWxpY2UAYWxpY2UAYWxpY2Vwdw==", "STAT", "QUIT"],
}


@pytest.mark.parametrize("name", AUTHORIZATION_SCRIPTS)
def test_authorization_state(pair, name):
    pair.check(AUTHORIZATION_SCRIPTS[name])


def test_user_without_a_name(pair):
    # Documented: Dovecot accepts an empty user name and fails at PASS; mailport refuses the
    # malformed command (RFC 1939 requires the name).
    pair.check(["USER", "USER alice", "PASS alicepw", "QUIT"], accepted={"USER": ("-ERR", "+OK")})


def test_sasl_protocol_errors_carry_no_auth_code(pair):
    # Documented: mailport keeps [AUTH] for failures caused by the credentials (RFC 3206, RFC
    # 5034 AUTH-RESP-CODE); an unsupported mechanism or a malformed exchange is a plain -ERR.
    pair.check(["AUTH CRAM-MD5", "AUTH PLAIN", "not base64!", "QUIT"],
               accepted={"AUTH CRAM-MD5": ("-ERR", "-ERR [AUTH]"),
                         "not base64!": ("-ERR", "-ERR [AUTH]")})
    pair.check(["AUTH XYZZY", "AUTH PLAIN =", "QUIT"],
               accepted={"AUTH XYZZY": ("-ERR", "-ERR [AUTH]"),
                         "AUTH PLAIN =": ("-ERR", "-ERR [AUTH]")})


def test_rfc6856_utf8_and_lang_are_mailport_extensions(pair):
    # Documented: mailport implements UTF8 and LANG (RFC 6856); Dovecot does not know them.
    pair.check(["UTF8", "LANG", "QUIT"], accepted={"UTF8": ("+OK", "-ERR"),
                                                   "LANG": ("+OK", "-ERR")})


def test_dovecot_closes_at_the_third_bad_command_before_login(pair):
    # Documented: mailport allows session.max_bad_commands (default 20) on the connection.
    # Dovecot answers the third with two lines (-ERR, then -ERR "Too many...") and closes; its
    # second line is read here as the answer to CAPA.
    mailport, dovecot_ = pair.run(["XYZZY", "XYZZY", "XYZZY", "CAPA", "QUIT"])
    assert [e.status for e in dovecot_] == ["+OK", "-ERR", "-ERR", "-ERR", "-ERR", CLOSED]
    assert [e.status for e in mailport] == ["+OK", "-ERR", "-ERR", "-ERR", "+OK", "+OK"]


# --- Plain port: STLS and the plaintext policy --------------------------------------------------

PLAIN_PORT_SCRIPTS = {
    "capa-stls-capa-login": ["CAPA", "STLS", "CAPA", *LOGIN, "STAT", "QUIT"],
    "stls-after-stls": ["STLS", "STLS", "QUIT"],
    "plaintext-login-on-loopback": ["CAPA", *LOGIN, "STAT", "QUIT"],
    "sasl-plain-on-loopback": ["AUTH PLAIN AGFsaWNlAGFsaWNlcHc=", "LIST 2", "QUIT"],
    "stls-after-login": [*LOGIN, "STLS", "QUIT"],
}


@pytest.mark.parametrize("name", PLAIN_PORT_SCRIPTS)
def test_plain_port(pair, name):
    pair.check(PLAIN_PORT_SCRIPTS[name], transport="stls")


def test_commands_pipelined_after_stls_are_never_run(pair):
    # Bytes sent after STLS, before the handshake, were sent in plaintext. Documented: mailport
    # discards them and completes the handshake (the injected USER is gone: PASS finds no user);
    # Dovecot drops the connection instead.
    gone = ("-ERR", CLOSED)
    pair.check([("burst", ["STLS", "CAPA", "USER alice"]), "CAPA", "PASS alicepw", "QUIT"],
               transport="stls",
               accepted={"CAPA": ("+OK", CLOSED), "PASS alicepw": gone, "QUIT": ("+OK", CLOSED)})


# --- TRANSACTION state -------------------------------------------------------------------------

def test_stat_list_uidl_of_every_message(pair):
    script = [*LOGIN, "STAT", "LIST", "UIDL", "NOOP"]
    script += [f"LIST {n}" for n in ALL] + [f"UIDL {n}" for n in ALL] + ["QUIT"]
    pair.check(script)


def test_retr_of_every_message(pair):
    # The 0-octet file: Dovecot sends an empty line as its body; mailport sends nothing, which
    # matches the size both announce (documented).
    script = [*LOGIN] + [f"RETR {n}" for n in ALL] + ["QUIT"]
    mailport, dovecot_ = pair.check(script, accepted={f"RETR {EMPTY_FILE}": ("+OK", "+OK")})
    empty = [e for e in mailport + dovecot_ if e.command == f"RETR {EMPTY_FILE}"]
    assert [e.body for e in empty] == [(), (b"",)]
    for exchange in mailport[3:-1]:
        number = int(exchange.command.split()[1])
        assert exchange.body == tuple(fm.wire(maildrop()[number - 1][1]).split(b"\r\n")[:-1])


@pytest.mark.parametrize("lines", [0, 1, 2, 3, 5, 10, 1000, 4294967296, 18446744073709551615])
def test_top_with_line_counts(pair, lines):
    script = [*LOGIN] + [f"TOP {n} {lines}" for n in ALL if n != EMPTY_FILE] + ["QUIT"]
    mailport, _ = pair.check(script)
    for exchange in mailport[3:-1]:
        number = int(exchange.command.split()[1])
        wanted = fm.top(maildrop()[number - 1][1], lines).split(b"\r\n")[:-1]
        assert exchange.body == tuple(wanted), exchange.command


def test_top_of_the_empty_file(pair):
    pair.check([*LOGIN, f"TOP {EMPTY_FILE} 0", f"TOP {EMPTY_FILE} 5", "QUIT"],
               accepted={f"TOP {EMPTY_FILE} 0": ("+OK", "+OK"),
                         f"TOP {EMPTY_FILE} 5": ("+OK", "+OK")})


TRANSACTION_ERROR_SCRIPTS = {
    "bad-message-numbers": ["LIST 0", "LIST 13", "LIST abc", "LIST -1", "LIST +1",
                            "UIDL 0", "UIDL 99", "RETR 0"],
    "more-bad-numbers": ["RETR 13", "RETR x", "DELE 0", "DELE 13", "TOP 0 1", "TOP 13 1",
                         "LIST 99999999999999999999999", "RETR 18446744073709551617"],
    "leading-zeros": ["LIST 01", "UIDL 002", "TOP 0003 1", "RETR 00001"],
    "missing-arguments": ["RETR", "DELE", "TOP", "TOP 1"],
    "bad-line-counts": ["TOP 1 x", "TOP 1 -1", "TOP 1 +1", "TOP 1 1x"],
    "authorization-commands": ["USER alice", "PASS alicepw", "AUTH PLAIN AGFsaWNlAGFsaWNlcHc=",
                               "APOP alice 0123456789abcdef0123456789abcdef", "AUTH", "STLS"],
    "unknown-and-empty": ["XYZZY", "", "LIST 1"],
}


@pytest.mark.parametrize("name", TRANSACTION_ERROR_SCRIPTS)
def test_transaction_errors(pair, name):
    pair.check([*LOGIN, *TRANSACTION_ERROR_SCRIPTS[name], "STAT", "QUIT"])


def test_capa_after_login(pair):
    pair.check([*LOGIN, "CAPA", "QUIT"], accepted={"CAPA": capa_after_login})
    pair.check(["STLS", *LOGIN, "CAPA", "QUIT"], transport="stls",
               accepted={"CAPA": capa_after_login})


def test_utf8_and_lang_after_login(pair):
    pair.check([*LOGIN, "UTF8", "LANG en", "QUIT"],
               accepted={"LANG en": ("+OK", "-ERR")})


def test_noise_after_arguments(pair):
    # Documented: mailport rejects arguments to commands that take none and extra arguments;
    # Dovecot ignores the former. A trailing space is forgiven by mailport only; two spaces
    # between arguments are forgiven by Dovecot only.
    pair.check([*LOGIN, "NOOP x", "STAT x", "RSET x", "LIST 1 2", "TOP 1 1 1", "LIST 2 ",
                "LIST  2", "UIDL 3 ", "STAT", "QUIT"],
               accepted={"NOOP x": ("-ERR", "+OK"), "STAT x": ("-ERR", "+OK"),
                         "RSET x": ("-ERR", "+OK"), "LIST 2 ": ("+OK", "-ERR"),
                         "LIST  2": ("-ERR", "+OK"), "UIDL 3 ": ("+OK", "-ERR")})


def test_dele_then_list_uidl_stat_retr_and_rset(pair):
    script = [*LOGIN, "DELE 1", "DELE 1", "LIST 1", "UIDL 1", "RETR 1", "TOP 1 0", "DELE 5",
              "STAT", "LIST", "UIDL", "LIST 2", "UIDL 5", "RSET", "STAT", "LIST", "UIDL",
              "RETR 1", "DELE 3", "RSET", "QUIT"]
    pair.check(script)
    pair.check([*LOGIN, "STAT", "LIST", "QUIT"])  # RSET and QUIT: nothing was deleted


def test_pipelined_bursts(pair):
    pair.check([("burst", [*LOGIN, "STAT", "LIST", "UIDL", "RETR 1", "TOP 2 1", "DELE 3",
                           "LIST", "UIDL 3", "RSET", "RETR 7", "TOP 10 0", "NOOP", "LIST 3"]),
                ("burst", ["RETR 2", "XYZZY", "RETR 4", "TOP 4 1", "DELE 99", "UIDL", "RSET",
                           "QUIT"])])


def test_pipelined_login_with_retrieval_of_the_big_message(pair):
    pair.check([("burst", [*LOGIN, f"LIST {BIG}", f"RETR {BIG}", f"TOP {BIG} 5", "QUIT"])])


def test_overlong_and_control_character_lines(pair):
    # Documented: mailport enforces RFC 2449's 255-octet command line; Dovecot accepts it.
    pair.check([*LOGIN, ("raw", b"LIST " + b"0" * 300 + b"1\r\n", "LIST 000...1"),
                ("raw", b"NOOP\x01\r\n", "NOOP^A"), ("raw", b"\x00\r\n", "NUL"), "STAT",
                "QUIT"],
               accepted={"LIST 000...1": ("-ERR", "+OK")})


def test_first_line_of_a_message_starting_with_a_dot(pair):
    # Documented: Dovecot does not dot-stuff a message's first line, so a message "." ends its
    # RETR response early (the rest desynchronises the session) and ".hidden: x" reaches the
    # client as "hidden: x". mailport stuffs every line (RFC 1939 §3).
    lines = [b"USER dotfirst", b"PASS dotfirstpw", b"RETR 1", b"RETR 2", b"TOP 2 0", b"QUIT"]
    source = pair.source()
    replies = {name: raw_conversation(server.pop3s_port, pair.context, source, lines)
               for name, server in (("mailport", pair.mailport), ("dovecot", pair.dovecot))}
    retrieved = {name: raw.split(b"Logged in.\r\n", 1)[1] for name, raw in replies.items()}
    assert retrieved["mailport"] == (b"+OK 1 octets\r\n..\r\n.\r\n"
                                     b"+OK 20 octets\r\n..hidden: x\r\n\r\nbody\r\n.\r\n"
                                     b"+OK Top of message follows.\r\n..hidden: x\r\n\r\n.\r\n"
                                     b"+OK Logging out (0 messages deleted).\r\n")
    assert retrieved["dovecot"] == (b"+OK 1 octets\r\n.\r\n.\r\n"
                                    b"+OK 20 octets\r\n.hidden: x\r\n\r\nbody\r\n.\r\n"
                                    b"+OK\r\n.hidden: x\r\n\r\n.\r\n"
                                    b"+OK Logging out.\r\n")


# --- UPDATE state and what it leaves behind ----------------------------------------------------

def test_quit_expunges_and_renumbers(pair):
    pair.check([*login("expunge"), "DELE 2", "DELE 5", f"DELE {BIG}", "STAT", "QUIT"],
               user="expunge")
    pair.check([*login("expunge"), "STAT", "LIST", "UIDL", "RETR 2", "TOP 4 2", "LIST 10",
                "QUIT"], user="expunge")


def test_quit_after_deleting_everything(pair):
    pair.check([*login("wipe"), *[f"DELE {n}" for n in ALL], "STAT", "LIST", "UIDL", "QUIT"],
               user="wipe")
    pair.check([*login("wipe"), "STAT", "LIST", "UIDL", "RETR 1", "QUIT"], user="wipe")


def test_dropped_connection_deletes_nothing(pair):
    # No QUIT, so no UPDATE state: the marks are forgotten.
    pair.check([*login("dropped"), "DELE 1", "DELE 2"], user="dropped")
    assert pair.mailport.wait_log(r'event=disconnect user="dropped"')
    pair.check([*login("dropped"), "STAT", "UIDL 1", "QUIT"], user="dropped")


def test_concurrent_session_on_one_maildrop(pair):
    # Documented: mailport holds RFC 1939's exclusive lock for the whole session ([IN-USE]);
    # Dovecot, as configured by default, lets a second session in.
    first = {}
    for name, server in (("mailport", pair.mailport), ("dovecot", pair.dovecot)):
        first[name] = Session(server.pop3s_port, pair.context, True,
                              pair.uids["locked"][name], pair.source())
        for command in login("locked"):
            first[name].command(command)
        assert first[name].transcript[-1].status == "+OK"
    try:
        pair.check([*login("locked"), "QUIT"], user="locked",
                   accepted={"PASS lockedpw": ("-ERR [IN-USE]", "+OK")})
    finally:
        for session in first.values():
            session.close()
