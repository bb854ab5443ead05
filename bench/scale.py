#!/usr/bin/python3
"""Scale-out benchmark (docs/scaling.md): sessions/s and RETR MB/s of 1, 2 and 3 mailport
instances behind HAProxy, on PostgreSQL (users and mail) beside Maildir (one root shared by the
instances), plus one instance without HAProxy for each backend.

    /usr/bin/python3 bench/scale.py                  # full run (~8 minutes)
    /usr/bin/python3 bench/scale.py --smoke          # seconds-long check that it all still works
    /usr/bin/python3 bench/scale.py --reps 5 --only pg-1,pg-3-haproxy

It builds mailport and mailport-bench into build-bench/ (as bench/run.py does), generates users
(SHA512-CRYPT) and Maildirs, starts a throwaway PostgreSQL (tests/support/postgres.py) and copies
the same users and mail into it with `mailport migrate`, then for every repetition starts each
topology in turn (alternating the order), runs the `login` (implicit TLS, USER/PASS, STAT, QUIT)
and `retr` (implicit TLS, RETR of every message) scenarios of mailport-bench against it, and
stops it. It prints medians and spread, with the CPU time of mailport, HAProxy and PostgreSQL per
session and per MB, and writes raw results to OUT/results.jsonl and the table to OUT/table.md.
Everything runs on loopback and every run is bounded in count and time.
"""

import argparse
import datetime
import json
import os
import pathlib
import shutil
import socket
import statistics
import subprocess
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "bench"))
import run as single  # noqa: E402  (bench/run.py: fixtures, build and /proc helpers)
from support import haproxy as haproxy_support  # noqa: E402
from support import postgres as postgres_support  # noqa: E402

HOST = "127.0.0.1"
PROBE_SOURCE = "127.0.0.2"  # not the trusted proxy: served without a PROXY header
PASSWORD = single.PASSWORD

# The load generator is one address: exempt loopback from caps and penalties, as run.py does.
TUNING = """
[auth]
trusted_networks = ["127.0.0.0/8"]

[limits]
max_connections = 50000
max_connections_per_ip = 50000
"""


def log(text):
    print(text, file=sys.stderr, flush=True)


class Plan:
    def __init__(self, smoke):
        self.smoke = smoke
        self.login_users = 16 if smoke else 64
        self.retr_users = 2 if smoke else 8
        self.retr_sizes = ([3000, 40000, 300000] if smoke else
                           [20000 + (i * 97331) % 980000 for i in range(24)])
        self.duration = 0.5 if smoke else 5.0
        self.warmup = 0.2 if smoke else 1.0
        self.login_clients = 4 if smoke else 32
        self.retr_clients = self.retr_users


# (name, backend, instances, behind HAProxy)
TOPOLOGIES = [(f"{backend}-{n}{'-haproxy' if proxied else ''}", backend, n, proxied)
              for backend in ("maildir", "pg")
              for n, proxied in ((1, False), (1, True), (2, True), (3, True))]
SMOKE_TOPOLOGIES = ["maildir-1", "pg-2-haproxy"]


def build_fixtures(work, plan):
    """Maildirs and a passwd file, generated afresh for every run (they are small)."""
    for name in ("mail", "passwd", "users-login.txt", "users-retr.txt"):
        path = work / name
        shutil.rmtree(path) if path.is_dir() else path.unlink(missing_ok=True)
    sha = single.doveadm_hash("SHA512-CRYPT", PASSWORD)
    login_users = [f"u{i:03d}" for i in range(plan.login_users)]
    retr_users = [f"r{i}" for i in range(plan.retr_users)]
    serial = 0
    for user in login_users:
        maildir = single.make_maildir(work / "mail", user)
        for _ in range(10):
            serial += 1
            single.write_message(maildir, serial, single.message_text(
                serial, 1000 + (serial * 377) % 5000, user), True)
    for user in retr_users:
        maildir = single.make_maildir(work / "mail", user)
        for size in plan.retr_sizes:
            serial += 1
            single.write_message(maildir, serial, single.message_text(serial, size, user), True)
    users = login_users + retr_users
    (work / "passwd").write_text("".join(f"{u}:{sha}\n" for u in users))
    (work / "users-login.txt").write_text("".join(f"{u}:{PASSWORD}\n" for u in login_users))
    (work / "users-retr.txt").write_text("".join(f"{u}:{PASSWORD}\n" for u in retr_users))
    return users, sha


def load_postgres(binary, database, work, users, sha):
    """The same users and mail in PostgreSQL, UIDLs included (mailport migrate)."""
    spec = "postgres:" + database.conninfo
    copied = subprocess.run([str(binary), "migrate", "--from",
                             "maildir:" + str(work / "mail" / "%u" / "Maildir"), "--to", spec,
                             "--passwd", str(work / "passwd")],
                            capture_output=True, text=True, timeout=600)
    if copied.returncode != 0:
        raise RuntimeError("mailport migrate failed: " + copied.stderr)
    values = ",".join(f"('{u}', '{sha}')" for u in users)
    database.sql(f"INSERT INTO users (login, password) VALUES {values}")
    database.sql("VACUUM ANALYZE")
    return spec


class Database:
    def __init__(self, cluster, name):
        self.cluster, self.name = cluster, name
        self.conninfo = cluster.conninfo(name)

    def sql(self, query):
        return self.cluster.psql(query, self.name)

    def pids(self):
        pid_file = self.cluster.data / "postmaster.pid"
        return single.process_tree(int(pid_file.read_text().split()[0]))


def wait_served(port, timeout=20.0):
    """The instance greets a client that is not the trusted proxy."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((HOST, port), timeout=2,
                                          source_address=(PROBE_SOURCE, 0)) as s:
                if s.recv(64).startswith(b"+OK"):
                    return True
        except OSError:
            time.sleep(0.05)
    return False


class Instance:
    def __init__(self, work, binary, cert, key, index, store, passdb, proxied):
        self.work, self.binary, self.cert, self.key = work, binary, cert, key
        self.index, self.store, self.passdb, self.proxied = index, store, passdb, proxied
        self.proc = None

    def start(self):
        self.pop3_port, self.pop3s_port = single.free_port(), single.free_port()
        config = self.work / "scale.toml"
        config.write_text(TUNING)
        args = [str(self.binary), "serve", "--config", str(config),
                "--pop3", f"{HOST}:{self.pop3_port}", "--pop3s", f"{HOST}:{self.pop3s_port}",
                "--cert", str(self.cert), "--key", str(self.key), "--mail", self.store,
                "--failure-delay", "0s", "--plaintext-auth", "loopback", "--log-level", "warn"]
        args += ["--passdb", self.passdb] if self.passdb else ["--passwd",
                                                               str(self.work / "passwd")]
        if self.proxied:
            args += ["--proxy-trusted", HOST]
        self.log = open(self.work / f"instance{self.index}.log", "ab")
        self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=self.log,
                                     stderr=self.log)
        if not wait_served(self.pop3_port):
            self.stop()
            raise RuntimeError(f"mailport did not start; see {self.work}/instance{self.index}.log")
        return self

    def stop(self):
        single.stop_process(self.proc)
        self.proc = None
        self.log.close()


class Topology:
    """Instances of one backend, optionally behind HAProxy; `port()` is where clients go."""

    def __init__(self, name, backend, count, proxied, context):
        self.name, self.backend, self.count, self.proxied = name, backend, count, proxied
        self.context = context
        self.instances, self.proxy = [], None

    def start(self):
        c = self.context
        store = c["pg_spec"] if self.backend == "pg" else str(c["work"] / "mail" / "%u" /
                                                              "Maildir")
        passdb = c["pg_spec"] if self.backend == "pg" else None
        for index in range(self.count):
            self.instances.append(Instance(c["work"], c["binary"], c["cert"], c["key"], index,
                                           store, passdb, self.proxied).start())
        if self.proxied:
            self.proxy = haproxy_support.HAProxy(
                c["work"] / "haproxy", [(i.pop3_port, i.pop3s_port) for i in self.instances],
                check_interval_ms=2000).start()
        return self

    def stop(self):
        if self.proxy:
            self.proxy.stop()
        for instance in self.instances:
            instance.stop()
        self.instances, self.proxy = [], None

    def pop3s_port(self):
        return self.proxy.pop3s_port if self.proxy else self.instances[0].pop3s_port

    def cpu_groups(self):
        """Process ids by role, for CPU accounting."""
        groups = {"mailport": [p for i in self.instances for p in single.process_tree(i.proc.pid)]}
        if self.proxy:
            groups["haproxy"] = single.process_tree(self.proxy.proc.pid)
        if self.backend == "pg":
            groups["postgres"] = self.context["database"].pids()
        return groups


def run_scenario(topology, scenario, plan, bench_bin, work):
    users, clients = (("login", plan.login_clients) if scenario == "login" else
                      ("retr", plan.retr_clients))
    command = [str(bench_bin), scenario, "--port", str(topology.pop3s_port()), "--tls",
               "implicit", "--users", str(work / f"users-{users}.txt"), "--clients",
               str(clients), "--duration", str(plan.duration), "--warmup", str(plan.warmup),
               "--label", topology.name]
    groups = topology.cpu_groups()
    before = {role: single.cpu_seconds(pids) for role, pids in groups.items()}
    started = time.monotonic()
    proc = subprocess.run(command, capture_output=True, text=True, timeout=120)
    wall = time.monotonic() - started
    groups = topology.cpu_groups()  # PostgreSQL backends come and go
    result = single.parse_result(proc)
    result["cpu_s"] = {role: single.cpu_seconds(pids) - before.get(role, 0)
                       for role, pids in groups.items()}
    result["wall_s"] = wall
    return result


def cpu_per_unit(result, scenario, plan):
    """CPU ms per session (login) or per MB (retr), per role. The CPU was counted over the whole
    run (warmup included), so it is divided by the rate times the time under load."""
    rate = result.get("sessions_per_s", 0) if scenario == "login" else result.get("mb_per_s", 0)
    loaded_s = plan.warmup + result.get("window_s", plan.duration)
    if not rate:
        return {}
    return {role: 1000 * cpu / (rate * loaded_s) for role, cpu in result["cpu_s"].items()}


def fmt(values, digits=4):
    return single.fmt_stats(values) if values else "—"


def table(results, topologies):
    rows = ["| topology | instances | HAProxy | backend | login-tls sessions/s | login p99 ms | "
            "CPU ms/session (mailport + HAProxy + PostgreSQL) | retr-tls MB/s | "
            "CPU ms/MB (mailport + HAProxy + PostgreSQL) | errors |",
            "|---|---|---|---|---|---|---|---|---|---|"]
    for name, backend, count, proxied in topologies:
        mine = [r for r in results if r["topology"] == name]
        if not mine:
            continue
        login = [r for r in mine if r["scenario"] == "login"]
        retr = [r for r in mine if r["scenario"] == "retr"]

        def cpu(rs):
            parts = []
            for role in ("mailport", "haproxy", "postgres"):
                values = [r["cpu_per_unit"][role] for r in rs if role in r.get("cpu_per_unit", {})]
                parts.append(f"{statistics.median(values):.3g}" if values else "–")
            return " + ".join(parts)

        errors = sum(r.get("errors", 0) for r in mine)
        rows.append(
            f"| {name} | {count} | {'yes' if proxied else 'no'} | "
            f"{'PostgreSQL' if backend == 'pg' else 'Maildir'} | "
            f"{fmt([r.get('sessions_per_s', 0) for r in login])} | "
            f"{fmt([r['latency_ms']['p99'] for r in login if 'latency_ms' in r])} | {cpu(login)} | "
            f"{fmt([r.get('mb_per_s', 0) for r in retr])} | {cpu(retr)} | {errors} |")
    return "\n".join(rows)


def uptime():
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--smoke", action="store_true", help="tiny fixtures, short runs, 1 rep")
    parser.add_argument("--reps", type=int, help="repetitions (default 3; smoke 1)")
    parser.add_argument("--only", help="comma list of topologies: " +
                        ",".join(t[0] for t in TOPOLOGIES))
    parser.add_argument("--build-dir", default=str(ROOT / "build-bench"))
    parser.add_argument("--skip-build", action="store_true")
    parser.add_argument("--workdir", help="default: BUILD/scale-work[-smoke]")
    parser.add_argument("--out", help="results directory (default: BUILD/scale-results/DATE)")
    parser.add_argument("--mailport-bin", help="default: BUILD/src/cli/mailport")
    parser.add_argument("--bench-bin", help="default: BUILD/bench/mailport-bench")
    args = parser.parse_args()

    for reason in (postgres_support.unavailable_reason(), haproxy_support.unavailable_reason()):
        if reason:
            log("==> cannot run: " + reason)
            return 2
    plan = Plan(args.smoke)
    reps = args.reps or (1 if args.smoke else 3)
    wanted = (args.only.split(",") if args.only else
              SMOKE_TOPOLOGIES if args.smoke else [t[0] for t in TOPOLOGIES])
    unknown = set(wanted) - {t[0] for t in TOPOLOGIES}
    if unknown:
        parser.error("--only: unknown topology " + ", ".join(sorted(unknown)))
    topologies = [t for t in TOPOLOGIES if t[0] in wanted]
    build_dir = pathlib.Path(args.build_dir).resolve()
    if not args.skip_build:
        single.build(build_dir)
    binary = pathlib.Path(args.mailport_bin or build_dir / "src/cli/mailport").resolve()
    bench_bin = pathlib.Path(args.bench_bin or build_dir / "bench/mailport-bench").resolve()
    work = pathlib.Path(args.workdir or build_dir / ("scale-work-smoke" if args.smoke
                                                     else "scale-work")).resolve()
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    out = pathlib.Path(args.out or build_dir / "scale-results" / stamp).resolve()
    work.mkdir(parents=True, exist_ok=True)
    out.mkdir(parents=True, exist_ok=True)
    single.raise_fd_limit()

    users, sha = build_fixtures(work, plan)
    cert, key = single.make_certificate(work)
    info = {"command": " ".join(["/usr/bin/python3", "bench/scale.py", *sys.argv[1:]]),
            "cores": os.cpu_count(), "uptime_start": uptime(),
            "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "plan": {k: v for k, v in vars(plan).items() if k != "retr_sizes"},
            "retr_bytes_per_user": sum(plan.retr_sizes)}
    log(f"==> {info['cores']} cores; {info['uptime_start']}")
    cluster = postgres_support.Postgres().start()
    results = []
    raw = open(out / "results.jsonl", "a")
    running = None
    try:
        database = Database(cluster, cluster.create_database())
        context = {"work": work, "binary": binary, "cert": cert, "key": key,
                   "database": database}
        if any(t[1] == "pg" for t in topologies):
            context["pg_spec"] = load_postgres(binary, database, work, users, sha)
        for rep in range(reps):
            order = topologies if rep % 2 == 0 else list(reversed(topologies))
            for name, backend, count, proxied in order:
                running = Topology(name, backend, count, proxied, context).start()
                for scenario in ("login", "retr"):
                    result = run_scenario(running, scenario, plan, bench_bin, work)
                    result.update({"topology": name, "scenario": scenario, "rep": rep,
                                   "loadavg": os.getloadavg()})
                    result["cpu_per_unit"] = cpu_per_unit(result, scenario, plan)
                    results.append(result)
                    raw.write(json.dumps(result) + "\n")
                    raw.flush()
                    errors = result.get("errors", 0)
                    log(f"    {name:18s} {scenario:6s} rep {rep}: "
                        f"{result.get('sessions_per_s', 0):8.1f} sess/s "
                        f"{result.get('mb_per_s', 0):7.1f} MB/s load {os.getloadavg()[0]:.1f}" +
                        (f"  ERRORS {errors} {result.get('error_kinds')}" if errors else ""))
                running.stop()
                running = None
    finally:
        if running:
            running.stop()
        cluster.stop()
    info["uptime_end"] = uptime()
    (out / "machine.json").write_text(json.dumps(info, indent=1))
    text = table(results, topologies)
    (out / "table.md").write_text(text + "\n")
    print(text)
    print(f"\nload: {info['uptime_start']} -> {info['uptime_end']}")
    log(f"==> raw results: {out / 'results.jsonl'}")
    total_errors = sum(r.get("errors", 0) for r in results)
    log(f"==> errors: {total_errors}")
    return 1 if total_errors else 0


if __name__ == "__main__":
    sys.exit(main())
