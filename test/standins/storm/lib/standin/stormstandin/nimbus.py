"""`storm nimbus`: registration, leader election, topology state, the blob store.

Leader election follows Curator's LeaderLatch, which Storm uses: every nimbus creates an
EPHEMERAL_SEQUENTIAL `_c_<uuid>-latch-` node under <root>/leader-lock holding
"host:port"; the lowest sequence number leads; when its session ends the next one takes
over.  Only the leader accepts uploads, submissions and kills, and computes assignments;
the others copy the leader's topology blobs every nimbus.code.sync.freq.secs.
"""

import getpass
import gzip
import json
import pathlib
import threading
import time
import uuid

from kazoo.exceptions import NoNodeError
from kazoo.protocol.states import KazooState

from . import VERSION, daemon, scheduler
from .stormthrift import ThriftServer, client, storm, to_bytes
from .topology import TopologyInfo
from .zk import Cluster

STATUS = {v: k for k, v in storm.TopologyStatus._NAMES_TO_VALUES.items()}
BLOB_SUFFIXES = ("stormjar.jar", "stormcode.ser", "stormconf.ser")


def latch_seq(name):
    return name.rsplit("-latch-", 1)[-1]


def blob_keys(topology_id):
    return [f"{topology_id}-{suffix}" for suffix in BLOB_SUFFIXES]


class Nimbus:
    def __init__(self, conf, log, stop):
        self.conf, self.log, self.stop = conf, log, stop
        self.host, self.port = daemon.hostname(conf), conf["nimbus.thrift.port"]
        self.id = f"{self.host}:{self.port}"
        local = pathlib.Path(conf["storm.local.dir"])
        self.inbox, self.blobs = local / "nimbus" / "inbox", local / "blobs"
        self.inbox.mkdir(parents=True, exist_ok=True)
        self.blobs.mkdir(parents=True, exist_ok=True)
        self.started = daemon.now()
        self.zk = Cluster(conf, "nimbus")
        self.lock = threading.RLock()  # submissions, kills and assignments, one at a time
        self.wake = threading.Event()
        self.leader = None  # unknown until the first check, which logs either way
        self.latch = None
        self.kill_deadlines = {}
        self.submitted = 0
        self.owner = getpass.getuser()

    # ---- lifecycle -----------------------------------------------------------------
    def run(self):
        from .nimbus_api import NimbusHandler  # the Thrift handler needs this module

        self.handler = NimbusHandler(self)
        server = ThriftServer(storm.Nimbus, self.handler, self.port,
                              client_timeout=self.conf["storm.thrift.socket.timeout.ms"] / 1e3)
        self.zk.start()
        self.zk.client.add_listener(self._on_state)
        self.zk.client.ChildrenWatch(self.zk.path("leader-lock"), lambda _c: self.wake.set())
        self.zk.client.ChildrenWatch(self.zk.path("supervisors"), lambda _c: self.wake.set())
        server.start()
        self.log.info("Nimbus %s serving Thrift on 0.0.0.0:%d", self.id, self.port)
        timers = {"monitor": 0.0, "sync": time.time() + 2, "inbox": 0.0}
        woke = False
        try:
            while not self.stop.is_set():
                if self.zk.client.state == KazooState.CONNECTED:
                    self._ensure_registered()
                    self._check_leader()
                    self._periodic(timers, woke)
                self.handler.expire_sessions()
                woke = self.wake.wait(1.0)
                self.wake.clear()
        finally:
            server.close()
            self.zk.stop()  # closing the session removes the ephemeral nodes now
            self.log.info("Nimbus %s stopped", self.id)

    def _periodic(self, timers, woke):
        now = time.time()
        if self.leader and (now >= timers["monitor"] or woke):
            self.monitor()
            # Wake up for the next kill whose wait is over, not only every monitor period.
            timers["monitor"] = min([now + self.conf["nimbus.monitor.freq.secs"],
                                     *self.kill_deadlines.values()])
        if not self.leader and now >= timers["sync"]:
            self.sync_code()
            timers["sync"] = now + self.conf["nimbus.code.sync.freq.secs"]
        if now >= timers["inbox"]:
            self._clean_inbox()
            timers["inbox"] = now + self.conf["nimbus.cleanup.inbox.freq.secs"]

    def _on_state(self, state):
        if state != KazooState.CONNECTED and self.leader:
            # Like Curator's LeaderLatch: a suspended or lost session is not a leader.
            self.leader = False
            self.log.warning("ZooKeeper connection %s: no longer the leader", state)
        self.wake.set()

    def _ensure_registered(self):
        path = self.zk.path("nimbuses", self.id)
        stat = self.zk.client.exists(path)
        if stat is None or stat.ephemeralOwner != self.zk.client.client_id[0]:
            summary = storm.NimbusSummary(host=self.host, port=self.port,
                                          uptime_secs=self.started, isLeader=False,
                                          version=VERSION)
            self.zk.register(summary, "nimbuses", self.id)
            self.log.info("Registered nimbus %s in ZooKeeper", self.id)
        if self.latch is None or self.zk.client.exists(self.latch) is None:
            self.latch = self.zk.client.create(
                self.zk.path("leader-lock", f"_c_{uuid.uuid4()}-latch-"), self.id.encode(),
                ephemeral=True, sequence=True, makepath=True)
            self.log.info("Joined leader election as %s", self.latch.rsplit("/", 1)[-1])

    def leader_id(self):
        """host:port of the leader (lowest latch), or None."""
        for name in sorted(self.zk.children("leader-lock"), key=latch_seq):
            try:
                return self.zk.client.get(self.zk.path("leader-lock", name))[0].decode()
            except NoNodeError:
                continue
        return None

    def _check_leader(self):
        latches = sorted(self.zk.children("leader-lock"), key=latch_seq)
        leading = bool(latches) and self.latch is not None and \
            self.latch.endswith("/" + latches[0])
        if leading != self.leader:
            self.leader = leading
            if leading:
                self.log.info("Nimbus %s gained leadership", self.id)
                self.kill_deadlines.clear()  # restart pending kills' timers, as Storm does
            else:
                self.log.info("Nimbus %s is not the leader (leader: %s)", self.id,
                              self.leader_id())

    def assert_leader(self):
        if not self.leader:
            raise RuntimeError(f"not a leader, current leader is {self.leader_id()}")

    # ---- cluster state ---------------------------------------------------------------
    def supervisors(self):
        found = {}
        for sid in self.zk.children("supervisors"):
            info = self.zk.read(storm.SupervisorInfo, "supervisors", sid)
            if info is not None:
                found[sid] = info
        return found

    def bases(self):
        found = {}
        for tid in self.zk.children("storms"):
            base = self.zk.read(storm.StormBase, "storms", tid)
            if base is not None:
                found[tid] = base
        return found

    def assignments(self):
        return {tid: self.zk.read(storm.Assignment, "assignments", tid)
                for tid in self.zk.children("assignments")}

    def find_alive(self, name):
        for tid, base in self.bases().items():
            if base.name == name:
                return tid, base
        return None, None

    # ---- blobs -----------------------------------------------------------------------
    def blob(self, key):
        path = (self.blobs / key).resolve()
        if path.parent != self.blobs.resolve():
            raise ValueError(f"invalid blob key {key!r}")
        return path

    def topology_of(self, tid):
        """(StormTopology, topology conf) from this nimbus' blobs, or (None, None)."""
        from .stormthrift import from_bytes

        try:
            topology = from_bytes(storm.StormTopology, self.blob(f"{tid}-stormcode.ser")
                                  .read_bytes())
            conf = json.loads(gzip.decompress(self.blob(f"{tid}-stormconf.ser").read_bytes()))
        except FileNotFoundError:
            return None, None
        return topology, conf

    def store_blobs(self, tid, jar, topology, topo_conf):
        jar.replace(self.blob(f"{tid}-stormjar.jar"))
        self.blob(f"{tid}-stormcode.ser").write_bytes(to_bytes(topology))
        data = gzip.compress(json.dumps(topo_conf, sort_keys=True).encode(), mtime=0)
        self.blob(f"{tid}-stormconf.ser").write_bytes(data)

    def drop_blobs(self, tid):
        for key in blob_keys(tid):
            self.blob(key).unlink(missing_ok=True)

    def sync_code(self):
        """Non-leaders: copy the blobs of active topologies from the leader."""
        leader = self.leader_id()
        alive = set(self.zk.children("storms"))
        for path in self.blobs.iterdir():
            if path.name.rsplit("-", 1)[0] not in alive:
                path.unlink(missing_ok=True)
        if not leader or leader == self.id:
            return
        host, port = leader.rsplit(":", 1)
        missing = [k for tid in sorted(alive) for k in blob_keys(tid) if not self.blob(k).exists()]
        if not missing:
            return
        try:
            with client(storm.Nimbus, host, int(port)) as c:
                for key in missing:
                    download_blob(c, key, self.blob(key))
                    self.log.info("Copied blob %s from leader %s", key, leader)
        except Exception as exc:  # retried at the next sync
            self.log.warning("Code sync from %s failed: %s", leader, exc)

    def _clean_inbox(self):
        limit = time.time() - self.conf["nimbus.inbox.jar.expiration.secs"]
        for path in self.inbox.glob("stormjar-*.jar"):
            if path.stat().st_mtime < limit:
                path.unlink(missing_ok=True)
                self.log.info("Deleted expired upload %s", path)

    # ---- scheduling and topology lifecycle ---------------------------------------
    def assign(self, tid, base, info, assignments=None, supervisors=None):
        supervisors = self.supervisors() if supervisors is None else supervisors
        assignments = self.assignments() if assignments is None else assignments
        executors = [(s, e) for s, e, _ in info.executors()]
        slots = scheduler.free_slots(supervisors, assignments, except_topology=tid)
        placed = scheduler.schedule(executors, base.num_workers, slots)
        if not placed:
            self.log.warning("No free slot for %s yet (%d supervisors)", tid, len(supervisors))
            return None
        now = daemon.now()
        assignment = storm.Assignment(
            master_code_dir=str(self.blobs),
            node_host={sid: supervisors[sid].hostname for sid, _ in placed.values()},
            executor_node_port={ex: storm.NodeInfo(node=sid, port={port})
                                for ex, (sid, port) in placed.items()},
            executor_start_time_secs={ex: now for ex in placed},
            owner=base.owner)
        self.zk.write(assignment, "assignments", tid)
        self.log.info("Assigned %s to %s", tid, sorted(set(placed.values())))
        return assignment

    def monitor(self):
        """Leader: finish kills whose wait is over, (re)assign what needs it."""
        with self.lock:
            bases, assignments = self.bases(), self.assignments()
            supervisors = self.supervisors()
            for tid in set(assignments) - set(bases):
                self.zk.delete("assignments", tid)
            for tid, base in sorted(bases.items()):
                if base.status == storm.TopologyStatus.KILLED:
                    options = base.topology_action_options
                    wait = options.kill_options.wait_secs if options and \
                        options.kill_options else 0
                    deadline = self.kill_deadlines.setdefault(tid, time.time() + (wait or 0))
                    if time.time() >= deadline:
                        self.remove(tid)
                    continue
                self._reassign_if_needed(tid, base, assignments, supervisors)

    def _reassign_if_needed(self, tid, base, assignments, supervisors):
        topology, topo_conf = self.topology_of(tid)
        if topology is None:
            return
        info = TopologyInfo(topology, topo_conf)
        executors = [(s, e) for s, e, _ in info.executors()]
        current = assignments.get(tid)
        if current is not None and scheduler.is_valid(current, executors, supervisors):
            used = len(scheduler.slots_of(current))
            spare = scheduler.free_slots(supervisors, assignments, except_topology=tid)
            if used >= base.num_workers or len(spare) <= used:
                return
        assignments[tid] = self.assign(tid, base, info, assignments, supervisors)

    def remove(self, tid):
        self.log.info("Cleaning up %s", tid)
        self.zk.delete("assignments", tid)
        self.zk.delete("storms", tid)
        self.zk.delete("errors", tid)
        self.drop_blobs(tid)
        self.kill_deadlines.pop(tid, None)


def download_blob(c, key, target):
    """Fetch a blob with beginBlobDownload/downloadBlobChunk into `target` atomically."""
    begin = c.beginBlobDownload(key)
    tmp = target.with_name(target.name + ".part")
    with open(tmp, "wb") as out:
        while True:
            chunk = c.downloadBlobChunk(begin.session)
            if not chunk:
                break
            out.write(chunk)
    tmp.replace(target)


def main(conf):
    log, stop = daemon.start(conf, "nimbus")
    Nimbus(conf, log, stop).run()
