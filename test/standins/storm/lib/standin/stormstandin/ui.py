"""`storm ui`: Storm's UI REST API (docs/STORM-UI-REST-API.md) on ui.port.

Every answer is built from the leader nimbus over Thrift, as Storm's UI does, with Storm's
field names.  Throughput statistics (emitted, acked, latencies) are reported as 0: the
stand-in's workers do not send metrics.  There are no HTML pages beyond an index.
"""

import json
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from . import VERSION, daemon
from .stormthrift import NimbusUnavailable, leader_client, storm

NA = "Not applicable"


def _resources(summary):
    res = summary.total_resources or {}
    return float(res.get("onheap.memory.mb", 0.0)), float(res.get("cpu.pcore.percent", 0.0))


class Api:
    """The JSON documents, one method per endpoint; `c` is a Nimbus Thrift client."""

    def __init__(self, conf):
        self.conf = conf
        self.lv_port = conf["logviewer.port"]

    def cluster_configuration(self, c):
        return json.loads(c.getNimbusConf())

    def cluster_summary(self, c):
        info = c.getClusterInfo()
        total = sum(s.num_workers for s in info.supervisors)
        used = sum(s.num_used_workers for s in info.supervisors)
        mem = sum(_resources(s)[0] for s in info.supervisors)
        cpu = sum(_resources(s)[1] for s in info.supervisors)
        leader = next((n for n in info.nimbuses if n.isLeader), None)
        return {
            "user": None, "stormVersion": VERSION,
            "supervisors": len(info.supervisors), "topologies": len(info.topologies),
            "slotsTotal": total, "slotsUsed": used, "slotsFree": total - used,
            "executorsTotal": sum(t.num_executors for t in info.topologies),
            "tasksTotal": sum(t.num_tasks for t in info.topologies),
            "schedulerDisplayResource": bool(self.conf.get("scheduler.display.resource")),
            "totalMem": mem, "totalCpu": cpu, "availMem": mem, "availCpu": cpu,
            "fragmentedMem": 0.0, "fragmentedCpu": 0.0,
            "memAssignedPercentUtil": 0.0, "cpuAssignedPercentUtil": 0.0,
            "nimbusUptime": daemon.pretty_uptime(leader.uptime_secs) if leader else NA,
            "nimbusUptimeSeconds": leader.uptime_secs if leader else NA,
            "bugtracker-url": self.conf.get("ui.project.bugtracker.url"),
            "central-log-url": self.conf.get("ui.central.logging.url"),
        }

    def nimbus_summary(self, c):
        found = []
        for n in c.getClusterInfo().nimbuses:
            found.append({
                "host": n.host, "port": n.port, "version": n.version,
                "status": "Leader" if n.isLeader else "Not a Leader",
                "nimbusUpTime": daemon.pretty_uptime(n.uptime_secs),
                "nimbusUpTimeSeconds": n.uptime_secs,
                "nimbusLogLink": f"http://{n.host}:{self.lv_port}/daemonlog?file=nimbus.log"})
        registered = {n["host"] for n in found}
        for seed in self.conf["nimbus.seeds"]:
            if seed not in registered:  # a seed with no nimbus registered: Storm says Offline
                found.append({"host": seed, "port": self.conf["nimbus.thrift.port"],
                              "status": "Offline", "version": NA, "nimbusUpTime": NA,
                              "nimbusUpTimeSeconds": NA,
                              "nimbusLogLink": f"http://{seed}:{self.lv_port}/daemonlog"
                                               "?file=nimbus.log"})
        return {"nimbuses": found}

    def _supervisor(self, s):
        mem, cpu = _resources(s)
        return {
            "id": s.supervisor_id, "host": s.host,
            "uptime": daemon.pretty_uptime(s.uptime_secs), "uptimeSeconds": s.uptime_secs,
            "slotsTotal": s.num_workers, "slotsUsed": s.num_used_workers,
            "slotsFree": s.num_workers - s.num_used_workers,
            "totalMem": mem, "totalCpu": cpu, "usedMem": 0.0, "usedCpu": 0.0,
            "availMem": mem, "availCpu": cpu, "version": s.version, "blacklisted": False,
            "logLink": f"http://{s.host}:{self.lv_port}/daemonlog?file=supervisor.log"}

    def supervisor_summary(self, c):
        return {"supervisors": [self._supervisor(s) for s in c.getClusterInfo().supervisors],
                "schedulerDisplayResource": bool(self.conf.get("scheduler.display.resource"))}

    def supervisor(self, c, query):
        sid, host = query.get("id", [None])[0], query.get("host", [None])[0]
        sups = [s for s in c.getClusterInfo().supervisors
                if (sid and s.supervisor_id == sid) or (not sid and host and s.host == host)]
        return {"supervisors": [self._supervisor(s) for s in sups], "workers": [],
                "schedulerDisplayResource": bool(self.conf.get("scheduler.display.resource"))}

    def _topology(self, t):
        return {
            "id": t.id, "encodedId": urllib.parse.quote(t.id, safe=""), "owner": t.owner,
            "name": t.name, "status": t.status,
            "uptime": daemon.pretty_uptime(t.uptime_secs), "uptimeSeconds": t.uptime_secs,
            "tasksTotal": t.num_tasks, "workersTotal": t.num_workers,
            "executorsTotal": t.num_executors, "replicationCount": t.replication_count,
            "schedulerInfo": t.sched_status, "topologyVersion": None,
            "requestedMemOnHeap": 0.0, "requestedMemOffHeap": 0.0, "requestedTotalMem": 0.0,
            "requestedCpu": 0.0, "assignedMemOnHeap": 0.0, "assignedMemOffHeap": 0.0,
            "assignedTotalMem": 0.0, "assignedCpu": 0.0}

    def topology_summary(self, c):
        return {"topologies": [self._topology(t) for t in c.getClusterInfo().topologies],
                "schedulerDisplayResource": bool(self.conf.get("scheduler.display.resource"))}

    def topology_workers(self, c, tid):
        info = c.getTopologyInfo(tid)
        pairs = sorted({(e.host, e.port) for e in info.executors})
        return {"hostPortList": [{"host": h, "port": p} for h, p in pairs],
                "logviewerPort": self.lv_port}

    def topology(self, c, tid):
        info, topo_conf = c.getTopologyInfo(tid), json.loads(c.getTopologyConf(tid))
        user = c.getUserTopology(tid)
        workers, per_comp = {}, {}
        for e in info.executors:
            tasks = e.executor_info.task_end - e.executor_info.task_start + 1
            w = workers.setdefault((e.host, e.port), {
                "topologyName": info.name, "topologyId": tid, "host": e.host, "port": e.port,
                "uptime": daemon.pretty_uptime(e.uptime_secs), "uptimeSeconds": e.uptime_secs,
                "executorsTotal": 0, "componentNumTasks": {},
                "workerLogLink": f"http://{e.host}:{self.lv_port}/api/v1/log?file="
                                 + urllib.parse.quote(f"{tid}/{e.port}/worker.log", safe=""),
                "assignedMemOnHeap": 0.0, "assignedMemOffHeap": 0.0, "assignedCpu": 0.0})
            w["executorsTotal"] += 1
            w["componentNumTasks"][e.component_id] = \
                w["componentNumTasks"].get(e.component_id, 0) + tasks
            counts = per_comp.setdefault(e.component_id, [0, 0])
            counts[0] += 1
            counts[1] += tasks
        zero = {"emitted": 0, "transferred": 0, "acked": 0, "failed": 0}
        return {
            **self._topology(storm.TopologySummary(
                id=tid, name=info.name, num_tasks=sum(v[1] for v in per_comp.values()),
                num_executors=len(info.executors), num_workers=len(workers),
                uptime_secs=info.uptime_secs, status=info.status, owner=info.owner,
                sched_status=info.sched_status, replication_count=info.replication_count)),
            "msgTimeout": topo_conf.get("topology.message.timeout.secs"),
            "window": ":all-time", "windowHint": "All time", "debug": False,
            "samplingPct": 10,
            "schedulerDisplayResource": bool(self.conf.get("scheduler.display.resource")),
            "topologyStats": [{"window": ":all-time", "windowPretty": "All time",
                               "completeLatency": "0.000", **zero}],
            "workers": list(workers.values()),
            "spouts": [self._component(info, cid, per_comp, "spoutId", zero,
                                       completeLatency="0.000")
                       for cid in sorted(user.spouts)],
            "bolts": [self._component(info, cid, per_comp, "boltId", zero, capacity="0.000",
                                      executeLatency="0.000", processLatency="0.000",
                                      executed=0)
                      for cid in sorted(user.bolts)],
            "configuration": topo_conf,
        }

    def _component(self, info, cid, per_comp, id_field, zero, **extra):
        errors = (info.errors or {}).get(cid) or []
        last = max(errors, key=lambda e: e.error_time_secs) if errors else None
        executors, tasks = per_comp.get(cid, (0, 0))
        return {id_field: cid, "encodedId": urllib.parse.quote(cid, safe=""),
                "executors": executors, "tasks": tasks, **zero, **extra,
                "lastError": last.error if last else "",
                "errorHost": last.host if last else "", "errorPort": last.port if last else None,
                "errorTime": last.error_time_secs if last else None,
                "errorLapsedSecs": daemon.now() - last.error_time_secs if last else None,
                "errorWorkerLogLink": ""}


class Handler(BaseHTTPRequestHandler):
    timeout = 30  # seconds a client may take to send its request
    api: Api = None
    log = None

    def log_message(self, fmt, *args):
        self.log.debug("%s %s", self.address_string(), fmt % args)

    def _reply(self, status, body, query=None):
        data = json.dumps(body, default=str)
        callback = (query or {}).get("callback", [None])[0]
        if callback:
            data = f"{callback}({data});"
        raw = data.encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/javascript" if callback
                         else "application/json;charset=utf-8")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def _dispatch(self, method):
        url = urllib.parse.urlsplit(self.path)
        query = urllib.parse.parse_qs(url.query)
        parts = [urllib.parse.unquote(p) for p in url.path.strip("/").split("/") if p]
        if method == "GET" and not parts:
            return self._index()
        try:
            with leader_client(self.api.conf) as c:
                body = self._route(c, method, parts, query)
        except NimbusUnavailable as exc:
            return self._reply(500, {"error": "Internal Server Error",
                                     "errorMessage": str(exc)}, query)
        except storm.NotAliveException as exc:
            return self._reply(404, {"error": "Not Found", "errorMessage": exc.msg}, query)
        except Exception as exc:  # reported to the client like Storm's UI
            self.log.warning("%s %s failed: %s", method, self.path, exc)
            return self._reply(500, {"error": "Internal Server Error",
                                     "errorMessage": str(exc)}, query)
        if body is None:
            return self._reply(404, {"error": "Not Found",
                                     "errorMessage": f"no such endpoint {url.path}"}, query)
        return self._reply(200, body, query)

    def _route(self, c, method, parts, query):
        api = self.api
        if parts[:2] != ["api", "v1"]:
            return None
        rest = parts[2:]
        if method == "POST":
            return self._action(c, rest)
        simple = {("cluster", "configuration"): api.cluster_configuration,
                  ("cluster", "summary"): api.cluster_summary,
                  ("nimbus", "summary"): api.nimbus_summary,
                  ("supervisor", "summary"): api.supervisor_summary,
                  ("topology", "summary"): api.topology_summary}
        if tuple(rest) in simple:
            return simple[tuple(rest)](c)
        if rest == ["supervisor"]:
            return api.supervisor(c, query)
        if rest == ["history", "summary"]:
            return {"topo-history": c.getTopologyHistory("").topo_ids}
        if len(rest) == 2 and rest[0] == "topology-workers":
            return api.topology_workers(c, rest[1])
        if len(rest) == 2 and rest[0] == "topology":
            return api.topology(c, rest[1])
        return None

    def _action(self, c, rest):
        """POST /api/v1/topology/<id>/activate|deactivate|kill/<wait-secs>."""
        if len(rest) < 3 or rest[0] != "topology":
            return None
        tid, action = rest[1], rest[2]
        name = c.getTopologyInfo(tid).name
        if action == "activate":
            c.activate(name)
        elif action == "deactivate":
            c.deactivate(name)
        elif action == "kill" and len(rest) == 4 and rest[3].isdigit():
            c.killTopologyWithOpts(name, storm.KillOptions(wait_secs=int(rest[3])))
        else:
            return None
        return {"topologyOperation": action, "topologyId": tid, "status": "success"}

    def _index(self):
        raw = (f"<html><head><title>Storm UI (stand-in)</title></head><body><h1>Storm "
               f"{VERSION} UI: stand-in</h1><p>This is test equipment, not Apache Storm. The "
               "REST API is under <a href='/api/v1/cluster/summary'>/api/v1/</a>.</p>"
               "</body></html>").encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html;charset=utf-8")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def do_GET(self):  # http.server's name
        self._dispatch("GET")

    def do_POST(self):
        self._dispatch("POST")


def serve(conf, name, handler_cls, host, port, log, stop):
    """Run an HTTP server until `stop` is set (shared by the UI and the logviewer)."""
    handler = type(f"{name}Handler", (handler_cls,), {"log": log})
    server = ThreadingHTTPServer((host, port), handler)
    server.daemon_threads = True
    server.timeout = 0.5
    log.info("%s serving http://%s:%d/", name, host, port)
    try:
        while not stop.is_set():
            server.handle_request()
    finally:
        server.server_close()
        log.info("%s stopped", name)


def main(conf):
    log, stop = daemon.start(conf, "ui")
    Handler.api = Api(conf)
    serve(conf, "UI", Handler, conf.get("ui.host") or "0.0.0.0", conf["ui.port"], log, stop)
