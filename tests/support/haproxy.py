"""HAProxy (Debian haproxy) in TCP mode in front of several mailport instances, on loopback ports,
with its own configuration in a temporary directory. Used by tests/cluster and bench/scale.py.

Both frontends (POP3 and POP3S) send a PROXY protocol v2 header to the instances; TLS passes
through untouched and terminates at mailport. Health checks go to each instance's POP3 port
every `check_interval_ms`, so a killed instance is taken out within a fraction of a second, and
a connection that still meets its closed port is redispatched to another instance."""

import pathlib
import shutil
import socket
import subprocess
import time

START_TIMEOUT = 10.0


def binary():
    return shutil.which("haproxy") or "/usr/sbin/haproxy"


def unavailable_reason():
    if not pathlib.Path(binary()).exists():
        return "haproxy is not installed (Debian package haproxy; dev.sh installs it)"
    return None


def free_port(host="127.0.0.1"):
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def config_text(backends, front_pop3, front_pop3s, balance="leastconn", check_interval_ms=200,
                maxconn=2000):
    """backends: (pop3_port, pop3s_port) of each instance on 127.0.0.1."""
    lines = [
        "global",
        f"    maxconn {maxconn}",
        "defaults",
        "    mode tcp",
        "    timeout connect 2s",
        "    timeout client 11m",
        "    timeout server 11m",
        # A connection refused by a dead instance is tried again, the last time elsewhere.
        "    retries 2",
        "    option redispatch",
    ]
    for name, front, which in (("pop3", front_pop3, 0), ("pop3s", front_pop3s, 1)):
        lines += [f"frontend {name}", f"    bind 127.0.0.1:{front}",
                  f"    default_backend mailport_{name}",
                  f"backend mailport_{name}", f"    balance {balance}",
                  "    option tcp-check", "    tcp-check expect string +OK"]
        for index, ports in enumerate(backends):
            lines.append(f"    server mail{index} 127.0.0.1:{ports[which]} send-proxy-v2 "
                         f"check port {ports[0]} check-send-proxy inter {check_interval_ms}ms "
                         "fall 1 rise 1")
    return "\n".join(lines) + "\n"


class HAProxy:
    def __init__(self, directory: pathlib.Path, backends, **options):
        self.dir = directory
        self.backends = list(backends)
        self.options = options
        self.pop3_port, self.pop3s_port = free_port(), free_port()
        self.config = directory / "haproxy.cfg"
        self.log = directory / "haproxy.log"
        self.proc = None

    def start(self):
        self.dir.mkdir(parents=True, exist_ok=True)
        self.config.write_text(config_text(self.backends, self.pop3_port, self.pop3s_port,
                                           **self.options))
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen([binary(), "-db", "-f", str(self.config)],
                                         stdin=subprocess.DEVNULL, stdout=log, stderr=log)
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("haproxy exited:\n" + self.log.read_text())
            try:
                for port in (self.pop3_port, self.pop3s_port):
                    socket.create_connection(("127.0.0.1", port), timeout=1).close()
                return self
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError("haproxy did not listen within %ss" % START_TIMEOUT)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None
