"""
Drive one streamparse component over the real multilang protocol, as Storm's ShellSpout
and ShellBolt do: start ``<python> -m streamparse.run -s json <module>.<Class>`` with the
project's code directory as its working directory, talk to it over pipes (each message
one JSON document followed by a line ``end``), and read back what it sends.

Handshake: Storm sends ``{"conf", "pidDir", "context"}``; the component creates
``<pidDir>/<pid>`` and answers ``{"pid": N}``.  Then a spout gets ``next``/``ack``/
``fail``/``activate``/``deactivate`` and answers every one with ``sync`` (after any
``emit``/``log`` it sends); a bolt gets tuples ``{"id", "comp", "stream", "task",
"tuple"}`` and sends ``emit``/``ack``/``fail``/``log``/``error``; heartbeat tuples
(stream ``__heartbeat``, task -1) are answered with ``sync``; tick tuples come from
``__system`` on ``__tick``.

Every message read is kept in ``transcript`` (in order, with its arrival time), so tests
can check orderings such as "each ack after its emit".  Everything is bounded: reads take
a timeout, ``close`` ends the process (EOF on stdin, then SIGKILL).
"""

import itertools
import json
import os
import queue
import subprocess
import threading
import time

_EOF = object()


class ComponentDied(RuntimeError):
    pass


class Component:
    def __init__(self, python, cwd, target, conf, component, *, task=1, tasks=None,
                 sources=None, outputs=None, pid_dir, env=None, topology="iris"):
        """
        ``tasks`` maps task ids to component names (Storm's ``task->component``);
        ``sources`` maps a source component to {stream: [fields]} (``source->stream->
        fields``); ``outputs`` is this component's output fields on ``default``.
        """
        self.argv = [str(python), "-m", "streamparse.run", "-s", "json", target]
        self.cwd = str(cwd)
        self.conf = {"topology.name": topology, **conf}
        self.component = component
        self.task = task
        mapping = {str(t): c for t, c in (tasks or {task: component}).items()}
        mapping.setdefault(str(task), component)
        self.context = {
            "taskid": task,
            "componentid": component,
            "task->component": mapping,
            "source->stream->fields": sources or {},
            "stream->outputfields": {"default": list(outputs or [])},
        }
        self.pid_dir = str(pid_dir)
        self.env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1", **(env or {})}
        self.env.pop("PYTHONPATH", None)
        self.inbox = queue.Queue()
        self.transcript = []      # (monotonic time, message) in arrival order
        self.stderr = []
        self.proc = None
        self.pid = None
        self._ids = itertools.count(1)
        self._write = threading.Lock()
        self._threads = []

    # ------------------------------------------------------------------ process

    def start(self, timeout=60):
        os.makedirs(self.pid_dir, exist_ok=True)
        self.proc = subprocess.Popen(self.argv, cwd=self.cwd, env=self.env,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE)
        for target in (self._read_stdout, self._read_stderr):
            thread = threading.Thread(target=target, daemon=True)
            thread.start()
            self._threads.append(thread)
        self.send({"conf": self.conf, "pidDir": self.pid_dir, "context": self.context})
        reply = self.read(timeout)
        if not isinstance(reply, dict) or "pid" not in reply:
            raise ComponentDied(f"bad handshake answer {reply!r}")
        self.pid = reply["pid"]
        if not os.path.exists(os.path.join(self.pid_dir, str(self.pid))):
            raise ComponentDied(f"no pid file {self.pid} in {self.pid_dir}")
        return self

    def _read_stdout(self):
        lines = []
        for raw in self.proc.stdout:
            line = raw.decode("utf-8").rstrip("\n")
            if line == "end":
                try:
                    message = json.loads("\n".join(lines))
                except ValueError:
                    message = {"command": "__garbage__", "text": "\n".join(lines)}
                lines = []
                now = time.monotonic()
                self.transcript.append((now, message))
                self.inbox.put(message)
            elif line or lines:
                lines.append(line)
        self.inbox.put(_EOF)

    def _read_stderr(self):
        for raw in self.proc.stderr:
            self.stderr.append(raw.decode("utf-8", "replace"))

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def close(self, timeout=5):
        """End the process as Storm does (stdin closed), SIGKILL if it lingers."""
        if self.proc is None:
            return None
        try:
            self.proc.stdin.close()
        except OSError:
            pass
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout)
        for thread in self._threads:
            thread.join(timeout)
        return self.proc.returncode

    def kill(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
        return self.close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.kill() if exc[0] is not None else self.close()

    # ------------------------------------------------------------------ messages

    def send(self, message):
        self.send_raw((json.dumps(message) + "\nend\n").encode())

    def send_raw(self, data):
        """Bytes as they are, even part of a message (to hold input "waiting")."""
        with self._write:
            self.proc.stdin.write(data)
            self.proc.stdin.flush()

    def read(self, timeout=10):
        try:
            message = self.inbox.get(timeout=timeout)
        except queue.Empty:
            raise TimeoutError(f"{self.component}: nothing within {timeout} s") from None
        if message is _EOF:
            self.inbox.put(_EOF)
            raise ComponentDied(f"{self.component} exited ({self.proc.poll()}):\n"
                                + "".join(self.stderr[-40:]))
        return message

    def collect(self, until, timeout=10):
        """Messages read until ``until(message)`` is true (that one included)."""
        found = []
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"{self.component}: condition not met within {timeout} s; "
                                   f"got {found[-5:]!r}")
            message = self.read(left)
            found.append(message)
            if until(message):
                return found

    def drain(self, quiet=0.3, limit=10):
        """Everything that arrives until nothing has come for ``quiet`` seconds."""
        found = []
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline:
            try:
                found.append(self.read(quiet))
            except TimeoutError:
                break
        return found

    # ------------------------------------------------------------------ spouts

    def command(self, name, msg_id=None, timeout=10):
        """Send a spout command; the messages it answered with before its ``sync``."""
        message = {"command": name}
        if msg_id is not None:
            message["id"] = msg_id
        self.send(message)
        return self.collect(lambda m: m.get("command") == "sync", timeout)[:-1]

    def next(self, timeout=10):
        return [m for m in self.command("next", timeout=timeout) if m.get("command") == "emit"]

    # ------------------------------------------------------------------ bolts

    def tuple(self, values, comp="iris_spout", stream="default", task=9, tup_id=None):
        tup_id, data = self.tuple_bytes(values, comp, stream, task, tup_id)
        self.send_raw(data)
        return tup_id

    def tuple_bytes(self, values, comp="iris_spout", stream="default", task=9, tup_id=None):
        """(id, the bytes of the tuple message) without sending them."""
        tup_id = tup_id or f"t{next(self._ids)}"
        message = {"id": tup_id, "comp": comp, "stream": stream, "task": task,
                   "tuple": values}
        return tup_id, (json.dumps(message) + "\nend\n").encode()

    def heartbeat(self):
        tup_id = f"hb{next(self._ids)}"
        self.send({"id": tup_id, "comp": "__system", "stream": "__heartbeat", "task": -1,
                   "tuple": []})
        return tup_id

    def tick(self, secs=1):
        tup_id = f"tick{next(self._ids)}"
        self.send({"id": tup_id, "comp": "__system", "stream": "__tick", "task": -1,
                   "tuple": [secs]})
        return tup_id


def commands(messages, *names):
    return [m for m in messages if m.get("command") in names]
