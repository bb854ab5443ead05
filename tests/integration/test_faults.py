"""Faults lose nothing: SIGKILL at random points of sessions and of UPDATE, I/O errors (EIO,
ENOSPC) injected into UPDATE, a full filesystem, and a Maildir changed behind the server's back.
After each fault every message is checked byte for byte: present exactly once, or gone only
because its session marked it deleted and sent QUIT."""

import os
import pathlib
import random
import shutil
import signal
import subprocess
import textwrap
import threading
import time

import pytest

from conftest import BIN, RawClient, crlf

MESSAGES = 12
KILL_ITERATIONS = 40
SEED = int(os.environ.get("MAILPORT_FAULT_SEED", "6"))


class Maildrop:
    """alice's maildir with messages that each carry a unique id, half in new/, half in cur/."""

    def __init__(self, server, rng):
        self.server = server
        self.rng = rng
        self.next_id = 0
        self.originals = {}  # content -> id

    def top_up(self, count=MESSAGES):
        while len(self.present()) < count:
            self.next_id += 1
            i = self.next_id
            filler = b"".join(b"line %d of message %d\n" % (n, i)
                              for n in range(self.rng.randrange(1, 400)))
            content = b"Message-Id: <%d@faults.test>\nSubject: %d\n\n%s.\n..stuffed\n" % (
                i, i, filler)
            folder = "new" if i % 2 else "cur"
            name = f"{1700000000 + i}.M{i}P1.faults" + ("" if folder == "new" else ":2,S")
            self.server.mail.add("alice", content, folder=folder, name=name)
            self.originals[content] = i

    def present(self):
        return [p.read_bytes() for p in self.server.mail.files("alice")]

    def check(self, deleted_ids, may_have_removed):
        """Every file is an original, byte for byte, exactly once; what is missing was marked
        deleted, and only if the session reached UPDATE. Returns the ids now missing."""
        contents = self.present()
        ids = []
        for content in contents:
            assert content in self.originals, f"unknown or damaged message: {content[:80]!r}"
            ids.append(self.originals[content])
        assert len(ids) == len(set(ids)), f"duplicated messages: {sorted(ids)}"
        missing = {i for i in self.originals.values() if i not in ids}
        assert missing <= deleted_ids, f"lost {missing - deleted_ids} (deleted: {deleted_ids})"
        if not may_have_removed:
            assert not missing, f"removed {missing} without QUIT"
        for content in [c for c, i in self.originals.items() if i in missing]:
            del self.originals[content]
        return missing


def session_until_killed(server, rng, killer_delay, kill_after_quit):
    """Runs a random session; returns (ids marked deleted, whether QUIT was sent, reply)."""
    marked, quit_sent, reply = set(), False, None
    killer = threading.Timer(killer_delay, lambda: server.proc.send_signal(signal.SIGKILL))
    try:
        c = server.raw()
        c.line()
        if not kill_after_quit:
            killer.start()
        c.login()
        count = int(c.cmd("STAT").split()[1])
        for number in rng.sample(range(1, count + 1), k=rng.randrange(0, count + 1)):
            if rng.random() < 0.3:
                if c.cmd(f"RETR {number}").startswith(b"+OK"):
                    c.multiline()
            if c.cmd(f"DELE {number}").startswith(b"+OK"):
                c.cmd(f"TOP {number} 0")  # -ERR: already deleted
                marked.add(number)
        uidls = {}
        if c.cmd("UIDL").startswith(b"+OK"):
            for line in c.multiline().decode().split("\r\n"):
                if line:
                    number, uidl = line.split()
                    uidls[int(number)] = uidl
        if rng.random() < 0.7:
            if kill_after_quit:
                killer.start()
            c.send(b"QUIT\r\n")
            quit_sent = True
            reply = c.line()
        else:
            time.sleep(killer_delay + 0.05)
    except (OSError, EOFError):
        pass
    finally:
        killer.cancel()
    return marked, quit_sent, reply


# --- injected I/O errors ------------------------------------------------------------------------

SHIM = r"""
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The plan file named by $MAILPORT_FAULT_PLAN holds "<call> <errno> <skip> <token> <delay_us>":
   every <call> first sleeps <delay_us> microseconds (to widen windows for SIGKILL); after <skip>
   successful calls it fails with <errno> (0: never). A new token restarts the count. */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static char current_token[64];
static int calls;

static int planned_error(const char *call) {
  const char *path = getenv("MAILPORT_FAULT_PLAN");
  if (!path) return 0;
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  char text[160] = {0};
  ssize_t n = read(fd, text, sizeof text - 1);
  close(fd);
  char name[32], token[64];
  int err, skip, delay_us;
  if (n <= 0 || sscanf(text, "%31s %d %d %63s %d", name, &err, &skip, token, &delay_us) != 5)
    return 0;
  if (strcmp(name, call) != 0) return 0;
  if (delay_us > 0) usleep((useconds_t)delay_us);
  pthread_mutex_lock(&lock);
  if (strcmp(token, current_token) != 0) {
    strcpy(current_token, token);
    calls = 0;
  }
  int fail = calls++ >= skip;
  pthread_mutex_unlock(&lock);
  return fail ? err : 0;
}

int unlinkat(int dirfd, const char *path, int flags) {
  static int (*real)(int, const char *, int);
  if (!real) real = dlsym(RTLD_NEXT, "unlinkat");
  int err = planned_error("unlinkat");
  if (err) { errno = err; return -1; }
  return real(dirfd, path, flags);
}

int fsync(int fd) {
  static int (*real)(int);
  if (!real) real = dlsym(RTLD_NEXT, "fsync");
  int err = planned_error("fsync");
  if (err) { errno = err; return -1; }
  return real(fd);
}
"""


@pytest.fixture(scope="module")
def fault_shim(tmp_path_factory):
    compiler = shutil.which("cc") or shutil.which("gcc")
    if not compiler:
        pytest.skip("no C compiler to build the LD_PRELOAD fault shim")
    directory = tmp_path_factory.mktemp("shim")
    (directory / "shim.c").write_text(SHIM)
    subprocess.run([compiler, "-shared", "-fPIC", "-O1", "-o", str(directory / "shim.so"),
                    str(directory / "shim.c"), "-ldl", "-lpthread"], check=True)
    return directory / "shim.so"


class FaultPlan:
    def __init__(self, path):
        self.path = path
        self.token = 0
        self.clear()

    def fail(self, call, error, skip=0, delay_us=0):
        self.token += 1
        self.path.write_text(f"{call} {error} {skip} plan{self.token} {delay_us}\n")

    def clear(self):
        self.path.write_text("none 0 0 none 0\n")


def shim_env(fault_shim, plan):
    env = dict(os.environ, LD_PRELOAD=str(fault_shim), MAILPORT_FAULT_PLAN=str(plan.path))
    if "ASAN_OPTIONS" in env:  # the sanitizer runtime must otherwise come first
        env["ASAN_OPTIONS"] += ":verify_asan_link_order=0"
    return env


@pytest.fixture
def faulty_server(make_server, fault_shim, tmp_path):
    plan = FaultPlan(tmp_path / "fault-plan")
    server = make_server(args=["--plaintext-auth", "loopback"], env=shim_env(fault_shim, plan))
    drop = Maildrop(server, random.Random(SEED))
    drop.top_up(6)
    server.start()
    return server, drop, plan


def numbers_for(server, wanted_ids):
    c = server.raw()
    c.line()
    c.login()
    count = int(c.cmd("STAT").split()[1])
    numbers = {}
    for number in range(1, count + 1):
        c.cmd(f"TOP {number} 0")
        header = c.multiline().split(b"\r\n", 1)[0]
        numbers[int(header.split(b"<")[1].split(b"@")[0])] = number
    c.cmd("QUIT")
    return {numbers[i] for i in wanted_ids}


def update_with_fault(server, plan, numbers, call, error, skip=0):
    c = server.raw()
    c.line()
    c.login()
    for number in sorted(numbers):
        assert c.cmd(f"DELE {number}").startswith(b"+OK")
    plan.fail(call, error, skip)
    try:
        return c.cmd("QUIT")
    finally:
        plan.clear()


@pytest.mark.parametrize("call,error", [("unlinkat", 5), ("unlinkat", 28), ("fsync", 5),
                                        ("fsync", 28)])
def test_io_error_in_update_answers_sys_temp_and_keeps_the_rest(faulty_server, call, error):
    server, drop, plan = faulty_server
    ids = sorted(drop.originals.values())
    doomed = set(ids[:3])
    reply = update_with_fault(server, plan, numbers_for(server, doomed), call, error)
    assert reply.startswith(b"-ERR [SYS/TEMP]"), reply
    missing = drop.check(doomed, may_have_removed=True)
    if call == "unlinkat":
        assert not missing  # the first unlink failed: nothing was removed
    # The server keeps running and the next session deletes normally.
    assert server.proc.poll() is None
    left = doomed - missing
    if left:
        reply = update_with_fault(server, plan, numbers_for(server, left), "none", 0)
        assert reply.startswith(b"+OK"), reply
    assert drop.check(left, may_have_removed=True) == left


def test_io_error_half_way_through_update_removes_only_marked_messages(faulty_server):
    server, drop, plan = faulty_server
    doomed = set(sorted(drop.originals.values())[1:5])
    reply = update_with_fault(server, plan, numbers_for(server, doomed), "unlinkat", 5, skip=2)
    assert reply.startswith(b"-ERR [SYS/TEMP]"), reply
    missing = drop.check(doomed, may_have_removed=True)
    assert len(missing) == 2, missing
    assert server.proc.poll() is None


def test_io_error_during_delivery_leaves_no_partial_message(make_server, fault_shim, tmp_path):
    server = make_server()
    drop = Maildrop(server, random.Random(SEED))
    drop.top_up(2)
    plan = FaultPlan(tmp_path / "fault-plan")
    command = [BIN, "deliver", "-d", "alice", "--passwd", str(server.passwd),
               "--mail", str(server.mail.root / "%u" / "Maildir")]
    message = b"Subject: delivered\n\nbody\n"
    for call, error in (("fsync", 5), ("fsync", 28)):
        plan.fail(call, error)
        result = subprocess.run(command, input=message, capture_output=True, timeout=30,
                                env=shim_env(fault_shim, plan))
        assert result.returncode == 75, (call, error, result.stderr)
        assert not list((server.mail.maildir("alice") / "tmp").iterdir())
        drop.check(set(), may_have_removed=False)
    plan.clear()
    result = subprocess.run(command, input=message, capture_output=True, timeout=30,
                            env=shim_env(fault_shim, plan))
    assert result.returncode == 0, result.stderr
    assert sum(b"Subject: delivered" in c for c in drop.present()) == 1


@pytest.fixture
def small_tmpfs(tmp_path):
    mount_point = tmp_path / "small"
    mount_point.mkdir()
    result = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k,mode=0755", "tmpfs",
                             str(mount_point)], capture_output=True)
    if result.returncode != 0:
        pytest.skip("cannot mount a tmpfs here (needs root and CAP_SYS_ADMIN): " +
                    result.stderr.decode(errors="replace").strip())
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], check=False)


def fill(directory):
    """Fills the filesystem of `directory` up to the last byte."""
    fd = os.open(directory / "filler", os.O_WRONLY | os.O_CREAT, 0o644)
    try:
        while os.write(fd, b"\0" * 4096) > 0:
            pass
    except OSError:
        pass
    finally:
        os.close(fd)


def test_full_filesystem_neither_loses_mail_nor_stops_the_server(make_server, small_tmpfs):
    server = make_server(args=["--plaintext-auth", "loopback", "--mail",
                               str(small_tmpfs / "%u" / "Maildir")])
    server.mail.root = small_tmpfs
    drop = Maildrop(server, random.Random(SEED))
    drop.top_up(4)
    fill(small_tmpfs)
    server.start()
    # Delivery to a full disk: a temporary failure, and no partial message anywhere.
    deliver = subprocess.run([BIN, "deliver", "-d", "alice", "--passwd", str(server.passwd),
                              "--mail", str(small_tmpfs / "%u" / "Maildir")],
                             input=b"Subject: big\n\n" + b"y" * 65536 + b"\n",
                             capture_output=True, timeout=30)
    assert deliver.returncode == 75, deliver.stderr
    maildir = small_tmpfs / "alice" / "Maildir"
    assert not list((maildir / "tmp").iterdir())
    drop.check(set(), may_have_removed=False)
    # Reading and deleting still work on the full disk.
    ids = sorted(drop.originals.values())
    numbers = numbers_for(server, {ids[0]})
    c = server.raw()
    c.line()
    c.login()
    assert c.cmd("RETR 2").startswith(b"+OK")
    c.multiline()
    assert c.cmd(f"DELE {next(iter(numbers))}").startswith(b"+OK")
    assert c.cmd("QUIT").startswith(b"+OK")
    assert drop.check({ids[0]}, may_have_removed=True) == {ids[0]}
    (small_tmpfs / "filler").unlink()
    deliver = subprocess.run([BIN, "deliver", "-d", "alice", "--passwd", str(server.passwd),
                              "--mail", str(small_tmpfs / "%u" / "Maildir")],
                             input=b"Subject: fits now\n\nsmall\n", capture_output=True,
                             timeout=30)
    assert deliver.returncode == 0, deliver.stderr
    server.stop()


def test_sigkill_at_random_points_never_loses_or_duplicates(make_server, fault_shim, tmp_path):
    rng = random.Random(SEED)
    # Each unlink takes 3 ms, so that kills shortly after QUIT land inside UPDATE.
    plan = FaultPlan(tmp_path / "fault-plan")
    plan.fail("unlinkat", 0, 0, delay_us=3000)
    env = shim_env(fault_shim, plan)
    server = make_server(args=["--plaintext-auth", "loopback"])
    drop = Maildrop(server, rng)
    killed_in_update = 0
    started = time.monotonic()
    for iteration in range(KILL_ITERATIONS):
        drop.top_up()
        server = make_server(args=["--plaintext-auth", "loopback"], env=env)
        server.mail = drop.server.mail
        server.start()
        # Map numbers to ids before the session, with the mailbox the session will see.
        kill_after_quit = rng.random() < 0.5
        delay = rng.uniform(0, 0.03) if kill_after_quit else rng.uniform(0, 0.08)
        numbers_to_ids = {}
        c = server.raw()
        c.line()
        c.login()
        count = int(c.cmd("STAT").split()[1])
        for number in range(1, count + 1):
            assert c.cmd(f"TOP {number} 0").startswith(b"+OK")
            header = c.multiline().split(b"\r\n", 1)[0]
            numbers_to_ids[number] = int(header.split(b"<")[1].split(b"@")[0])
        c.cmd("QUIT")  # nothing deleted: releases the maildrop
        c.close()
        marked, quit_sent, reply = session_until_killed(server, rng, delay, kill_after_quit)
        if server.proc.poll() is None:
            server.proc.send_signal(signal.SIGKILL)
        server.proc.wait(timeout=10)
        deleted_ids = {numbers_to_ids[n] for n in marked}
        missing = drop.check(deleted_ids, may_have_removed=quit_sent)
        if reply is not None and reply.startswith(b"+OK"):
            assert missing == deleted_ids, (reply, missing, deleted_ids)
        if quit_sent and reply is None and missing and missing != deleted_ids:
            killed_in_update += 1
        assert time.monotonic() - started < 240, f"only {iteration} iterations in 4 minutes"
    # The survivors are served intact by a fresh server.
    server = make_server(args=["--plaintext-auth", "loopback"])
    server.mail = drop.server.mail
    server.start()
    c = server.raw()
    c.line()
    c.login()
    count = int(c.cmd("STAT").split()[1])
    served = []
    for number in range(1, count + 1):
        assert c.cmd(f"RETR {number}").startswith(b"+OK")
        served.append(c.multiline())
    expected = sorted(crlf(content).replace(b"\r\n.", b"\r\n..") for content in drop.present())
    assert sorted(b"\r\n" + body for body in served) == sorted(b"\r\n" + e for e in expected)
    print(f"{KILL_ITERATIONS} kills, {killed_in_update} of them caught UPDATE half way")


# --- a Maildir changed behind the server's back ---------------------------------------------------


def test_maildir_changed_behind_the_servers_back(make_server):
    server = make_server(args=["--plaintext-auth", "loopback"])
    drop = Maildrop(server, random.Random(SEED))
    drop.top_up(4)
    server.start()
    c = server.raw()
    c.line()
    c.login()
    assert c.cmd("STAT").startswith(b"+OK 4 ")
    by_id = {}  # where the files are now that the session moved new/ to cur/
    for path in server.mail.files("alice"):
        by_id[drop.originals[path.read_bytes()]] = path
    # numbers are assigned in the server's order; learn it from the Message-Ids.
    numbers = {}
    for number in range(1, 5):
        c.cmd(f"TOP {number} 0")
        numbers[int(c.multiline().split(b"<")[1].split(b"@")[0])] = number
    gone, renamed, kept, untouched = sorted(numbers)
    # Another MUA deletes one message and changes the flags of another; new mail arrives.
    by_id[gone].unlink()
    flagged = by_id[renamed]
    if flagged.parent.name == "new":
        target = flagged.parent.parent / "cur" / (flagged.name + ":2,RS")
    else:
        target = flagged.with_name(flagged.name.split(":")[0] + ":2,RS")
    flagged.rename(target)
    late = b"Message-Id: <999@faults.test>\n\nlate mail\n"
    server.mail.add("alice", late, folder="new", name="1800000000.M999P1.faults")

    assert c.cmd(f"RETR {numbers[gone]}") == b"-ERR Message no longer exists."
    assert c.cmd(f"TOP {numbers[gone]} 0") == b"-ERR Message no longer exists."
    assert c.cmd(f"RETR {numbers[renamed]}").startswith(b"+OK")
    assert b"<%d@faults.test>" % renamed in c.multiline()
    assert c.cmd("STAT").startswith(b"+OK 4 ")  # the session's snapshot
    assert c.cmd(f"DELE {numbers[gone]}").startswith(b"+OK")
    assert c.cmd(f"DELE {numbers[renamed]}").startswith(b"+OK")
    assert c.cmd("QUIT").startswith(b"+OK")
    remaining = {p.read_bytes() for p in server.mail.files("alice")}
    assert late in remaining
    assert {drop.originals.get(content) for content in remaining - {late}} == {kept, untouched}
    # The next session sees the late message.
    c = server.raw()
    c.line()
    c.login()
    assert c.cmd("STAT").startswith(b"+OK 3 ")
    assert server.proc.poll() is None
