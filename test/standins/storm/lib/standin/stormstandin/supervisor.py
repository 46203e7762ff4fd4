"""`storm supervisor`: registers its slots, runs the workers assigned to it.

The supervisor id is kept in storm.local.dir/supervisor so a restart keeps it.  The
supervisor heartbeats an EPHEMERAL <root>/supervisors/<id> (SupervisorInfo: hostname,
slots in `meta`, used ports, uptime), watches <root>/assignments, downloads each assigned
topology's blobs from the leader nimbus over Thrift (beginBlobDownload), unpacks the jar's
resources/ into storm.local.dir/supervisor/stormdist/<id>/, and keeps one worker process
per assigned slot, restarting it when it dies or its assignment changes.
"""

import json
import os
import pathlib
import shutil
import signal
import subprocess
import sys
import time
import uuid
import zipfile

from kazoo.protocol.states import KazooState

from . import VERSION, config, daemon
from .nimbus import BLOB_SUFFIXES, download_blob
from .stormthrift import leader_client, storm
from .zk import Cluster

STORM_BIN = config.STORM_HOME / "bin" / "storm"


def extract_resources(jar, target):
    """Unpack the jar's resources/ tree into target/resources (as Storm does)."""
    root = target.resolve()
    with zipfile.ZipFile(jar) as archive:
        for info in archive.infolist():
            if not info.filename.startswith("resources/"):
                continue
            path = (target / info.filename).resolve()
            if not path.is_relative_to(root):
                raise ValueError(f"{jar}: {info.filename} leaves the resources directory")
            if info.is_dir():
                path.mkdir(parents=True, exist_ok=True)
                continue
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(archive.read(info))
            mode = (info.external_attr >> 16) & 0o777
            if mode:
                path.chmod(mode)


class WorkerProcess:
    def __init__(self, spec, proc):
        self.spec, self.proc = spec, proc
        self.started = time.time()

    def stop(self, grace):
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(grace)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)


class Supervisor:
    def __init__(self, conf, log, stop, config_args):
        self.conf, self.log, self.stop, self.config_args = conf, log, stop, config_args
        local = pathlib.Path(conf["storm.local.dir"])
        self.home = local / "supervisor"
        self.stormdist = self.home / "stormdist"
        self.workers_dir = local / "workers"
        for path in (self.stormdist, self.workers_dir):
            path.mkdir(parents=True, exist_ok=True)
        self.id = self._supervisor_id()
        self.host = daemon.hostname(conf)
        self.ports = conf["supervisor.slots.ports"]
        self.started = daemon.now()
        self.zk = Cluster(conf, "supervisor")
        self.workers = {}  # port -> WorkerProcess

    def _supervisor_id(self):
        path = self.home / "supervisor-id"
        if not path.exists():
            path.write_text(f"{uuid.uuid4()}\n")
        return path.read_text().strip()

    def run(self):
        self.zk.start()
        woke = {"flag": True}

        def wake(_children):
            woke["flag"] = True  # sync in the main thread: workers die with their parent thread

        self.zk.client.ChildrenWatch(self.zk.path("assignments"), wake)
        next_beat = next_sync = 0.0
        try:
            while not self.stop.is_set():
                now = time.time()
                if self.zk.client.state == KazooState.CONNECTED:
                    if now >= next_beat:
                        self.heartbeat()
                        next_beat = now + self.conf["supervisor.heartbeat.frequency.secs"]
                    if woke["flag"] or now >= next_sync:
                        woke["flag"] = False
                        self.sync()
                        next_sync = now + self.conf["supervisor.monitor.frequency.secs"]
                self.stop.wait(0.5)
        finally:
            grace = self.conf["supervisor.worker.shutdown.sleep.secs"]
            for port in list(self.workers):
                self._stop_worker(port, grace)
            self.zk.stop()
            self.log.info("Supervisor %s stopped", self.id)

    def heartbeat(self):
        info = storm.SupervisorInfo(
            time_secs=daemon.now(), hostname=self.host, assignment_id=self.id,
            used_ports=sorted(self.workers), meta=list(self.ports), scheduler_meta={},
            uptime_secs=daemon.now() - self.started, version=VERSION,
            resources_map={"cpu.pcore.percent": float(self.conf["supervisor.cpu.capacity"]),
                           "onheap.memory.mb": float(self.conf["supervisor.memory.capacity.mb"])})
        fresh = self.zk.client.exists(self.zk.path("supervisors", self.id)) is None
        self.zk.register(info, "supervisors", self.id)
        if fresh:
            self.log.info("Registered supervisor %s (%s, slots %s)", self.id, self.host,
                          self.ports)

    def _wanted(self):
        """{port: spec} for every slot of this supervisor in the assignments."""
        wanted = {}
        for tid in self.zk.children("assignments"):
            assignment = self.zk.read(storm.Assignment, "assignments", tid)
            if assignment is None:
                continue
            placed = assignment.executor_node_port or {}
            locations = {}
            for (start, end), node in placed.items():
                host = (assignment.node_host or {}).get(node.node, node.node)
                for task in range(start, end + 1):
                    locations[str(task)] = [host, min(node.port)]
            for (start, end), node in sorted(placed.items()):
                if node.node != self.id:
                    continue
                for port in node.port:
                    spec = wanted.setdefault(port, {"topology_id": tid, "port": port,
                                                    "supervisor_id": self.id,
                                                    "executors": [],
                                                    "task_locations": locations})
                    spec["executors"].append([start, end])
        return wanted

    def sync(self):
        wanted = self._wanted()
        grace = self.conf["supervisor.worker.shutdown.sleep.secs"]
        for port, worker in list(self.workers.items()):
            spec = {k: v for k, v in worker.spec.items() if k != "worker_id"}
            if wanted.get(port) != spec:
                self.log.info("Slot %s: assignment changed or removed, stopping its worker",
                              port)
                self._stop_worker(port, grace)
            elif worker.proc.poll() is not None:
                self.log.warning("Worker on port %s exited with %s; restarting it", port,
                                 worker.proc.returncode)
                self._stop_worker(port, grace)
        for port, spec in sorted(wanted.items()):
            if port in self.workers:
                continue
            if port not in self.ports:
                self.log.warning("Assigned port %s is not one of my slots", port)
            elif self._download(spec["topology_id"]):
                self._start_worker(port, spec)
        active = {spec["topology_id"] for spec in wanted.values()}
        for path in self.stormdist.iterdir():
            if path.name not in active:
                shutil.rmtree(path, ignore_errors=True)
                self.log.info("Removed code of %s", path.name)

    def _download(self, tid):
        target = self.stormdist / tid
        if (target / "stormconf.ser").exists():
            return True
        tmp = self.stormdist / f".{tid}.download"
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        try:
            with leader_client(self.conf) as c:
                for suffix in BLOB_SUFFIXES:
                    download_blob(c, f"{tid}-{suffix}", tmp / suffix)
            extract_resources(tmp / "stormjar.jar", tmp)
        except Exception as exc:  # retried at the next sync
            self.log.warning("Downloading the code of %s failed: %s", tid, exc)
            shutil.rmtree(tmp, ignore_errors=True)
            return False
        tmp.rename(target)
        self.log.info("Downloaded the code of %s into %s", tid, target)
        return True

    def _start_worker(self, port, spec):
        worker_id = str(uuid.uuid4())
        spec = dict(spec, worker_id=worker_id)
        wdir = self.workers_dir / worker_id
        wdir.mkdir(parents=True)
        (wdir / "spec.json").write_text(json.dumps(spec, indent=1, sort_keys=True))
        artifacts = config.workers_artifacts_dir(self.conf) / spec["topology_id"] / str(port)
        artifacts.mkdir(parents=True, exist_ok=True)
        cmd = [sys.executable, str(STORM_BIN), *self.config_args, "__worker",
               spec["topology_id"], self.id, str(port), worker_id]
        with open(artifacts / "worker.log.out", "ab") as out, \
                open(artifacts / "worker.log.err", "ab") as err:
            proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                                    start_new_session=True)
        self.workers[port] = WorkerProcess(spec, proc)
        self.log.info("Launched worker %s (pid %s) for %s on port %s with executors %s",
                      worker_id, proc.pid, spec["topology_id"], port, spec["executors"])

    def _stop_worker(self, port, grace):
        worker = self.workers.pop(port)
        worker.stop(grace)
        shutil.rmtree(self.workers_dir / worker.spec["worker_id"], ignore_errors=True)
        self.log.info("Shut down worker %s on port %s", worker.spec["worker_id"], port)


def main(conf, config_args):
    log, stop = daemon.start(conf, "supervisor")
    Supervisor(conf, log, stop, config_args).run()
