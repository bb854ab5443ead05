"""Several mailport instances on one PostgreSQL database: the same users and maildrops through
any instance, the POP3 lock across instances, and no message lost or duplicated when an
instance dies."""

import signal
import sys
import time

from cluster_util import lmtp_port
from cluster_util import db, instances, pg_cluster  # noqa: F401 (fixtures)
from conftest import ROOT, Mailstore, crlf, unstuff

sys.path.insert(0, str(ROOT / "tests" / "integration"))
from mailin_util import LmtpClient  # noqa: E402

MESSAGE = b"From: a@example.net\nTo: alice@example.org\nSubject: one\n\n.dot line\nbody\n"


def login(instance, user="alice", password="alicepw"):
    client = instance.raw()
    assert client.line().startswith(b"+OK")
    assert client.cmd(f"USER {user}").startswith(b"+OK")
    return client, client.cmd(f"PASS {password}")


def uidl_listing(client):
    assert client.cmd("UIDL").startswith(b"+OK")
    return client.multiline()


def retrieve(client, number):
    assert client.cmd(f"RETR {number}").startswith(b"+OK")
    return unstuff(client.multiline())


def test_schema_is_created_on_first_use_and_by_db_migrate(db):
    result = db.mailport("db", "migrate", "--mail", db.spec)
    assert result.returncode == 0, result.stderr
    assert b"schema version 1 (upgraded from 0)" in result.stdout
    assert db.sql("SELECT version FROM mailport_schema") == [["1"]]
    again = db.mailport("db", "migrate", "--mail", db.spec, "--passdb", db.spec)
    assert again.returncode == 0 and b"schema version 1 (up to date)" in again.stdout
    assert db.sql("SELECT count(*) FROM mailport_schema") == [["1"]]


def test_db_migrate_needs_a_database_and_reports_bad_conninfo(db):
    result = db.mailport("db", "migrate")
    assert result.returncode == 64 and b"--mail postgres:CONNINFO" in result.stderr
    bad = db.mailport("db", "migrate", "--mail", "postgres:nonsense_key=1")
    assert bad.returncode == 64 and b"nonsense_key" in bad.stderr
    down = db.mailport("db", "migrate", "--mail", "postgres:host=127.0.0.1 port=1 user=x")
    assert down.returncode == 75 and b"PostgreSQL connection failed" in down.stderr


def test_user_commands_edit_the_users_table(db):
    db.add_user("alice", "alicepw")
    dup = db.mailport("user", "add", "alice", "--passdb", db.spec, input=b"x\n")
    assert dup.returncode == 65 and b"already exists" in dup.stderr
    listed = db.mailport("user", "list", "-l", "--passdb", db.spec)
    assert listed.stdout == b"alice\tPLAIN\n"
    changed = db.mailport("user", "passwd", "alice", "--passdb", db.spec, input=b"newpw\n")
    assert changed.returncode == 0, changed.stderr
    assert db.sql("SELECT password LIKE '{ARGON2ID}%' FROM users") == [["t"]]
    gone = db.mailport("user", "del", "alice", "--passdb", db.spec)
    assert gone.returncode == 0 and db.sql("SELECT count(*) FROM users") == [["0"]]
    missing = db.mailport("user", "del", "alice", "--passdb", db.spec)
    assert missing.returncode == 67


def test_fetch_the_same_maildrop_through_any_instance(db, instances):
    db.add_user("alice", "alicepw")
    for i in range(3):
        result = db.deliver("alice", MESSAGE + b"number %d\n" % i)
        assert result.returncode == 0, result.stderr
    first, second = instances(2)
    seen = []
    for instance in (first, second, first):
        client, reply = login(instance)
        assert reply.startswith(b"+OK"), reply
        stat = client.cmd("STAT").split()
        assert stat[1] == b"3"
        listing = uidl_listing(client)
        body = retrieve(client, 2)
        assert body.endswith(crlf(MESSAGE + b"number 1\n"))
        assert body.startswith(b"Return-Path: <>\r\nDelivered-To: alice\r\n")
        assert int(stat[2]) == sum(len(retrieve(client, n)) for n in (1, 2, 3))
        client.cmd("QUIT")
        seen.append(listing)
    assert seen[0] == seen[1] == seen[2]
    assert [line.split()[1].decode() for line in seen[0].splitlines()] == db.uidls("alice")


def test_wrong_password_and_unknown_user_are_refused(db, instances):
    db.add_user("alice", "alicepw")
    (instance,) = instances(1)
    for user, password in (("alice", "wrong"), ("mallory", "x")):
        client, reply = login(instance, user, password)
        assert reply.startswith(b"-ERR [AUTH]"), reply
        client.close()


def test_dele_and_quit_removes_rows_and_bodies(db, instances):
    db.add_user("alice", "alicepw")
    for i in range(3):
        assert db.deliver("alice", MESSAGE + b"%d\n" % i).returncode == 0
    (instance,) = instances(1)
    client, _ = login(instance)
    keep = db.uidls("alice")
    assert client.cmd("DELE 1").startswith(b"+OK")
    assert client.cmd("DELE 3").startswith(b"+OK")
    assert client.cmd("QUIT").startswith(b"+OK")
    assert db.uidls("alice") == [keep[1]]
    assert db.sql("SELECT count(*) FROM message_bodies") == [["1"]]


def test_large_message_is_streamed_in_chunks(db, instances):
    db.add_user("alice", "alicepw")
    big = b"Subject: big\n\n" + b"".join(b"line %07d of a long message\n" % i
                                         for i in range(40000))
    assert db.deliver("alice", big).returncode == 0
    (instance,) = instances(1)
    client, _ = login(instance)
    body = retrieve(client, 1)
    assert body.endswith(crlf(big)) and len(big) > 1_000_000
    client.cmd("QUIT")


def test_second_session_on_another_instance_gets_in_use(db, instances):
    db.add_user("alice", "alicepw")
    assert db.deliver("alice", MESSAGE).returncode == 0
    first, second = instances(2, args=["--lock-timeout", "300ms"])
    holder, reply = login(first)
    assert reply.startswith(b"+OK")
    other, refused = login(second)
    assert refused.startswith(b"-ERR [IN-USE]"), refused
    other.close()
    holder.cmd("QUIT")
    # Released at QUIT: the other instance gets in now.
    again, reply = login(second)
    assert reply.startswith(b"+OK"), reply
    again.cmd("QUIT")


def test_sigkill_mid_session_releases_the_lock_at_once_and_loses_nothing(db, instances):
    db.add_user("alice", "alicepw")
    for i in range(3):
        assert db.deliver("alice", MESSAGE + b"%d\n" % i).returncode == 0
    before = db.uidls("alice")
    first, second = instances(2, args=["--lock-timeout", "300ms"])
    client, _ = login(first)
    assert client.cmd("DELE 1").startswith(b"+OK")
    assert client.cmd("RETR 2").startswith(b"+OK")
    client.multiline()
    first.stop(signal.SIGKILL)
    killed_at = time.monotonic()
    # No QUIT: the DELE never happened. The lock went with the dead instance's connections.
    for _ in range(50):
        other, reply = login(second)
        if reply.startswith(b"+OK"):
            break
        other.close()
        time.sleep(0.1)
    assert reply.startswith(b"+OK"), reply
    assert time.monotonic() - killed_at < 3
    assert uidl_listing(other).count(b"\r\n") == 3
    other.cmd("QUIT")
    assert db.uidls("alice") == before
    assert db.sql("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'") == [["0"]]


def test_lmtp_delivery_to_one_instance_is_visible_through_every_instance(db, instances):
    db.add_user("alice", "alicepw")
    db.add_user("bob", "bobpw")
    started = instances(3, args=["--lmtp", "127.0.0.1:0"])
    port = lmtp_port(started[1])
    client = LmtpClient.tcp(port)
    client.greet()
    rcpt, data = client.transaction("sender@example.net", ["alice", "bob", "nobody"],
                                    b"Subject: via lmtp\r\n\r\nhello\r\n")
    client.close()
    assert [code for code, _ in rcpt] == [250, 250, 550]
    # Acknowledged after COMMIT: every instance sees the rows as soon as the 250s arrive.
    assert [code for code, _ in data] == [250, 250]
    for instance in started:
        for user, password in (("alice", "alicepw"), ("bob", "bobpw")):
            client, reply = login(instance, user, password)
            assert reply.startswith(b"+OK"), reply
            body = retrieve(client, 1)
            assert body.startswith(b"Return-Path: <sender@example.net>\r\n")
            assert body.endswith(b"Subject: via lmtp\r\n\r\nhello\r\n")
            client.cmd("QUIT")


def test_deliver_exit_statuses_against_postgres(db, instances):
    db.add_user("alice", "alicepw")
    assert db.deliver("alice", MESSAGE).returncode == 0
    assert db.deliver("mallory", MESSAGE).returncode == 67
    down = db.mailport("deliver", "-d", "alice", "--passdb", db.spec, "--mail",
                       "postgres:host=127.0.0.1 port=1 user=x connect_timeout=2", input=MESSAGE)
    assert down.returncode == 75, down.stderr
    (instance,) = instances(1)
    client, _ = login(instance)
    assert client.cmd("STAT").startswith(b"+OK 1 ")
    client.cmd("QUIT")


def test_migrate_from_maildir_preserves_uidls_and_resumes(db, instances, tmp_path):
    maildirs = Mailstore(tmp_path / "maildirs")
    for i in range(4):
        maildirs.add("alice", b"Subject: old %d\n\nbody\n" % i)
    maildirs.add("bob", b"Subject: bob's\n\nbody\n")
    passwd = tmp_path / "passwd"
    passwd.write_text("alice:{PLAIN}alicepw\nbob:{PLAIN}bobpw\n")
    source = "maildir:" + str(maildirs.root / "%u" / "Maildir")
    files_before = sorted(p.name for p in maildirs.files("alice"))
    # An interrupted earlier run copied one of alice's messages already.
    partial = db.mailport("migrate", "--from", source, "--to", db.spec, "--users", "alice",
                          "--passwd", str(passwd))
    assert partial.returncode == 0, partial.stderr
    db.sql("DELETE FROM messages WHERE id IN (SELECT id FROM messages ORDER BY id DESC LIMIT 3)")
    result = db.mailport("migrate", "--from", source, "--to", db.spec, "--passwd", str(passwd))
    assert result.returncode == 0, result.stderr
    assert b"alice: 3 copied, 1 already there, 0 failed" in result.stdout
    assert b"total: 2 users, 4 copied, 1 already there, 0 failed" in result.stdout
    assert sorted(p.name for p in maildirs.files("alice")) == files_before  # source untouched
    for line in passwd.read_text().splitlines():
        db.sql("INSERT INTO users (login, password) VALUES ('%s', '%s')"
               % tuple(line.split(":")[:2]))
    # The UIDLs POP3 clients saw from the Maildir server are the ones served now.
    (instance,) = instances(1)
    client, _ = login(instance)
    listing = uidl_listing(client)
    client.cmd("QUIT")
    names = sorted(name.split(":")[0] for name in files_before)
    assert sorted(line.split()[1].decode() for line in listing.splitlines()) == names
    again = db.mailport("migrate", "--from", source, "--to", db.spec, "--passwd", str(passwd))
    assert b"total: 2 users, 0 copied, 5 already there, 0 failed" in again.stdout


def test_login_and_uidl_on_a_100k_message_mailbox(db, instances):
    db.add_user("alice", "alicepw")
    assert db.deliver("alice", MESSAGE).returncode == 0
    db.sql("INSERT INTO messages (mailbox_id, uidl, octets, stored_size) "
           "SELECT b.id, 'gen' || g, 100, 98 FROM mailboxes b, generate_series(1, 100000) g "
           "WHERE b.login = 'alice'")
    db.sql("ANALYZE")
    (instance,) = instances(1)
    started = time.monotonic()
    client, reply = login(instance)
    assert reply.startswith(b"+OK"), reply
    assert client.cmd("STAT").startswith(b"+OK 100001 ")
    listing = uidl_listing(client)
    elapsed = time.monotonic() - started
    client.cmd("QUIT")
    assert listing.count(b"\r\n") == 100001
    assert elapsed < 5, elapsed



def test_pool_size_caps_the_database_connections_and_sessions_of_an_instance(db, instances,
                                                                             tmp_path):
    for user in ("alice", "bob", "carol"):
        db.add_user(user, user + "pw")
    config = tmp_path / "pool.toml"
    config.write_text("[postgres]\npool_size = 2\n")
    (instance,) = instances(1, args=["--config", str(config)])
    held = []
    for user in ("alice", "bob"):
        client, reply = login(instance, user, user + "pw")
        assert reply.startswith(b"+OK"), reply
        held.append(client)
    others = ("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
              "AND pid <> pg_backend_pid()")
    assert db.sql(others) == [["2"]]
    # Both connections carry a session's lock: nothing is left for a third login.
    client, reply = login(instance, "carol", "carolpw")
    assert reply.startswith(b"-ERR [SYS/TEMP]"), reply
    client.close()
    assert db.sql(others) == [["2"]]
    held[0].cmd("QUIT")
    client, reply = login(instance, "carol", "carolpw")
    assert reply.startswith(b"+OK"), reply
    client.cmd("QUIT")


def test_pool_size_is_checked_with_file_and_line(db, tmp_path):
    config = tmp_path / "bad.toml"
    config.write_text("[postgres]\npool_size = 0\n")
    result = db.mailport("config", "check", "--config", str(config))
    assert result.returncode != 0
    expected = f"{config}:2: postgres.pool_size: 0 is out of range (1 to 10000)"
    assert expected.encode() in result.stderr, result.stderr


REHASH = "[auth]\nrehash = true\n"


def test_rehash_upgrades_a_weak_hash_in_the_users_table(db, instances, tmp_path):
    weak = db.mailport("user", "add", "alice", "--passdb", db.spec, "--scheme", "SHA512-CRYPT",
                       input=b"alicepw\n")
    assert weak.returncode == 0, weak.stderr
    db.add_user("bob", "bobpw")
    config = tmp_path / "rehash.toml"
    config.write_text(REHASH)
    first, second = instances(2, args=["--config", str(config)])
    client, reply = login(first)
    assert reply.startswith(b"+OK"), reply
    client.cmd("QUIT")
    deadline = time.monotonic() + 10
    while db.sql("SELECT password LIKE '{ARGON2ID}%' FROM users WHERE login = 'alice'") != [["t"]]:
        assert time.monotonic() < deadline, first.log()
        time.sleep(0.05)
    assert first.wait_log(r"event=rehash result=ok user=\"alice\" scheme=ARGON2ID")
    # The other instance verifies the new hash; an ARGON2ID hash is not upgraded again.
    client, reply = login(second)
    assert reply.startswith(b"+OK"), reply
    client.cmd("QUIT")
    # PLAIN is weaker too: bob's password is upgraded by whichever instance he reaches.
    client, reply = login(second, "bob", "bobpw")
    assert reply.startswith(b"+OK"), reply
    client.cmd("QUIT")
    assert second.wait_log(r"event=rehash result=ok user=\"bob\"", timeout=10)
    assert "event=rehash result=ok user=\"alice\"" not in second.log()
    assert db.sql("SELECT count(*) FROM users WHERE password LIKE '{ARGON2ID}%'") == [["2"]]


def test_rehash_never_overwrites_a_password_changed_meanwhile(db, instances, tmp_path):
    db.add_user("alice", "alicepw")
    config = tmp_path / "rehash.toml"
    config.write_text(REHASH)
    (instance,) = instances(1, args=["--config", str(config)])
    # A trigger stands in for an admin whose `mailport user passwd` lands between the lookup and
    # the upgrade: the stored value changes under the running login.
    db.sql("CREATE FUNCTION admin_changed() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
           "UPDATE users SET password = '{PLAIN}admin-set' WHERE login = NEW.login "
           "AND password <> '{PLAIN}admin-set'; RETURN NULL; END $$")
    db.sql("CREATE TRIGGER admin_changed AFTER INSERT ON mailboxes "
           "FOR EACH ROW EXECUTE FUNCTION admin_changed()")
    client, reply = login(instance)
    assert reply.startswith(b"+OK"), reply
    client.cmd("QUIT")
    assert instance.wait_log(r"event=rehash result=failed user=\"alice\" error=\".*changed "
                             r"meanwhile", timeout=10), instance.log()
    assert db.sql("SELECT password FROM users WHERE login = 'alice'") == [["{PLAIN}admin-set"]]
