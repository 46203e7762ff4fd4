"""Helpers of the Storm distribution tests: ports, polling, HTTP, running bin/storm."""

import json
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request

import pytest
import yaml

# What systemd gives a unit: bin/storm's `#!/usr/bin/env python3` finds Debian's python3.
DAEMON_PATH = "/usr/sbin:/usr/bin:/sbin:/bin"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(predicate, timeout, what, interval=0.25):
    """Poll until predicate() returns something truthy; fail the test after `timeout`."""
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        try:
            value = predicate()
            if value:
                return value
        except Exception as exc:  # keep polling, report the last error
            last = exc
        time.sleep(interval)
    pytest.fail(f"timed out after {timeout}s waiting for {what} (last error: {last})")


def http(port, path, method="GET", timeout=10):
    """(status, body) of an HTTP request to a loopback port; JSON bodies are decoded."""
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", method=method)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as reply:
            status, raw, ctype = reply.status, reply.read(), reply.headers.get_content_type()
    except urllib.error.HTTPError as err:
        status, raw, ctype = err.code, err.read(), err.headers.get_content_type()
    return status, json.loads(raw) if ctype == "application/json" else raw


def api(port, path):
    """GET a UI REST endpoint that must answer 200."""
    status, body = http(port, f"/api/v1/{path}")
    assert status == 200, (path, body)
    return body


class StormCluster:
    """Runs `bin/storm` daemons, each with its own conf dir (STORM_CONF_DIR), and stops
    every process it started (process groups: workers and their subprocesses too)."""

    def __init__(self, home, workdir, zk_port, root):
        self.home, self.workdir, self.zk_port, self.root = home, workdir, zk_port, root
        self.procs = []

    def conf(self, name, **keys):
        conf_dir = self.workdir / name
        (conf_dir / "logs").mkdir(parents=True, exist_ok=True)
        conf = {
            "storm.zookeeper.servers": ["127.0.0.1"], "storm.zookeeper.port": self.zk_port,
            "storm.zookeeper.root": self.root, "storm.zookeeper.session.timeout": 4000,
            "storm.zookeeper.connection.timeout": 10000,
            "storm.local.hostname": "127.0.0.1", "storm.local.dir": str(conf_dir / "local"),
            "storm.log.dir": str(conf_dir / "logs"), "nimbus.seeds": ["127.0.0.1"],
            "nimbus.monitor.freq.secs": 2, "nimbus.code.sync.freq.secs": 2,
            "supervisor.monitor.frequency.secs": 1, "supervisor.heartbeat.frequency.secs": 2,
            "supervisor.worker.shutdown.sleep.secs": 2,
        }
        conf.update(keys)
        (conf_dir / "storm.yaml").write_text(yaml.safe_dump(conf))
        return conf_dir

    def env(self, conf_dir):
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL"))}
        env.update(PATH=DAEMON_PATH, STORM_CONF_DIR=str(conf_dir))
        return env

    def start(self, daemon, conf_dir):
        out = open(conf_dir / f"{daemon}.out", "ab")  # owned by the process
        proc = subprocess.Popen([str(self.home / "bin/storm"), daemon], env=self.env(conf_dir),
                                stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                start_new_session=True)
        out.close()
        self.procs.append(proc)
        return proc

    def run(self, conf_dir, *args, timeout=60, cwd=None, env=None):
        return subprocess.run([str(self.home / "bin/storm"), *args], cwd=cwd,
                              env=env or self.env(conf_dir), capture_output=True, text=True,
                              timeout=timeout)

    def stop(self, proc, sig=signal.SIGTERM, timeout=20):
        """Signal the daemon; returns its exit code (the group is killed if it hangs)."""
        if proc.poll() is None:
            proc.send_signal(sig)
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(5)
        return proc.returncode

    def stop_all(self):
        for proc in reversed(self.procs):
            self.stop(proc)
            try:
                os.killpg(proc.pid, signal.SIGKILL)  # anything left in its group
            except ProcessLookupError:
                pass
