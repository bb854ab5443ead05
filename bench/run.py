#!/usr/bin/python3
"""Reproduces the mailport vs Dovecot POP3 comparison (docs/benchmarks.md).

    /usr/bin/python3 bench/run.py              # full run: builds, fixtures, every scenario
    /usr/bin/python3 bench/run.py --smoke      # seconds-long check that everything still works
    /usr/bin/python3 bench/run.py --only login,retr --reps 5

It builds mailport and mailport-bench into build-bench/, generates users (SHA512-CRYPT and
ARGON2ID hashes from `doveadm pw`, one passwd file for both servers) and Maildirs (one copy per
server, Dovecot's chowned to the mail user), starts mailport and an isolated Dovecot on loopback,
runs each scenario several times alternating the two servers, prints medians, spread and the
mailport/Dovecot ratio, and writes every raw result to OUT/results.jsonl and the table to
OUT/table.md. Everything runs on 127.0.0.1, every run is bounded in count and time.
"""

import argparse
import datetime
import json
import os
import pathlib
import platform
import pwd
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from tests.support import dovecot as dovecot_support  # noqa: E402

PASSWORD = "bench-secret-1"
ARGON_PASSWORD = "bench-argon-1"
HOST = "127.0.0.1"

# Dovecot as its documentation recommends for performance (on top of DovecotServer's
# performance=True: login processes with service_count = 0, raised process/client limits),
# plus what a like-for-like comparison needs: no per-login info log (mailport runs at warn),
# no \Seen flag renames on RETR (mailport keeps no flags), room for 10,000 idle connections.
DOVECOT_TUNING = """
info_log_path = /dev/null
default_vsz_limit = 1G
pop3_no_flag_updates = yes
mail_max_userip_connections = 100000
auth_cache_size = 0
service auth {
  client_limit = 50000
}
service anvil {
  client_limit = 50000
}
"""

# The load generator is one address opening thousands of connections: exempt loopback from the
# per-address caps and penalties, and allow more connections than the largest idle case.
MAILPORT_TUNING = """
[auth]
trusted_networks = ["127.0.0.0/8"]
credential_cache_ttl = {cache_ttl}

[limits]
max_connections = 50000
max_connections_per_ip = 50000
"""


def log(text):
    print(text, file=sys.stderr, flush=True)


def free_port():
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def wait_greeting(port, timeout=20.0, tls=False):
    """True once the port greets with +OK (or, for TLS, accepts a connection)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((HOST, port), timeout=2) as s:
                if tls or s.recv(64).startswith(b"+OK"):
                    return True
        except OSError:
            time.sleep(0.05)
    return False


def raise_fd_limit():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return hard


# ---------------------------------------------------------------------------------------------
# /proc measurements

def stop_process(proc, timeout=20):
    """SIGTERM, then SIGKILL if it has not exited within `timeout` seconds."""
    if proc and proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def process_tree(root_pid):
    """root_pid and all its descendants."""
    children = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            children.setdefault(int(fields[1]), []).append(int(entry))
        except OSError:
            continue
    tree, to_visit = [], [root_pid]
    while to_visit:
        pid = to_visit.pop()
        tree.append(pid)
        to_visit.extend(children.get(pid, []))
    return tree


def cpu_seconds(pids):
    """utime+stime of live processes plus what they reaped (cutime+cstime), in seconds."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += sum(int(x) for x in fields[11:15])
        except OSError:
            continue
    return total / ticks


def memory_kb(pids):
    """Summed Rss and Pss (kB) of pids from smaps_rollup."""
    rss = pss = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/smaps_rollup") as f:
                for line in f:
                    if line.startswith("Rss:"):
                        rss += int(line.split()[1])
                    elif line.startswith("Pss:"):
                        pss += int(line.split()[1])
        except OSError:
            continue
    return rss, pss


def descriptors(pids):
    """Open file descriptors of pids, summed."""
    total = 0
    for pid in pids:
        try:
            total += len(os.listdir(f"/proc/{pid}/fd"))
        except OSError:
            continue
    return total


def mem_available_kb():
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemAvailable:"):
                return int(line.split()[1])
    return 0


def drop_page_cache():
    """True if the kernel accepted the request (not permitted in every container)."""
    try:
        with open("/proc/sys/vm/drop_caches", "w") as f:
            f.write("3\n")
        return True
    except OSError:
        return False


def load_average():
    return os.getloadavg()


# ---------------------------------------------------------------------------------------------
# Fixtures

def make_certificate(directory):
    key, cert = directory / "server.key", directory / "server.pem"
    if not cert.exists():
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                        "ec_paramgen_curve:P-256", "-nodes", "-keyout", key, "-out", cert,
                        "-days", "30", "-subj", "/CN=localhost",
                        "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"],
                       check=True, capture_output=True)
    return cert, key


def doveadm_hash(scheme, password):
    out = subprocess.run(["doveadm", "pw", "-s", scheme, "-p", password], check=True,
                         capture_output=True, text=True).stdout.strip()
    assert out.startswith("{" + scheme + "}"), out
    return out


LINE = "The quick brown fox jumps over the lazy dog; pack my box with five dozen jugs.\n"


def message_text(serial, size, user):
    head = (f"From: sender{serial % 89}@example.org\nTo: {user}@example.org\n"
            f"Subject: benchmark message {serial}\nMessage-ID: <{serial}.{user}@bench>\n"
            f"Date: Mon, 1 Jan 2024 00:00:00 +0000\n\n")
    body = [head, ".this line is dot-stuffed on the wire\n"]
    length = len(head) + len(body[1])
    n = 0
    while length < size:
        line = f"{n:06d} {LINE}" if n % 50 else "..double dot line\n"
        body.append(line)
        length += len(line)
        n += 1
    return "".join(body).encode()


def write_message(maildir, serial, data, with_sizes):
    wire = len(data) + data.count(b"\n")
    name = f"{1700000000 + serial}.M{serial}P4242.benchhost"
    if with_sizes:
        name += f",S={len(data)},W={wire}"
    (maildir / "cur" / (name + ":2,S")).write_bytes(data)


def make_maildir(root, user):
    maildir = root / user / "Maildir"
    for sub in ("cur", "new", "tmp"):
        (maildir / sub).mkdir(parents=True, exist_ok=True)
    return maildir


class Plan:
    """Sizes of everything; --smoke shrinks it to seconds."""

    def __init__(self, smoke):
        self.smoke = smoke
        self.users = 64 if smoke else 10000           # SHA512-CRYPT accounts u00000...
        self.active_users = 32 if smoke else 256      # login/mixed accounts with 10 messages
        self.retr_users = 2 if smoke else 8
        self.retr_sizes = ([3000, 40000, 150000] if smoke else
                           [20000 + (i * 97331) % 980000 for i in range(24)])
        self.argon_users = 4
        self.bigbox = 1000 if smoke else 100000
        self.duration = 0.5 if smoke else 8.0
        self.warmup = 0.2 if smoke else 2.0
        self.settle = 0.2 if smoke else 2.0  # idle: pause before each memory reading
        self.login_clients = 8 if smoke else 32
        self.retr_clients = self.retr_users
        self.mixed_clients = 8 if smoke else 32
        self.idle_sizes = [30] if smoke else [1000, 10000]
        self.bigbox_warm = 2 if smoke else 5


def build_fixtures(work, plan):
    """Generates once per work dir (a stamp file records the plan)."""
    stamp = work / "fixtures.json"
    wanted = {"users": plan.users, "bigbox": plan.bigbox, "retr": plan.retr_sizes,
              "active": plan.active_users, "version": 3}
    if stamp.exists() and json.loads(stamp.read_text()) == wanted:
        return json.loads((work / "accounts.json").read_text())
    log(f"==> generating fixtures in {work}")
    for d in ("master", "mailport-mail", "dovecot-mail", "dovecot"):
        shutil.rmtree(work / d, ignore_errors=True)
    master = work / "master"
    sha = doveadm_hash("SHA512-CRYPT", PASSWORD)
    argon = doveadm_hash("ARGON2ID", ARGON_PASSWORD)
    accounts = {"sha": [f"u{i:05d}" for i in range(plan.users)],
                "retr": [f"r{i}" for i in range(plan.retr_users)],
                "argon": [f"a{i}" for i in range(plan.argon_users)],
                "big": ["big", "bigraw"]}
    hashes = {u: sha for group in ("sha", "retr", "big") for u in accounts[group]}
    hashes.update({u: argon for u in accounts["argon"]})
    serial = 0
    for i, user in enumerate(accounts["sha"]):
        maildir = make_maildir(master, user)
        count = 10 if i < plan.active_users else 1
        for k in range(count):
            serial += 1
            write_message(maildir, serial, message_text(serial, 1000 + (serial * 377) % 5000,
                                                       user), True)
    for user in accounts["retr"] + accounts["argon"]:
        maildir = make_maildir(master, user)
        sizes = plan.retr_sizes if user.startswith("r") else [2000]
        for size in sizes:
            serial += 1
            write_message(maildir, serial, message_text(serial, size, user), True)
    for user, with_sizes in (("big", True), ("bigraw", False)):
        maildir = make_maildir(master, user)
        for k in range(plan.bigbox):
            serial += 1
            write_message(maildir, serial, message_text(serial, 400 + (k * 131) % 900, user),
                          with_sizes)
    (work / "passwd").write_text("".join(f"{u}:{h}\n" for u, h in hashes.items()))
    for group, users in accounts.items():
        password = ARGON_PASSWORD if group == "argon" else PASSWORD
        (work / f"users-{group}.txt").write_text("".join(f"{u}:{password}\n" for u in users))
    for copy in ("mailport-mail", "dovecot-mail"):
        subprocess.run(["cp", "-a", str(master), str(work / copy)], check=True)
    (work / "accounts.json").write_text(json.dumps(accounts))
    stamp.write_text(json.dumps(wanted))
    return accounts


def fresh_box(work, copy, user):
    """Replaces one user's Maildir in a server's copy by the pristine master (no caches)."""
    target = work / copy / user
    subprocess.run(["rm", "-rf", str(target)], check=True)
    subprocess.run(["cp", "-a", str(work / "master" / user), str(target)], check=True)


# ---------------------------------------------------------------------------------------------
# Servers

class Mailport:
    name = "mailport"

    def __init__(self, work, binary, cert, key):
        self.work, self.binary, self.cert, self.key = work, binary, cert, key
        self.mail_root = work / "mailport-mail"
        self.proc = None
        self.mail_owner = None

    def start(self, credential_cache=False):
        self.pop3_port, self.pop3s_port = free_port(), free_port()
        self.log = open(self.work / "mailport.log", "ab")
        config = self.work / "mailport.toml"
        config.write_text(MAILPORT_TUNING.format(cache_ttl=300 if credential_cache else 0))
        self.proc = subprocess.Popen(
            [str(self.binary), "serve", "--config", str(config),
             "--pop3", f"{HOST}:{self.pop3_port}",
             "--pop3s", f"{HOST}:{self.pop3s_port}", "--cert", str(self.cert),
             "--key", str(self.key), "--passwd", str(self.work / "passwd"),
             "--mail", str(self.mail_root / "%u" / "Maildir"), "--failure-delay", "0s",
             "--plaintext-auth", "loopback", "--log-level", "warn"],
            stdin=subprocess.DEVNULL, stdout=self.log, stderr=self.log)
        if not wait_greeting(self.pop3_port) or not wait_greeting(self.pop3s_port, tls=True):
            self.stop()
            raise RuntimeError("mailport did not start; see " + str(self.work / "mailport.log"))
        return self

    def pids(self):
        return process_tree(self.proc.pid)

    def stop(self):
        stop_process(self.proc)
        self.proc = None


class Dovecot:
    name = "dovecot"

    def __init__(self, work, cert, key):
        users = {}
        for line in (work / "passwd").read_text().splitlines():
            user, hashed = line.split(":", 1)
            users[user] = hashed
        self.mail_root = work / "dovecot-mail"
        self.server = dovecot_support.DovecotServer(
            work / "dovecot", users=users, cert=cert, key=key, plaintext_auth=True,
            extra_config=DOVECOT_TUNING, mail_root=self.mail_root, performance=True)
        mail = pwd.getpwnam("mail")
        self.mail_owner = (mail.pw_uid, mail.pw_gid)

    def start(self):
        (self.server.dir).mkdir(parents=True, exist_ok=True)
        self.server.pop3_port = free_port()
        self.server.pop3s_port = free_port()
        self.server.start(timeout=60)
        self.pop3_port, self.pop3s_port = self.server.pop3_port, self.server.pop3s_port
        if not wait_greeting(self.pop3s_port, tls=True):
            raise RuntimeError("dovecot pop3s did not answer")
        return self

    def pids(self):
        master = self.server.master_pid()
        return process_tree(master) if master else []

    def stop(self):
        self.server.stop()


# ---------------------------------------------------------------------------------------------
# Running the load generator

class Runner:
    def __init__(self, args, plan, work, bench_bin, out):
        self.args, self.plan, self.work, self.bench_bin, self.out = args, plan, work, bench_bin, out
        self.results = []
        self.raw = open(out / "results.jsonl", "a")

    def record(self, server, case, rep, result):
        result.update({"server": server.name, "case": case, "rep": rep,
                       "loadavg": load_average()})
        self.results.append(result)
        self.raw.write(json.dumps(result) + "\n")
        self.raw.flush()
        errors = result.get("errors", 0)
        log(f"    {server.name:8s} {case:22s} rep {rep}: " + summarize(result) +
            (f"  ERRORS {errors} {result.get('error_kinds')}" if errors else ""))

    def bench_command(self, server, scenario, tls, users, clients, extra=()):
        port = server.pop3s_port if tls == "implicit" else server.pop3_port
        return [str(self.bench_bin), scenario, "--port", str(port), "--tls", tls,
                "--users", str(self.work / f"users-{users}.txt"), "--clients", str(clients),
                "--duration", str(self.plan.duration), "--warmup", str(self.plan.warmup),
                "--label", server.name, *map(str, extra)]

    def run_bench(self, server, command, timeout):
        pids = server.pids()
        cpu0, t0 = cpu_seconds(pids), time.monotonic()
        proc = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
        wall = time.monotonic() - t0
        cpu = cpu_seconds(server.pids()) - cpu0
        result = parse_result(proc)
        result["server_cpu_s"] = cpu
        result["server_cpu_cores"] = cpu / wall
        if result.get("sessions"):
            result["server_cpu_ms_per_session"] = 1000 * cpu / max(1, result["sessions"])
        if result.get("mb_per_s"):
            result["server_cpu_ms_per_mb"] = 1000 * result["server_cpu_cores"] / result["mb_per_s"]
        return result


def parse_result(proc):
    lines = [l for l in proc.stdout.splitlines() if l.startswith("{")]
    if not lines:
        return {"errors": 1, "error_kinds": {"bench-failed": 1},
                "error_samples": [proc.stderr[-500:]], "exit": proc.returncode}
    result = json.loads(lines[-1])
    result["exit"] = proc.returncode
    return result


def summarize(r):
    if r.get("scenario") == "idle":
        return (f"{r.get('server_pss_kb_per_conn', 0):8.1f} kB PSS/conn, "
                f"{r.get('memavail_kb_per_conn', 0):8.1f} kB MemAvailable/conn")
    if r.get("scenario") == "bigbox":
        return f"{r['latency_ms']['p50']:8.1f} ms (login {r['login_ms']['p50']:.1f})"
    return (f"{r.get('sessions_per_s', 0):8.1f} sess/s {r.get('mb_per_s', 0):8.1f} MB/s "
            f"p99 {r.get('latency_ms', {}).get('p99', 0):7.1f} ms, bench "
            f"{r.get('bench_cpu_cores', 0):.2f} cores, server "
            f"{r.get('server_cpu_cores', 0):.2f} cores")


# ---------------------------------------------------------------------------------------------
# Scenarios. Each takes a running server and one repetition index.

LOGIN_CASES = {
    # case: (tls, auth, extra flags)
    "login-plain": ("none", "user", []),
    "login-tls": ("implicit", "user", []),
    "login-stls-saslplain": ("stls", "plain", []),
    "login-tls-resume": ("implicit", "user", ["--tls-resume"]),
    # The same clients logging in again and again, as polling clients do: mailport with its
    # opt-in credential cache (auth.credential_cache_ttl), Dovecot as in login-tls.
    "login-tls-cached": ("implicit", "user", []),
}


def run_login(runner, server, rep, case):
    tls, auth, extra = LOGIN_CASES[case]
    cached = case == "login-tls-cached" and server.name == "mailport"
    if cached:
        server.stop()
        server.start(credential_cache=True)
    cmd = runner.bench_command(server, "login", tls, "sha", runner.plan.login_clients,
                               ["--auth", auth, "--max-users", runner.plan.active_users, *extra])
    try:
        runner.record(server, case, rep, runner.run_bench(server, cmd, 120))
    finally:
        if cached:
            server.stop()
            server.start()


def run_retr(runner, server, rep, case):
    tls = "implicit" if case == "retr-tls" else "none"
    cmd = runner.bench_command(server, "retr", tls, "retr", runner.plan.retr_clients)
    runner.record(server, case, rep, runner.run_bench(server, cmd, 120))


def run_mixed(runner, server, rep, case):
    extra = ["--max-users", runner.plan.active_users, "--dele-percent", 20,
             "--deliver", str(server.mail_root / "%u" / "Maildir"), "--deliver-rate", 100]
    if server.mail_owner:
        extra += ["--deliver-owner", f"{server.mail_owner[0]}:{server.mail_owner[1]}"]
    cmd = runner.bench_command(server, "mixed", "implicit", "sha", runner.plan.mixed_clients,
                               extra)
    runner.record(server, case, rep, runner.run_bench(server, cmd, 120))


def run_argon(runner, server, rep, case):
    """4 clients hammer ARGON2ID accounts while one SHA512-CRYPT client measures its latency."""
    hammer = runner.bench_command(server, "login", "implicit", "argon", 4,
                                  [])
    probe = runner.bench_command(server, "login", "implicit", "sha", 1,
                                 ["--max-users", runner.plan.active_users])
    pids = server.pids()
    cpu0, t0 = cpu_seconds(pids), time.monotonic()
    background = subprocess.Popen(hammer, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  text=True)
    probe_proc = subprocess.run(probe, capture_output=True, text=True, timeout=120)
    out, err = background.communicate(timeout=120)
    wall = time.monotonic() - t0
    result = parse_result(probe_proc)
    hammer_result = parse_result(subprocess.CompletedProcess(hammer, background.returncode,
                                                             out, err))
    result["argon_sessions_per_s"] = hammer_result.get("sessions_per_s", 0)
    result["errors"] = result.get("errors", 0) + hammer_result.get("errors", 0)
    for kind, count in hammer_result.get("error_kinds", {}).items():
        result.setdefault("error_kinds", {})[f"argon:{kind}"] = count
    result["server_cpu_cores"] = (cpu_seconds(server.pids()) - cpu0) / wall
    runner.record(server, case, rep, result)


def run_idle(runner, server, rep, case):
    """Fresh server, baseline, N held connections, measure, release."""
    tls = "implicit" if "tls" in case else "none"
    n = int(case.rsplit("-", 1)[1])
    server.stop()
    server.start()
    time.sleep(runner.plan.settle)
    pids = server.pids()
    rss0, pss0 = memory_kb(pids)
    fds0 = descriptors(pids)
    avail0 = mem_available_kb()
    cmd = runner.bench_command(server, "idle", tls, "sha", 64 if n > 100 else 8,
                               ["--connections", n, "--hold-until-stdin", "--timeout", 120])
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    ready = proc.stdout.readline()
    time.sleep(runner.plan.settle)
    pids = server.pids()
    rss1, pss1 = memory_kb(pids)
    fds1 = descriptors(pids)
    avail1 = mem_available_kb()
    bench_rss, bench_pss = memory_kb([proc.pid])
    processes = len(pids)
    proc.stdin.write("\n")
    proc.stdin.flush()
    out, err = proc.communicate(timeout=300)
    result = parse_result(subprocess.CompletedProcess(cmd, proc.returncode, ready + out, err))
    result.update({
        "connections": n, "server_processes": processes,
        "server_rss_kb": rss1, "server_pss_kb": pss1,
        "server_rss_kb_per_conn": (rss1 - rss0) / n, "server_pss_kb_per_conn": (pss1 - pss0) / n,
        "memavail_drop_kb": avail0 - avail1, "bench_pss_kb": bench_pss,
        "server_fds_per_conn": (fds1 - fds0) / n,
        # MemAvailable counts both ends' socket buffers; the load generator's own memory is
        # taken out so what remains is the server plus the kernel.
        "memavail_kb_per_conn": (avail0 - avail1 - bench_pss) / n,
    })
    if result.get("held", 0) != n:
        result["errors"] = result.get("errors", 0) + n - result.get("held", 0)
    runner.record(server, case, rep, result)


def run_bigbox(runner, server, rep, case):
    """first: never-seen Maildir; cold: restart + page cache dropped; warm: repeated."""
    user = "big" if case == "bigbox-sizes" else "bigraw"
    copy = "mailport-mail" if server.name == "mailport" else "dovecot-mail"
    server.stop()
    fresh_box(runner.work, copy, user)
    server.start()  # Dovecot's start chowns the fresh copy
    measurements = {}
    for phase, iterations in (("first", 1), ("cold", 1), ("warm", runner.plan.bigbox_warm)):
        if phase == "cold":
            server.stop()
            server.start()
        dropped = drop_page_cache() if phase in ("first", "cold") else False
        cmd = [str(runner.bench_bin), "bigbox", "--port", str(server.pop3_port), "--user", user,
               "--password", PASSWORD, "--iterations", str(iterations), "--expect-messages",
               str(runner.plan.bigbox), "--timeout", "120", "--label", server.name]
        result = runner.run_bench(server, cmd, 600)
        result["cache_dropped"] = dropped
        measurements[phase] = result
    total = dict(measurements["warm"])
    total["errors"] = sum(m.get("errors", 0) for m in measurements.values())
    for phase, m in measurements.items():
        total[f"{phase}_ms"] = m["latency_ms"]["p50"]
        total[f"{phase}_login_uidl_ms"] = m["login_ms"]["p50"] + m["uidl_ms"]["p50"]
        total[f"{phase}_cache_dropped"] = m.get("cache_dropped", False)
        kinds = m.get("error_kinds", {})
        for kind, count in kinds.items():
            total.setdefault("error_kinds", {})[f"{phase}:{kind}"] = count
    runner.record(server, case, rep, total)


CASES = {
    "login": [(c, run_login) for c in LOGIN_CASES],
    "argon": [("login-argon-mix", run_argon)],
    "retr": [("retr-plain", run_retr), ("retr-tls", run_retr)],
    "mixed": [("mixed-tls", run_mixed)],
    "idle": [],  # filled from the plan
    "bigbox": [("bigbox-sizes", run_bigbox), ("bigbox-nosizes", run_bigbox)],
}


# ---------------------------------------------------------------------------------------------
# The table

METRICS = [
    # (case prefix, label, key, higher is better)
    ("login-", "sessions/s", "sessions_per_s", True),
    ("login-", "p99 ms", ("latency_ms", "p99"), False),
    ("login-", "server CPU ms/session", "server_cpu_ms_per_session", False),
    ("login-tls-resume", "resumed sessions", "resumed", True),
    ("login-argon-mix", "SHA p99 ms", ("latency_ms", "p99"), False),
    ("login-argon-mix", "ARGON2ID sessions/s", "argon_sessions_per_s", True),
    ("retr-", "MB/s", "mb_per_s", True),
    ("retr-", "msgs/s", "msgs_per_s", True),
    ("retr-", "server CPU cores", "server_cpu_cores", False),
    ("retr-", "server CPU ms/MB", "server_cpu_ms_per_mb", False),
    ("mixed-", "sessions/s", "sessions_per_s", True),
    ("mixed-", "MB/s", "mb_per_s", True),
    ("mixed-", "p99 ms", ("latency_ms", "p99"), False),
    ("idle-", "server PSS kB/conn", "server_pss_kb_per_conn", False),
    ("idle-", "server RSS kB/conn", "server_rss_kb_per_conn", False),
    ("idle-", "MemAvailable kB/conn", "memavail_kb_per_conn", False),
    ("idle-", "server PSS total MB", "server_pss_kb", False),
    ("idle-", "server fds/conn", "server_fds_per_conn", False),
    ("bigbox-", "first ms", "first_ms", False),
    ("bigbox-", "cold ms", "cold_ms", False),
    ("bigbox-", "warm ms", "warm_ms", False),
    ("bigbox-", "warm login+UIDL ms", "warm_login_uidl_ms", False),
]
SKIP_ROWS = {("login-argon-mix", "sessions/s"), ("login-argon-mix", "p99 ms"),
             ("login-argon-mix", "server CPU ms/session")}


def value(result, key):
    v = result[key[0]][key[1]] if isinstance(key, tuple) else result.get(key)
    if key == "server_pss_kb" and v is not None:
        v = v / 1024
    return v


def fmt_stats(values):
    if not values:
        return "—"
    med = statistics.median(values)
    spread = f" ({min(values):.4g}–{max(values):.4g})" if len(values) > 1 else ""
    return f"{med:.4g}{spread}"


def table(results):
    cases = list(dict.fromkeys(r["case"] for r in results))
    rows = ["| case | metric | mailport median (min–max) | Dovecot median (min–max) | "
            "mailport/Dovecot | errors (mp/dc) |", "|---|---|---|---|---|---|"]
    for case in cases:
        of = {s: [r for r in results if r["case"] == case and r["server"] == s]
              for s in ("mailport", "dovecot")}
        errors = "/".join(str(sum(r.get("errors", 0) for r in of[s]))
                          for s in ("mailport", "dovecot"))
        for prefix, label, key, higher in METRICS:
            if not case.startswith(prefix) or (case, label) in SKIP_ROWS:
                continue
            vals = {s: [v for v in (value(r, key) for r in of[s]) if v is not None]
                    for s in of}
            if not vals["mailport"] and not vals["dovecot"]:
                continue
            ratio = "—"
            if vals["mailport"] and vals["dovecot"] and statistics.median(vals["dovecot"]):
                quotient = (statistics.median(vals["mailport"]) /
                            statistics.median(vals["dovecot"]))
                ratio = f"{quotient:.3g}×"
            rows.append(f"| {case} | {label} | {fmt_stats(vals['mailport'])} | "
                        f"{fmt_stats(vals['dovecot'])} | {ratio} | {errors} |")
    return "\n".join(rows)


def machine_info():
    cpu = "unknown"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    dovecot_version = subprocess.run(["dovecot", "--version"], capture_output=True,
                                     text=True).stdout.strip()
    return {"cpu": cpu, "cores": os.cpu_count(), "kernel": platform.release(),
            "memory_kb": int(open("/proc/meminfo").readline().split()[1]),
            "dovecot": dovecot_version, "loadavg_start": load_average(),
            "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")}


# ---------------------------------------------------------------------------------------------

def build(build_dir):
    log(f"==> building mailport and mailport-bench in {build_dir}")
    subprocess.run(["cmake", "-S", str(ROOT), "-B", str(build_dir), "-G", "Ninja",
                    "-DCMAKE_BUILD_TYPE=RelWithDebInfo"], check=True, stdout=subprocess.DEVNULL)
    subprocess.run(["ninja", "-C", str(build_dir), "-j2", "mailport", "mailport-bench"],
                   check=True, stdout=subprocess.DEVNULL)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--smoke", action="store_true", help="tiny fixtures, 1 s runs, 1 rep")
    parser.add_argument("--reps", type=int, help="repetitions per server (default 3)")
    parser.add_argument("--only", help="comma list of groups (" + ",".join(CASES) +
                        ") or single cases (e.g. bigbox-sizes, idle-tls-1000)")
    parser.add_argument("--servers", default="mailport,dovecot")
    parser.add_argument("--build-dir", default=str(ROOT / "build-bench"))
    parser.add_argument("--skip-build", action="store_true")
    parser.add_argument("--workdir", help="fixtures (default: BUILD/bench-work[-smoke])")
    parser.add_argument("--out", help="results directory (default: BUILD/bench-results/DATE)")
    parser.add_argument("--idle", help="comma list of idle connection counts")
    parser.add_argument("--duration", type=float,
                        help="seconds measured per run (default 8; warm-up is a quarter)")
    parser.add_argument("--mailport-bin", help="default: BUILD/src/cli/mailport")
    parser.add_argument("--bench-bin", help="default: BUILD/bench/mailport-bench")
    args = parser.parse_args()

    plan = Plan(args.smoke)
    if args.idle:
        plan.idle_sizes = [int(x) for x in args.idle.split(",")]
    if args.duration:
        plan.duration, plan.warmup = args.duration, args.duration / 4
    reps = args.reps or (1 if args.smoke else 3)
    build_dir = pathlib.Path(args.build_dir).resolve()
    if not args.skip_build:
        build(build_dir)
    work = pathlib.Path(args.workdir or build_dir / ("bench-work-smoke" if args.smoke
                                                     else "bench-work")).resolve()
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    out = pathlib.Path(args.out or build_dir / "bench-results" / stamp).resolve()
    work.mkdir(parents=True, exist_ok=True)
    out.mkdir(parents=True, exist_ok=True)
    fd_limit = raise_fd_limit()
    # An idle mailport session holds two descriptors (its socket and its maildrop lock); the
    # hard limit caps the server (and the load generator), and only root may raise it.
    held = [n for n in plan.idle_sizes if 2 * n + 64 <= fd_limit]
    for n in sorted(set(plan.idle_sizes) - set(held)):
        log(f"==> idle {n} skipped: needs {2 * n + 64} descriptors, hard limit is {fd_limit}")
    plan.idle_sizes = held

    build_fixtures(work, plan)
    cert, key = make_certificate(work)
    info = machine_info()
    info["command"] = " ".join(["/usr/bin/python3", "bench/run.py", *sys.argv[1:]])
    info["plan"] = {k: v for k, v in vars(plan).items() if k != "retr_sizes"}
    (out / "machine.json").write_text(json.dumps(info, indent=1))
    log(f"==> {info['cpu']}, {info['cores']} cores, load {info['loadavg_start']}")

    servers = []
    names = args.servers.split(",")
    if "mailport" in names:
        binary = pathlib.Path(args.mailport_bin or build_dir / "src/cli/mailport").resolve()
        servers.append(Mailport(work, binary, cert, key))
    if "dovecot" in names:
        if dovecot_support.available():
            servers.append(Dovecot(work, cert, key))
        else:
            log("==> dovecot is not installed: running mailport alone")
    CASES["idle"] = [(f"idle-{t}-{n}", run_idle) for n in plan.idle_sizes
                     for t in ("plain", "tls")]
    groups = args.only.split(",") if args.only else list(CASES)
    bench_bin = pathlib.Path(args.bench_bin or build_dir / "bench/mailport-bench").resolve()
    runner = Runner(args, plan, work, bench_bin, out)
    try:
        for server in servers:
            server.start()
        # A name in --only is a group ("retr") or one case of a group ("bigbox-sizes").
        selected = [(c, f) for g in groups for c, f in CASES.get(g, [])] + [
            (c, f) for cases in CASES.values() for c, f in cases if c in groups]
        unknown = [g for g in groups if g not in CASES and g not in {c for c, _ in selected}]
        if unknown:
            raise SystemExit(f"--only: unknown group or case {', '.join(unknown)}")
        for case, function in selected:
            log(f"==> {case}")
            # Thousands of idle connections take minutes to set up: one repetition.
            big_idle = case.startswith("idle-") and int(case.rsplit("-", 1)[1]) >= 5000
            for rep in range(1 if big_idle else reps):
                order = servers if rep % 2 == 0 else list(reversed(servers))
                for server in order:
                    function(runner, server, rep, case)
    finally:
        for server in servers:
            server.stop()
    info["loadavg_end"] = load_average()
    (out / "machine.json").write_text(json.dumps(info, indent=1))
    text = table(runner.results)
    (out / "table.md").write_text(text + "\n")
    print(text)
    log(f"==> raw results: {out / 'results.jsonl'}")
    total_errors = sum(r.get("errors", 0) for r in runner.results)
    log(f"==> errors: {total_errors}")
    return 1 if total_errors else 0


if __name__ == "__main__":
    sys.exit(main())
