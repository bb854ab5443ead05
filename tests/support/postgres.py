"""A throwaway PostgreSQL cluster for tests: initdb in a temporary directory, the server on an
ephemeral loopback port with its Unix socket beside the data, stopped (immediate mode) at the end.
PostgreSQL refuses to run as root, so under root the cluster belongs to an unprivileged user."""

import os
import pathlib
import pwd
import shutil
import socket
import subprocess
import tempfile
import time

BIN_DIR = pathlib.Path("/usr/lib/postgresql/15/bin")
START_TIMEOUT = 30


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def unavailable_reason():
    """Why no cluster can be started here, or None."""
    if not (BIN_DIR / "initdb").exists():
        return f"PostgreSQL server binaries not found in {BIN_DIR} (Debian package postgresql)"
    if not shutil.which("psql"):
        return "psql not found (Debian package postgresql-client)"
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("nobody")
        except KeyError:
            return "running as root and there is no 'nobody' user to run PostgreSQL as"
        if not shutil.which("runuser"):
            return "running as root and runuser (util-linux) is missing"
    return None


class Postgres:
    def __init__(self, max_connections=300):
        self.max_connections = max_connections
        self.dir = pathlib.Path(tempfile.mkdtemp(prefix="mailport-pg-"))
        self.data = self.dir / "data"
        self.port = free_port()
        self.log = self.dir / "postgres.log"
        self._databases = 0

    def _as_owner(self, cmd):
        if os.geteuid() == 0:
            return ["runuser", "-u", "nobody", "--", *map(str, cmd)]
        return [str(c) for c in cmd]

    def start(self):
        if os.geteuid() == 0:
            os.chmod(self.dir, 0o755)
            shutil.chown(self.dir, user="nobody")
        subprocess.run(self._as_owner([BIN_DIR / "initdb", "-D", self.data, "-U", "postgres",
                                       "--auth=trust", "-E", "UTF8", "--no-sync",
                                       "--locale=C"]),
                       check=True, capture_output=True, timeout=120)
        options = (f"-h 127.0.0.1 -p {self.port} -k {self.dir} -F "
                   f"-c max_connections={self.max_connections} -c fsync=off "
                   f"-c synchronous_commit=off -c full_page_writes=off")
        subprocess.run(self._as_owner([BIN_DIR / "pg_ctl", "-D", self.data, "-o", options,
                                       "-l", self.log, "-w", "-t", str(START_TIMEOUT), "start"]),
                       check=True, capture_output=True, timeout=START_TIMEOUT + 10)
        return self

    def stop(self):
        if self.data.exists():
            subprocess.run(self._as_owner([BIN_DIR / "pg_ctl", "-D", self.data, "-m",
                                           "immediate", "-w", "stop"]),
                           capture_output=True, timeout=60)
        shutil.rmtree(self.dir, ignore_errors=True)

    def conninfo(self, dbname="postgres"):
        return f"host=127.0.0.1 port={self.port} user=postgres dbname={dbname}"

    def psql(self, sql, dbname="postgres"):
        """Runs SQL; returns the rows as lists of strings (unaligned, tuples only)."""
        out = subprocess.run(["psql", "-X", "-q", "-At", "-F", "\t", "-v", "ON_ERROR_STOP=1",
                              "-d", self.conninfo(dbname), "-c", sql],
                             check=True, capture_output=True, text=True, timeout=120)
        return [line.split("\t") for line in out.stdout.splitlines() if line]

    def create_database(self):
        """A fresh, empty database for one test; returns its name."""
        self._databases += 1
        name = f"mailport_test_{self._databases}"
        self.psql(f"CREATE DATABASE {name}")
        return name
