"""Fixtures for the cluster tests: one PostgreSQL per test session, a fresh database per test,
and mailport instances that all serve it."""

import re
import subprocess
import time

import pytest

from conftest import BIN, Server
from support import haproxy as haproxy_support
from support import postgres


class Database:
    def __init__(self, cluster, name):
        self.cluster = cluster
        self.name = name
        self.conninfo = cluster.conninfo(name)
        self.spec = "postgres:" + self.conninfo

    def sql(self, query):
        return self.cluster.psql(query, self.name)

    def mailport(self, *args, input=b""):
        return subprocess.run([BIN, *args], input=input, capture_output=True, timeout=60)

    def add_user(self, name, password):
        result = self.mailport("user", "add", name, "--passdb", self.spec, "--scheme", "PLAIN",
                               input=password.encode() + b"\n")
        assert result.returncode == 0, result.stderr

    def deliver(self, user, message: bytes):
        return self.mailport("deliver", "-d", user, "--passdb", self.spec, "--mail", self.spec,
                             input=message)

    def uidls(self, user):
        return [row[0] for row in self.sql(
            "SELECT m.uidl FROM messages m JOIN mailboxes b ON b.id = m.mailbox_id "
            f"WHERE b.login = '{user}' ORDER BY m.id")]


class Instance(Server):
    """A mailport process whose users and mail are in the test database."""

    def __init__(self, tmp, pki, database, args=()):
        tmp.mkdir(parents=True, exist_ok=True)
        super().__init__(tmp, pki, users={},
                         args=["--passdb", database.spec, "--mail", database.spec,
                               "--plaintext-auth", "loopback", *args])


@pytest.fixture(scope="session")
def pg_cluster():
    reason = postgres.unavailable_reason()
    if reason:
        pytest.skip(reason)
    cluster = postgres.Postgres().start()
    yield cluster
    cluster.stop()


@pytest.fixture
def db(pg_cluster):
    return Database(pg_cluster, pg_cluster.create_database())


@pytest.fixture
def instances(db, tmp_path, pki):
    """instances(n, args) starts n mailport processes on the test database."""
    started = []

    def start(count=2, args=()):
        new = []
        for _ in range(count):
            instance = Instance(tmp_path / f"instance{len(started)}", pki, db, args)
            started.append(instance)
            new.append(instance.start())
        return new

    yield start
    for instance in started:
        instance.stop()


@pytest.fixture
def haproxy(tmp_path):
    """haproxy(instances, **options) puts HAProxy (PROXY protocol v2, TLS passed through) in
    front of running instances; stopped at the end of the test."""
    reason = haproxy_support.unavailable_reason()
    if reason:
        pytest.skip(reason)
    started = []

    def start(running, **options):
        proxy = haproxy_support.HAProxy(tmp_path / f"haproxy{len(started)}",
                                        [(i.pop3_port, i.pop3s_port) for i in running],
                                        **options)
        started.append(proxy)
        return proxy.start()

    yield start
    for proxy in started:
        proxy.stop()


def lmtp_port(instance, timeout=5.0):
    """The LMTP port an instance logged that it listens on."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        m = re.search(r"listening listener=lmtp address=127\.0\.0\.1:(\d+)", instance.log())
        if m:
            return int(m.group(1))
        time.sleep(0.02)
    raise RuntimeError("no LMTP listener in the log:\n" + instance.log())
