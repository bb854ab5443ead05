"""Logs: a line per event with the session id, in text or JSON; never a password or a body line."""

import base64
import json
import re
import subprocess
import threading
import time

from conftest import BIN, START_TIMEOUT, Server, crlf

PASSWORD = "Sekr3t-Horse-42"
BODY_LINE = b"confidential-body-line-7f3a9"


class JsonServer(Server):
    """A Server started with --log-format json; it finds its ports in the JSON lines."""

    def start(self):
        self.proc = subprocess.Popen(self.command(), stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, env=self.env)
        threading.Thread(target=self._pump, args=(self.proc.stderr,), daemon=True).start()
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            for line in self.log().splitlines():
                event = json.loads(line)
                if event.get("msg") == "listening" and "port" in event:
                    self.ports[event["listener"]] = event["port"]
            if {"pop3", "pop3s"} <= set(self.ports):
                return self
            if self.proc.poll() is not None:
                break
            time.sleep(0.02)
        self.stop()
        raise RuntimeError("mailport did not start:\n" + self.log())


def exercise(server):
    """Logins (good, bad, SASL), a retrieval, a deletion, a bad command; returns after QUIT."""
    c = server.raw(tls=True)
    c.line()
    assert c.cmd("USER alice").startswith(b"+OK")
    assert c.cmd(f"PASS {PASSWORD}").startswith(b"+OK")
    assert c.cmd("RETR 1").startswith(b"+OK")
    assert BODY_LINE in c.multiline()
    assert c.cmd("DELE 1").startswith(b"+OK")
    assert c.cmd("BOGUS").startswith(b"-ERR")
    assert c.cmd("QUIT").startswith(b"+OK")
    c.close()
    bad = server.raw(tls=True)
    bad.line()
    bad.cmd("USER alice")
    assert bad.cmd(f"PASS {PASSWORD}x").startswith(b"-ERR [AUTH]")
    token = base64.b64encode(f"\0alice\0{PASSWORD}".encode()).decode()
    assert bad.cmd(f"AUTH PLAIN {token}").startswith(b"+OK")
    assert bad.cmd("QUIT").startswith(b"+OK")
    bad.close()
    assert server.wait_log(r"event.{0,3}disconnect(?s:.*)event.{0,3}disconnect")


def start(make, server_class=Server, **kwargs):
    server = make(server_class, **kwargs)
    server.mail.add("alice", crlf(b"Subject: secret\n\n" + BODY_LINE + b"\nmore\n"))
    server.start()
    return server


def make_factory(tmp_path, pki, request):
    def make(server_class, args=()):
        server = server_class(tmp_path, pki, users={"alice": PASSWORD},
                              args=["--log-level", "debug", *args])
        request.addfinalizer(server.stop)
        return server
    return make


def assert_no_secrets(log):
    assert PASSWORD not in log
    assert base64.b64encode(f"\0alice\0{PASSWORD}".encode()).decode() not in log
    assert BODY_LINE.decode() not in log
    assert "Subject: secret" not in log


def test_text_log_has_every_event_and_no_secrets(tmp_path, pki, request):
    server = start(make_factory(tmp_path, pki, request))
    exercise(server)
    server.stop()
    log = server.log()
    assert_no_secrets(log)
    logins = re.findall(r"session=(\d+) event=login result=(\S+) user=\"alice\" mech=(\S+)", log)
    assert [(r, m) for _, r, m in logins] == [("ok", "USER"), ("failed", "USER"), ("ok", "PLAIN")]
    first = logins[0][0]
    assert re.search(rf"session={first} event=disconnect user=\"alice\" state=closed "
                     rf"retrieved=1 bytes=\d+ deleted=1", log), log


def test_json_log_lines_all_parse_and_carry_the_session(tmp_path, pki, request):
    server = start(make_factory(tmp_path, pki, request), JsonServer, args=["--log-format", "json"])
    exercise(server)
    server.stop()
    log = server.log()
    assert_no_secrets(log)
    events = [json.loads(line) for line in log.splitlines()]  # every line is one JSON object
    assert all({"time", "level"} <= set(e) for e in events)
    sessions = [e for e in events if "session" in e]
    assert all(isinstance(e["session"], int) and "event" in e for e in sessions)
    logins = [e for e in sessions if e["event"] == "login"]
    assert [(e["result"], e["mech"], e["user"]) for e in logins] == [
        ("ok", "USER", "alice"), ("failed", "USER", "alice"), ("ok", "PLAIN", "alice")]
    assert logins[1]["level"] == "warning"
    assert logins[0]["rip"] == "127.0.0.1" and logins[0]["listener"] == "pop3s"
    logout = [e for e in sessions
              if e["event"] == "disconnect" and e["session"] == logins[0]["session"]]
    assert len(logout) == 1
    assert logout[0]["retrieved"] == 1 and logout[0]["deleted"] == 1 and logout[0]["bytes"] > 0


def test_log_format_is_checked(tmp_path):
    out = subprocess.run([BIN, "serve", "--log-format", "xml"], capture_output=True, text=True,
                         timeout=30, cwd=tmp_path)
    assert out.returncode == 64
    assert "--log-format xml: expected text or json" in out.stderr
