"""`storm __worker <topology-id> <supervisor-id> <port> <worker-id>`: one worker process.

Started by the supervisor for one slot (like Storm's Worker main class, with the same four
arguments).  It reads the spec the supervisor wrote (its executors and where every other
task lives), runs its executors, routes tuples by the topology's groupings to local
executors or over TCP to the worker that owns the target task, watches the topology's
status in ZooKeeper (activate/deactivate) and logs to
<logs>/workers-artifacts/<topology-id>/<port>/worker.log.  If an executor's subprocess
dies or goes silent the worker exits and the supervisor starts it again, as in Storm.
"""

import ctypes
import gzip
import json
import logging
import os
import pathlib
import signal
import threading
import time

from . import config, daemon
from .shelltasks import AckerTask, ShellBoltTask, ShellSpoutTask
from .stormthrift import from_bytes, storm, to_bytes
from .topology import TopologyInfo
from .transport import Transport
from .zk import Cluster

MAX_ERRORS = 10  # Storm keeps the last 10 errors per component in ZooKeeper


class Worker:
    def __init__(self, conf, spec, stop):
        self.stop = stop
        self.tid, self.port = spec["topology_id"], spec["port"]
        self.log = logging.getLogger("stormstandin.worker")
        local = pathlib.Path(conf["storm.local.dir"])
        dist = local / "supervisor" / "stormdist" / self.tid
        topology = from_bytes(storm.StormTopology, (dist / "stormcode.ser").read_bytes())
        topo_conf = json.loads(gzip.decompress((dist / "stormconf.ser").read_bytes()))
        self.conf = {**conf, **topo_conf}
        self.info = TopologyInfo(topology, topo_conf)
        self.resources = str(dist / "resources" if (dist / "resources").is_dir() else dist)
        self.pid_dir = local / "workers" / spec["worker_id"] / "pids"
        self.pid_dir.mkdir(parents=True, exist_ok=True)
        self.env = dict(os.environ)
        self.env.update({str(k): str(v) for k, v in
                         (self.conf.get("topology.environment") or {}).items()})
        timeouts = self.conf.get("topology.enable.message.timeouts", True)
        self.message_timeout = self.conf["topology.message.timeout.secs"] if timeouts else None
        self.subprocess_timeout = (self.conf.get("topology.subprocess.timeout.secs")
                                   or self.conf["supervisor.worker.timeout.secs"])
        self.heartbeat_interval = min(1.0, self.subprocess_timeout / 3.0)
        self.locations = {int(t): tuple(loc) for t, loc in spec["task_locations"].items()}
        self.local_tasks = {t for s, e in spec["executors"] for t in range(s, e + 1)}
        self.host = daemon.hostname(conf)
        self.tasks = {}
        self.dying = threading.Lock()
        self.zk = Cluster(conf, "worker")
        self.transport = Transport(self.port, self.send, stop)

    def route(self, comp, stream, values, direct_task):
        return self.info.targets(comp, stream, values, self.local_tasks, direct_task)

    def send(self, task, message):
        task = int(task)
        local = self.tasks.get(task)
        if local is not None:
            local.put(message)
        elif task in self.locations:
            host, port = self.locations[task]
            self.transport.send(host, port, task, message)
        else:
            self.log.warning("No location for task %s; message dropped", task)

    def report_error(self, comp, text):
        """The `error` command: log it and record it where Storm does, errors/<id>/<comp>."""
        self.log.error("Error from %s: %s", comp, text)
        info = storm.ErrorInfo(error=text, error_time_secs=daemon.now(), host=self.host,
                               port=self.port)
        try:
            self.zk.client.create(self.zk.path("errors", self.tid, comp, "e"), to_bytes(info),
                                  sequence=True, makepath=True)
            for old in self.zk.children("errors", self.tid, comp)[:-MAX_ERRORS]:
                self.zk.delete("errors", self.tid, comp, old)
        except Exception as exc:  # an error report must not kill the worker
            self.log.warning("Could not record the error in ZooKeeper: %s", exc)

    def die(self, reason):
        """Storm's worker suicide: stop everything and exit; the supervisor restarts it."""
        if not self.dying.acquire(blocking=False):
            return
        self.log.error("Halting process: %s", reason)
        for task in self.tasks.values():
            if hasattr(task, "proc"):
                task.proc.kill(grace=0.5)
        logging.shutdown()
        os._exit(20)

    def _on_status(self, data, _stat):
        base = from_bytes(storm.StormBase, data) if data else None
        active = base is not None and base.status == storm.TopologyStatus.ACTIVE
        for task in self.tasks.values():
            if isinstance(task, ShellSpoutTask):
                task.put({"t": "activate" if active else "deactivate"})

    def _tick_schedule(self, bolts):
        """Bolts with topology.tick.tuple.freq.secs (component or topology conf) get a
        tick tuple (__system, __tick) that often, as Storm sends them."""
        ticks = {}
        for bolt in bolts:
            freq = self.info.components[bolt.comp].conf.get(
                "topology.tick.tuple.freq.secs", self.conf.get("topology.tick.tuple.freq.secs"))
            if freq:
                ticks[bolt] = (freq, time.time() + freq)
        return ticks

    def run(self):
        self.transport.start()
        self.zk.start()
        for s, e, cid in self.info.executors():
            for task in range(s, e + 1):
                if task not in self.local_tasks:
                    continue
                kind = self.info.components[cid].kind
                cls = {"spout": ShellSpoutTask, "bolt": ShellBoltTask, "acker": AckerTask}[kind]
                self.tasks[task] = cls(self, task)
        self.log.info("Worker for %s on port %s: tasks %s", self.tid, self.port,
                      {t: self.info.task_component[t] for t in sorted(self.tasks)})
        try:
            for task in self.tasks.values():
                task.launch()
        except Exception as exc:  # any launch failure halts the worker
            self.die(f"launching executors failed: {exc}")
        for task in self.tasks.values():
            task.start()
        self.zk.client.DataWatch(self.zk.path("storms", self.tid), self._on_status)
        bolts = [t for t in self.tasks.values() if isinstance(t, ShellBoltTask)]
        ticks = self._tick_schedule(bolts)
        while not self.stop.wait(0.25):
            now = time.time()
            for bolt in bolts:
                try:
                    bolt.heartbeat(now)
                except Exception as exc:  # ShellDied or a broken pipe
                    self.die(f"{bolt.comp}: {exc}")
            for bolt, (freq, due) in ticks.items():
                if now >= due:
                    ticks[bolt] = (freq, now + freq)
                    bolt.put({"t": "tuple", "comp": "__system", "stream": "__tick",
                              "task": -1, "values": [freq], "anchors": []})
        self.log.info("Shutting down worker %s %s", self.tid, self.port)
        for task in self.tasks.values():
            if hasattr(task, "proc"):
                task.proc.kill()
        self.transport.close()
        self.zk.stop()


def _die_with_parent():
    """The worker goes when its supervisor goes (PR_SET_PDEATHSIG): a restarted
    supervisor starts fresh workers on the same ports."""
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)
    except OSError:
        pass


def main(conf, topology_id, supervisor_id, port, worker_id):
    _die_with_parent()
    artifacts = config.workers_artifacts_dir(conf) / topology_id / str(port)
    daemon.setup_logging(artifacts / "worker.log", also_stderr=False)
    log = logging.getLogger("stormstandin.worker")
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    spec_file = pathlib.Path(conf["storm.local.dir"]) / "workers" / worker_id / "spec.json"
    spec = json.loads(spec_file.read_text())
    log.info("Launching worker %s for %s on %s:%s (supervisor %s)", worker_id, topology_id,
             daemon.hostname(conf), port, supervisor_id)
    Worker(conf, spec, stop).run()
