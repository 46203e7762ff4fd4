"""The executors inside a worker: ShellSpout, ShellBolt (multilang subprocesses) and the
acker, each a thread (or two) fed by its own queue.

They behave as Storm's ShellSpout and ShellBolt do: spouts get next/ack/fail/activate/
deactivate and answer each with sync; bolts get tuples, at most
topology.shellbolt.max.pending outstanding, and answer with emit/ack/fail; emits are
answered with the task ids they went to unless need_task_ids is false; bolts get a
heartbeat tuple (stream __heartbeat, task -1) every second (more often for short
timeouts) and a subprocess silent for topology.subprocess.timeout.secs kills the worker.
"""

import logging
import queue
import threading
import time

from .acking import Acker, SpoutPending, anchor_edges, new_id
from .multilang import ShellDied, ShellProcess

LEVELS = {0: logging.DEBUG, 1: logging.DEBUG, 2: logging.INFO, 3: logging.WARNING,
          4: logging.ERROR}


def tuple_message(comp, task, stream, values, anchors):
    return {"t": "tuple", "comp": comp, "stream": stream, "task": task, "values": values,
            "anchors": [list(a) for a in anchors]}


class ShellTask:
    def __init__(self, worker, task):
        self.w, self.task = worker, task
        self.comp = worker.info.task_component[task]
        shell = worker.info.components[self.comp].shell
        argv = [shell.execution_command] + ([shell.script] if shell.script else [])
        self.proc = ShellProcess(argv, worker.resources, worker.env, f"{self.comp}-{task}")
        self.inbox = queue.Queue()
        self.log = logging.getLogger(f"stormstandin.task.{self.comp}.{task}")

    def put(self, message):
        self.inbox.put(message)

    def launch(self):
        pid = self.proc.launch(self.w.conf, self.w.info.context(self.task), self.w.pid_dir,
                               self.w.subprocess_timeout)
        self.log.info("Launched subprocess with pid %s: %s (cwd %s)", pid, self.proc.argv,
                      self.w.resources)

    def start(self):
        threading.Thread(target=self._guarded, name=f"{self.comp}-{self.task}",
                         daemon=True).start()

    def _guarded(self):
        try:
            self.run()
        except ShellDied as exc:
            self.w.die(f"{self.comp} (task {self.task}): {exc}")

    def handle_common(self, m):
        """log, error and metrics, which spouts and bolts send alike; True if handled."""
        command = m.get("command")
        if command == "log":
            level = LEVELS.get(m.get("level", 2), logging.INFO)
            logging.getLogger("ShellLog").log(level, "ShellLog pid:%s, name:%s %s",
                                              self.proc.pid, self.comp, m.get("msg"))
        elif command == "error":
            self.w.report_error(self.comp, str(m.get("msg")))
        elif command == "metrics":
            self.log.debug("metrics %s: %s", m.get("name"), m.get("params"))
        else:
            return False
        return True

    def targets_of(self, m):
        stream = m.get("stream") or "default"
        values = m.get("tuple") or []
        return stream, values, self.w.route(self.comp, stream, values, m.get("task"))

    def reply_task_ids(self, m, targets):
        if m.get("task") is None and m.get("need_task_ids", True):
            self.proc.send(targets)


class ShellSpoutTask(ShellTask):
    def __init__(self, worker, task):
        super().__init__(worker, task)
        self.pending = SpoutPending(worker.message_timeout)
        self.max_pending = worker.conf.get("topology.max.spout.pending")
        self.active = False
        self.unacked_acks = []  # message ids to ack at once (no ackers: Storm acks on emit)

    def run(self):
        idle = 0.0
        while not self.w.stop.is_set():
            self._control(block=idle if self.active else 0.1)
            for msg_id in self.pending.expired():
                self.command({"command": "fail", "id": msg_id})
            while self.unacked_acks:
                self.command({"command": "ack", "id": self.unacked_acks.pop(0)})
            if self.active and (self.max_pending is None or len(self.pending) < self.max_pending):
                emitted = self.command({"command": "next"})
                # Nothing to emit: back off up to 100 ms, like a spout wait strategy.
                idle = 0.0 if emitted else min(0.1, max(0.001, idle * 2))
            else:
                idle = 0.1

    def _control(self, block):
        try:
            message = self.inbox.get(timeout=block) if block else self.inbox.get_nowait()
        except queue.Empty:
            return
        while True:
            kind = message["t"]
            if kind in ("complete", "failed"):
                msg_id = self.pending.pop(message["root"])
                if msg_id is not None:
                    command = "ack" if kind == "complete" else "fail"
                    self.command({"command": command, "id": msg_id})
            elif kind in ("activate", "deactivate") and self.active != (kind == "activate"):
                self.active = kind == "activate"
                self.log.info("%s spout %s", kind.capitalize() + "d", self.comp)
                self.command({"command": kind})
            try:
                message = self.inbox.get_nowait()
            except queue.Empty:
                return

    def command(self, message):
        """Send one command and process what the spout sends until its sync."""
        self.proc.send(message)
        emitted = 0
        while True:
            m = self.proc.receive(self.w.subprocess_timeout)
            if m is None:
                self.w.die(f"subprocess heartbeat timeout in spout {self.comp} (no sync "
                           f"within {self.w.subprocess_timeout}s)")
            command = m.get("command")
            if command == "sync":
                return emitted
            if command == "emit":
                self._emit(m)
                emitted += 1
            elif not self.handle_common(m):
                self.log.warning("Unexpected message from spout: %r", m)

    def _emit(self, m):
        stream, values, targets = self.targets_of(m)
        msg_id = m.get("id")
        ackers = self.w.info.ackers
        if msg_id is not None and ackers:
            root, xor = new_id(), 0
            for target in targets:
                edge = new_id()
                xor ^= edge
                self.w.send(target, tuple_message(self.comp, self.task, stream, values,
                                                  [(root, edge)]))
            self.pending.add(root, msg_id)
            self.w.send(self.w.info.acker_for(root),
                        {"t": "acker_init", "root": root, "val": xor, "spout": self.task})
        else:
            for target in targets:
                self.w.send(target, tuple_message(self.comp, self.task, stream, values, []))
            if msg_id is not None:
                self.unacked_acks.append(msg_id)
        self.reply_task_ids(m, targets)


class ShellBoltTask(ShellTask):
    def __init__(self, worker, task):
        super().__init__(worker, task)
        self.pending = {}  # tuple id -> [[(root, edge)...], ack value]
        self.cond = threading.Condition()
        self.max_pending = worker.conf.get("topology.shellbolt.max.pending") or 100
        self.last_heartbeat = time.time()

    def start(self):
        super().start()
        threading.Thread(target=self._guarded_reader, name=f"{self.comp}-{self.task}-reader",
                         daemon=True).start()

    def run(self):
        """Hand queued tuples to the subprocess, at most max_pending outstanding."""
        while not self.w.stop.is_set():
            try:
                message = self.inbox.get(timeout=0.5)
            except queue.Empty:
                continue
            tuple_id = str(new_id() >> 1)
            with self.cond:
                while len(self.pending) >= self.max_pending and not self.w.stop.is_set():
                    self.cond.wait(0.5)
                self.pending[tuple_id] = [[tuple(a) for a in message["anchors"]], 0]
            self.proc.send({"id": tuple_id, "comp": message["comp"],
                            "stream": message["stream"], "task": message["task"],
                            "tuple": message["values"]})

    def heartbeat(self, now):
        if now - self.proc.last_message > self.w.subprocess_timeout:
            self.w.die(f"subprocess heartbeat timeout in bolt {self.comp} (silent for "
                       f"{self.w.subprocess_timeout}s)")
        if now - self.last_heartbeat >= self.w.heartbeat_interval:
            self.last_heartbeat = now
            self.proc.send({"id": str(new_id() >> 1), "comp": "__system",
                            "stream": "__heartbeat", "task": -1, "tuple": []})

    def _guarded_reader(self):
        try:
            while not self.w.stop.is_set():
                m = self.proc.receive(1.0)
                if m is not None:
                    self._handle(m)
        except ShellDied as exc:
            if not self.w.stop.is_set():
                self.w.die(f"{self.comp} (task {self.task}): {exc}")

    def _handle(self, m):
        command = m.get("command")
        if command == "emit":
            stream, values, targets = self.targets_of(m)
            with self.cond:
                anchors = [self.pending[a] for a in (m.get("anchors") or [])
                           if a in self.pending]
                edges = anchor_edges(anchors, len(targets))
            for target, anchor in zip(targets, edges, strict=True):
                self.w.send(target, tuple_message(self.comp, self.task, stream, values, anchor))
            self.reply_task_ids(m, targets)
        elif command in ("ack", "fail"):
            with self.cond:
                entry = self.pending.pop(str(m.get("id")), None)
                self.cond.notify_all()
            if entry is None:
                return
            for root, edge in entry[0]:
                if command == "ack":
                    out = {"t": "acker_ack", "root": root, "val": edge ^ entry[1]}
                else:
                    out = {"t": "acker_fail", "root": root}
                self.w.send(self.w.info.acker_for(root), out)
        elif command != "sync" and not self.handle_common(m):
            self.log.warning("Unexpected message from bolt: %r", m)


class AckerTask:
    """An __acker executor: Storm's acker bolt, run in the worker itself."""

    def __init__(self, worker, task):
        self.w, self.task = worker, task
        self.acker = Acker(worker.message_timeout)
        self.inbox = queue.Queue()

    def put(self, message):
        self.inbox.put(message)

    def launch(self):
        pass

    def start(self):
        threading.Thread(target=self.run, name=f"__acker-{self.task}", daemon=True).start()

    def run(self):
        last_expiry = time.time()
        while not self.w.stop.is_set():
            try:
                message = self.inbox.get(timeout=0.5)
            except queue.Empty:
                message = None
            if message is not None:
                for spout_task, out in self.acker.handle(message):
                    self.w.send(spout_task, out)
            if time.time() - last_expiry > 1.0:
                self.acker.expire()
                last_expiry = time.time()
