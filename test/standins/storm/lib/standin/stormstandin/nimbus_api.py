"""The Nimbus Thrift service (storm.thrift `service Nimbus`) served by the stand-in.

Implemented: cluster and topology queries, jar upload (leader only, as in Storm 2), file
and blob download, submit, kill (wait_secs honoured), activate, deactivate.  Any other
method of the IDL answers with a TApplicationException saying the stand-in lacks it.
"""

import json
import pathlib
import threading
import time
import uuid

from . import VERSION, config, daemon
from .nimbus import STATUS
from .stormthrift import storm
from .topology import InvalidTopology, TopologyInfo, check_name, validate

CHUNK = 65536


class _Session:
    def __init__(self, path, mode):
        self.file = open(path, mode)  # lives across Thrift calls
        self.touched = time.time()


class NimbusHandler:
    def __init__(self, nimbus):
        self.n = nimbus
        self.uploads, self.downloads = {}, {}
        self.sessions_lock = threading.Lock()

    def __getattr__(self, name):
        if name in storm.Nimbus.thrift_services:
            def unimplemented(*_args):
                raise NotImplementedError(f"{name} is not implemented by the Storm stand-in")
            return unimplemented
        raise AttributeError(name)

    def expire_sessions(self):
        limit = time.time() - self.n.conf["nimbus.file.copy.expiration.secs"]
        with self.sessions_lock:
            for table in (self.uploads, self.downloads):
                for key in [k for k, s in table.items() if s.touched < limit]:
                    table.pop(key).file.close()

    # ---- upload / download -------------------------------------------------------
    def beginFileUpload(self):
        self.n.assert_leader()
        location = str(self.n.inbox / f"stormjar-{uuid.uuid4()}.jar")
        with self.sessions_lock:
            self.uploads[location] = _Session(location, "wb")
        self.n.log.info("Uploading file from client to %s", location)
        return location

    def uploadChunk(self, location, chunk):
        with self.sessions_lock:
            session = self.uploads.get(location)
        if session is None:
            raise RuntimeError("File for that location does not exist (or timed out)")
        session.file.write(chunk)
        session.touched = time.time()

    def finishFileUpload(self, location):
        with self.sessions_lock:
            session = self.uploads.pop(location, None)
        if session is None:
            raise RuntimeError("File for that location does not exist (or timed out)")
        session.file.close()
        self.n.log.info("Finished uploading file from client: %s", location)

    def _begin_download(self, path):
        session_id = str(uuid.uuid4())
        with self.sessions_lock:
            self.downloads[session_id] = _Session(path, "rb")
        return session_id

    def _chunk(self, session_id):
        with self.sessions_lock:
            session = self.downloads.get(session_id)
        if session is None:
            raise RuntimeError("Download session does not exist (or timed out)")
        data = session.file.read(CHUNK)
        session.touched = time.time()
        if not data:
            with self.sessions_lock:
                self.downloads.pop(session_id, None)
            session.file.close()
        return data

    def beginFileDownload(self, file):
        path = pathlib.Path(file).resolve()
        allowed = (self.n.blobs.resolve(), self.n.inbox.resolve())
        if path.parent not in allowed or not path.is_file():
            raise storm.AuthorizationException(msg=f"{file} is not a file nimbus serves")
        return self._begin_download(path)

    def downloadChunk(self, id):  # the IDL's parameter name
        return self._chunk(id)

    def beginBlobDownload(self, key):
        path = self.n.blob(key)
        if not path.is_file():
            raise storm.KeyNotFoundException(msg=key)
        stat = path.stat()
        return storm.BeginDownloadResult(version=int(stat.st_mtime * 1000),
                                         session=self._begin_download(path),
                                         data_size=stat.st_size)

    def downloadBlobChunk(self, session):
        return self._chunk(session)

    def getBlobMeta(self, key):
        path = self.n.blob(key)
        if not path.is_file():
            raise storm.KeyNotFoundException(msg=key)
        return storm.ReadableBlobMeta(settable=storm.SettableBlobMeta(acl=[]),
                                      version=int(path.stat().st_mtime * 1000))

    def listBlobs(self, session):
        return storm.ListBlobsResult(keys=sorted(p.name for p in self.n.blobs.iterdir()
                                                 if not p.name.endswith(".part")),
                                     session="")

    # ---- queries -----------------------------------------------------------------
    def getNimbusConf(self):
        return json.dumps(self.n.conf, sort_keys=True)

    def _nimbus_summaries(self):
        leader, now = self.n.leader_id(), daemon.now()
        out = []
        for nid in self.n.zk.children("nimbuses"):
            summary = self.n.zk.read(storm.NimbusSummary, "nimbuses", nid)
            if summary is None:
                continue
            # Stored uptime_secs is the start time, as Storm's Nimbus does.
            summary.uptime_secs = max(0, now - summary.uptime_secs)
            summary.isLeader = nid == leader
            out.append(summary)
        return out

    def getLeader(self):
        for summary in self._nimbus_summaries():
            if summary.isLeader:
                return summary
        leader = self.n.leader_id()
        if leader is None:
            raise RuntimeError("No leader nimbus found")
        host, port = leader.rsplit(":", 1)
        return storm.NimbusSummary(host=host, port=int(port), uptime_secs=0, isLeader=True,
                                   version=VERSION)

    def _topology_summary(self, tid, base, assignment):
        placed = (assignment.executor_node_port or {}) if assignment else {}
        return storm.TopologySummary(
            id=tid, name=base.name, num_tasks=sum(e - s + 1 for s, e in placed),
            num_executors=len(placed),
            num_workers=len({(n.node, p) for n in placed.values() for p in n.port}),
            uptime_secs=max(0, daemon.now() - (base.launch_time_secs or daemon.now())),
            status=STATUS[base.status], owner=base.owner, sched_status="",
            replication_count=1)

    def getClusterInfo(self):
        assignments = self.n.assignments()
        used = {}
        for assignment in assignments.values():
            for node in (assignment.executor_node_port or {}).values() if assignment else ():
                used.setdefault(node.node, set()).update(node.port)
        supervisors = [
            storm.SupervisorSummary(
                host=info.hostname, uptime_secs=info.uptime_secs or 0,
                num_workers=len(info.meta or []), num_used_workers=len(used.get(sid, ())),
                supervisor_id=sid, version=info.version or VERSION,
                total_resources=info.resources_map or {}, used_mem=0.0, used_cpu=0.0)
            for sid, info in sorted(self.n.supervisors().items())]
        topologies = [self._topology_summary(tid, base, assignments.get(tid))
                      for tid, base in sorted(self.n.bases().items())]
        return storm.ClusterSummary(supervisors=supervisors, topologies=topologies,
                                    nimbuses=self._nimbus_summaries(),
                                    nimbus_uptime_secs=daemon.now() - self.n.started)

    def isTopologyNameAllowed(self, name):
        try:
            check_name(name)
        except InvalidTopology:
            return False
        return self.n.find_alive(name)[0] is None

    def _base(self, tid):
        base = self.n.zk.read(storm.StormBase, "storms", tid)
        if base is None:
            raise storm.NotAliveException(msg=tid)
        return base

    def getTopologyInfo(self, id):  # the IDL's parameter name
        base = self._base(id)
        assignment = self.n.zk.read(storm.Assignment, "assignments", id)
        topology, topo_conf = self.n.topology_of(id)
        tasks = {}
        if topology is not None:
            tasks = TopologyInfo(topology, topo_conf).task_component
        now, executors = daemon.now(), []
        placed = (assignment.executor_node_port or {}) if assignment else {}
        for (start, end), node in sorted(placed.items()):
            started = (assignment.executor_start_time_secs or {}).get((start, end), now)
            executors.append(storm.ExecutorSummary(
                executor_info=storm.ExecutorInfo(task_start=start, task_end=end),
                component_id=tasks.get(start, "unknown"),
                host=assignment.node_host.get(node.node, node.node), port=min(node.port),
                uptime_secs=max(0, now - started)))
        errors = {}
        for comp in self.n.zk.children("errors", id):
            errors[comp] = [e for e in (self.n.zk.read(storm.ErrorInfo, "errors", id, comp, n)
                                        for n in self.n.zk.children("errors", id, comp)) if e]
        return storm.TopologyInfo(
            id=id, name=base.name, uptime_secs=max(0, now - (base.launch_time_secs or now)),
            executors=executors, status=STATUS[base.status], errors=errors,
            owner=base.owner, sched_status="", replication_count=1)

    def getTopologyInfoWithOpts(self, id, options):
        return self.getTopologyInfo(id)

    def getTopologyConf(self, id):
        self._base(id)
        return json.dumps(self.n.topology_of(id)[1] or {}, sort_keys=True)

    def getUserTopology(self, id):
        self._base(id)
        topology = self.n.topology_of(id)[0]
        if topology is None:
            raise RuntimeError(f"nimbus {self.n.id} does not have the code of {id} yet")
        return topology

    # The stand-in adds no system components to the topology it stores.
    getTopology = getUserTopology

    def getTopologyHistory(self, user):
        return storm.TopologyHistoryInfo(topo_ids=sorted(self.n.bases()))

    # ---- actions (leader only) -------------------------------------------------------
    def submitTopology(self, name, uploadedJarLocation, jsonConf, topology):
        options = storm.SubmitOptions(initial_status=storm.TopologyInitialStatus.ACTIVE)
        return self.submitTopologyWithOpts(name, uploadedJarLocation, jsonConf, topology,
                                           options)

    def submitTopologyWithOpts(self, name, uploadedJarLocation, jsonConf, topology, options):
        n = self.n
        with n.lock:
            n.assert_leader()
            user_conf = json.loads(jsonConf) if jsonConf else {}
            if not isinstance(user_conf, dict):
                raise storm.InvalidTopologyException(msg="topology conf must be a JSON map")
            try:
                config.validate_types(user_conf, "topology conf")
            except config.ConfigError as exc:
                raise storm.InvalidTopologyException(msg=str(exc)) from exc
            if n.find_alive(name)[0] is not None:
                raise storm.AlreadyAliveException(
                    msg=f"Topology with name `{name}` already exists on cluster")
            topo_conf = dict(user_conf)
            workers = topo_conf.get("topology.workers") or n.conf["topology.workers"]
            ackers = topo_conf.get("topology.acker.executors",
                                   n.conf.get("topology.acker.executors"))
            n.submitted += 1
            tid = f"{name}-{n.submitted}-{daemon.now()}"
            topo_conf.update({"storm.id": tid, "topology.name": name,
                              "topology.workers": workers,
                              "topology.acker.executors": workers if ackers is None else ackers,
                              "topology.submitter.user": n.owner})
            try:
                info = validate(name, topology, topo_conf)
            except InvalidTopology as exc:
                raise storm.InvalidTopologyException(msg=str(exc)) from exc
            jar = pathlib.Path(uploadedJarLocation or "").resolve()
            if jar.parent != n.inbox.resolve() or not jar.is_file():
                raise RuntimeError(f"Uploaded jar {uploadedJarLocation} not found in the inbox")
            n.store_blobs(tid, jar, topology, topo_conf)
            initial = options.initial_status if options else None
            base = storm.StormBase(
                name=name, num_workers=workers, launch_time_secs=daemon.now(),
                status=(storm.TopologyStatus.INACTIVE
                        if initial == storm.TopologyInitialStatus.INACTIVE
                        else storm.TopologyStatus.ACTIVE),
                component_executors={c: len(info.components[c].executors)
                                     for c in info.user_components},
                owner=n.owner)
            n.zk.write(base, "storms", tid)
            n.log.info("Received topology submission for %s (%s) with conf %s", name, tid,
                       json.dumps(user_conf, sort_keys=True))
            n.assign(tid, base, info)

    def killTopology(self, name):
        return self.killTopologyWithOpts(name, storm.KillOptions())

    def killTopologyWithOpts(self, name, options):
        n = self.n
        with n.lock:
            n.assert_leader()
            tid, base = n.find_alive(name)
            if tid is None:
                raise storm.NotAliveException(msg=f"{name} is not alive")
            wait = options.wait_secs if options else None
            if wait is None:
                wait = (n.topology_of(tid)[1] or {}).get(
                    "topology.message.timeout.secs", n.conf["topology.message.timeout.secs"])
            base.prev_status, base.status = base.status, storm.TopologyStatus.KILLED
            base.topology_action_options = storm.TopologyActionOptions(
                kill_options=storm.KillOptions(wait_secs=wait))
            n.zk.write(base, "storms", tid)
            n.kill_deadlines[tid] = time.time() + wait
            n.log.info("Killing %s (%s) in %ss", name, tid, wait)
        n.wake.set()

    def _set_status(self, name, status):
        n = self.n
        with n.lock:
            n.assert_leader()
            tid, base = n.find_alive(name)
            if tid is None:
                raise storm.NotAliveException(msg=f"{name} is not alive")
            if base.status in (storm.TopologyStatus.ACTIVE, storm.TopologyStatus.INACTIVE):
                base.prev_status, base.status = base.status, status
                n.zk.write(base, "storms", tid)
                n.log.info("%s %s (%s)", STATUS[status].lower(), name, tid)

    def activate(self, name):
        self._set_status(name, storm.TopologyStatus.ACTIVE)

    def deactivate(self, name):
        self._set_status(name, storm.TopologyStatus.INACTIVE)

