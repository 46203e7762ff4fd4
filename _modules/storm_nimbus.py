"""
The state of a Storm cluster read from its leader nimbus over Nimbus's Thrift API (the port
of ``nimbus.thrift.port``, 6627 by default; framed transport, binary protocol), the way
Storm's own clients read it: the leader, nimbuses, supervisors with their slots,
topologies with their status, and a topology's executors with their counts and errors.

Needs ``thriftpy2`` in Salt's own Python (``salt-pip install thriftpy2``). The module
carries the part of Storm's Thrift IDL it reads; Thrift skips the fields a reader does not
declare, so this subset decodes the answers of a real Storm nimbus.

Every function takes ``seeds``: the nimbus hosts to ask (a list or a comma-separated
string, ``host`` or ``host:port``), ``port`` (6627) and ``timeout`` in seconds (5, for
connecting and for each answer).
"""

import contextlib
import io
import json

from salt.exceptions import CommandExecutionError

try:
    import thriftpy2
    from thriftpy2.protocol import TBinaryProtocolFactory
    from thriftpy2.rpc import make_client
    from thriftpy2.thrift import TException
    from thriftpy2.transport import TFramedTransportFactory

    HAS_THRIFTPY2 = True
except ImportError:
    HAS_THRIFTPY2 = False

__virtualname__ = "storm_nimbus"

# The window of ExecutorStats that counts since the executor started (others: "600",
# "10800", "86400" seconds).
ALL_TIME = ":all-time"
# Errors kept per component, the most recent first (Storm keeps the last ten).
ERRORS_PER_COMPONENT = 5
ERROR_CHARS = 500

# A subset of Storm's storm-client/src/storm.thrift (Storm 2.8): only the structs, fields,
# exceptions and Nimbus methods this module reads. The field ids, types and requiredness
# follow Storm's storm.thrift exactly; the fields left out are skipped on decoding.
IDL = """
namespace java org.apache.storm.generated

struct GlobalStreamId {
  1: required string componentId;
  2: required string streamId;
}

exception NotAliveException {
  1: required string msg;
}

exception AuthorizationException {
  1: required string msg;
}

struct TopologySummary {
  1: required string id;
  2: required string name;
  3: required i32 num_tasks;
  4: required i32 num_executors;
  5: required i32 num_workers;
  6: required i32 uptime_secs;
  7: required string status;
}

struct SupervisorSummary {
  1: required string host;
  2: required i32 uptime_secs;
  3: required i32 num_workers;
  4: required i32 num_used_workers;
  5: required string supervisor_id;
  6: optional string version = "VERSION_NOT_PROVIDED";
}

struct NimbusSummary {
  1: required string host;
  2: required i32 port;
  3: required i32 uptime_secs;
  4: required bool isLeader;
  5: required string version;
}

struct ClusterSummary {
  1: required list<SupervisorSummary> supervisors;
  3: required list<TopologySummary> topologies;
  4: required list<NimbusSummary> nimbuses;
}

struct ErrorInfo {
  1: required string error;
  2: required i32 error_time_secs;
  3: optional string host;
  4: optional i32 port;
}

struct BoltStats {
  1: required map<string, map<GlobalStreamId, i64>> acked;
  2: required map<string, map<GlobalStreamId, i64>> failed;
}

struct SpoutStats {
  1: required map<string, map<string, i64>> acked;
  2: required map<string, map<string, i64>> failed;
}

union ExecutorSpecificStats {
  1: BoltStats bolt;
  2: SpoutStats spout;
}

struct ExecutorStats {
  1: required map<string, map<string, i64>> emitted;
  2: required map<string, map<string, i64>> transferred;
  3: required ExecutorSpecificStats specific;
}

struct ExecutorInfo {
  1: required i32 task_start;
  2: required i32 task_end;
}

struct ExecutorSummary {
  1: required ExecutorInfo executor_info;
  2: required string component_id;
  3: required string host;
  4: required i32 port;
  5: required i32 uptime_secs;
  7: optional ExecutorStats stats;
}

struct TopologyInfo {
  1: required string id;
  2: required string name;
  3: required i32 uptime_secs;
  4: required list<ExecutorSummary> executors;
  5: required string status;
  6: required map<string, list<ErrorInfo>> errors;
}

service Nimbus {
  ClusterSummary getClusterInfo() throws (1: AuthorizationException aze);
  NimbusSummary getLeader() throws (1: AuthorizationException aze);
  TopologyInfo getTopologyInfo(1: string id)
    throws (1: NotAliveException e, 2: AuthorizationException aze);
  string getTopologyConf(1: string id)
    throws (1: NotAliveException e, 2: AuthorizationException aze);
}
"""

if HAS_THRIFTPY2:
    storm_thrift = thriftpy2.load_fp(io.StringIO(IDL), module_name="storm_nimbus_thrift")


def __virtual__():
    if not HAS_THRIFTPY2:
        return (False, "storm_nimbus needs the thriftpy2 package in Salt's Python "
                       "(salt-pip install thriftpy2)")
    return __virtualname__


def _seeds(seeds, port):
    """[(host, port)] from a list or a comma-separated string of host or host:port."""
    try:
        port = int(port)
    except (TypeError, ValueError):
        raise CommandExecutionError(f"storm_nimbus: port {port!r} is not a number") from None
    if seeds is None:
        seeds = []
    if isinstance(seeds, str):
        seeds = seeds.split(",")
    found = []
    for seed in seeds:
        seed = str(seed).strip()
        if not seed:
            continue
        host, sep, seed_port = seed.rpartition(":")
        if sep and host and seed_port.isdigit() and ":" not in host:
            found.append((host, int(seed_port)))
        else:
            found.append((seed.strip("[]"), port))
    if not found:
        raise CommandExecutionError("storm_nimbus: no nimbus seeds given")
    return found


def _cause(exc):
    """A short text for a thriftpy2, Storm or socket error."""
    msg = getattr(exc, "msg", None)  # Storm's exceptions (NotAliveException, ...)
    if msg is None:
        msg = getattr(exc, "message", None) or str(exc) or repr(exc)
    return f"{type(exc).__name__}: {msg}"


@contextlib.contextmanager
def _nimbus(targets, timeout):
    """
    A Nimbus client connected to the first of ``targets`` ([(host, port)]) that accepts
    the connection, closed on leaving. Thrift and socket errors, in the block too, become
    CommandExecutionError("nimbus <host>:<port>: <cause>").
    """
    client, failures = None, []
    for host, port in targets:
        where = f"nimbus {host}:{port}"
        try:
            client = make_client(storm_thrift.Nimbus, host, int(port),
                                 proto_factory=TBinaryProtocolFactory(),
                                 trans_factory=TFramedTransportFactory(),
                                 timeout=max(1, int(float(timeout) * 1000)))
            break
        except (TException, OSError) as exc:
            failures.append(f"{where}: cannot connect ({_cause(exc)})")
    if client is None:
        raise CommandExecutionError("; ".join(failures))
    try:
        yield client
    except (TException, OSError, EOFError) as exc:
        raise CommandExecutionError(f"{where}: {_cause(exc)}") from None
    finally:
        with contextlib.suppress(Exception):
            client.close()


def _nimbus_dict(summary):
    return {"host": summary.host, "port": int(summary.port),
            "is_leader": bool(summary.isLeader), "version": summary.version,
            "uptime_secs": int(summary.uptime_secs)}


def _find_leader(seeds, port, timeout):
    """(leader's NimbusSummary as a dict, (host, port) of the seed that answered)."""
    failures = []
    for host, seed_port in _seeds(seeds, port):
        try:
            with _nimbus([(host, seed_port)], timeout) as client:
                answer = client.getLeader()
        except CommandExecutionError as exc:
            failures.append(str(exc))
            continue
        if answer is None or not answer.host or not answer.isLeader:
            failures.append(f"nimbus {host}:{seed_port}: answered getLeader without a leader")
            continue
        return _nimbus_dict(answer), (host, seed_port)
    raise CommandExecutionError(
        "no Storm nimbus leader found (no nimbus answered getLeader, or none is leader "
        "yet): " + "; ".join(failures))


def _on_leader(seeds, port, timeout, call):
    """
    ``call(client)`` on the leader nimbus, or on the seed that named it when the leader's
    own address takes no connection from here (a name this host cannot resolve).
    Returns (leader dict, call's answer).
    """
    found, seed = _find_leader(seeds, port, timeout)
    targets = [(found["host"], found["port"])]
    if seed not in targets:
        targets.append(seed)
    with _nimbus(targets, timeout) as client:
        return found, call(client)


def leader(seeds, port=6627, timeout=5):
    """
    The leader nimbus as the seeds see it, asking each seed ``getLeader()`` in turn until
    one answers: ``{"host", "port", "version", "uptime_secs"}``. Raises, naming every seed
    and its error, when none answers or no nimbus is leader.

    CLI Example:

    .. code-block:: bash

        salt nimbus1 storm_nimbus.leader nimbus1,nimbus2
        salt nimbus1 storm_nimbus.leader '[10.0.0.21, 10.0.0.22]' port=6627 timeout=5
    """
    found, _ = _find_leader(seeds, port, timeout)
    return {key: found[key] for key in ("host", "port", "version", "uptime_secs")}


def leader_address(seeds, port=6627, timeout=5):
    """
    ``host:port`` of the leader nimbus (the one that accepts uploads and submissions);
    raises when there is none.

    CLI Example:

    .. code-block:: bash

        salt nimbus1 storm_nimbus.leader_address nimbus1,nimbus2
    """
    found = leader(seeds, port, timeout)
    return f"{found['host']}:{found['port']}"


def summary(seeds, port=6627, timeout=5):
    """
    The cluster as the leader nimbus reports it (``getClusterInfo``):

    - ``leader``: ``host:port`` of the one nimbus flagged leader, or None;
    - ``nimbuses``: ``[{"host", "port", "is_leader", "version", "uptime_secs"}]``;
    - ``supervisors``: ``[{"id", "host", "uptime_secs", "slots_total", "slots_used",
      "version"}]`` (a supervisor's slots are its worker ports);
    - ``topologies``: ``[{"id", "name", "status", "num_workers", "num_executors",
      "num_tasks", "uptime_secs"}]``.

    CLI Example:

    .. code-block:: bash

        salt nimbus1 storm_nimbus.summary nimbus1,nimbus2
    """
    _, info = _on_leader(seeds, port, timeout, lambda client: client.getClusterInfo())
    return _summary_dict(info)


def _summary_dict(info):
    nimbuses = [_nimbus_dict(n) for n in info.nimbuses or []]
    leaders = [f"{n['host']}:{n['port']}" for n in nimbuses if n["is_leader"]]
    return {
        "leader": leaders[0] if len(leaders) == 1 else None,
        "nimbuses": nimbuses,
        "supervisors": [
            {"id": s.supervisor_id, "host": s.host, "uptime_secs": int(s.uptime_secs),
             "slots_total": int(s.num_workers), "slots_used": int(s.num_used_workers),
             "version": s.version}
            for s in info.supervisors or []],
        "topologies": [
            {"id": t.id, "name": t.name, "status": t.status,
             "num_workers": int(t.num_workers), "num_executors": int(t.num_executors),
             "num_tasks": int(t.num_tasks), "uptime_secs": int(t.uptime_secs)}
            for t in info.topologies or []],
    }


def _count(windows):
    """The sum over streams of a ``{window: {stream: count}}`` map's all-time window."""
    return int(sum((windows or {}).get(ALL_TIME, {}).values()))


def _executor_dict(executor):
    stats = executor.stats
    specific = stats.specific if stats is not None else None
    counts = (specific.spout or specific.bolt) if specific is not None else None
    return {
        "component": executor.component_id,
        "host": executor.host,
        "port": int(executor.port),
        "task_start": int(executor.executor_info.task_start),
        "task_end": int(executor.executor_info.task_end),
        "uptime_secs": int(executor.uptime_secs or 0),
        "emitted": _count(stats.emitted) if stats is not None else 0,
        "transferred": _count(stats.transferred) if stats is not None else 0,
        "acked": _count(counts.acked) if counts is not None else 0,
        "failed": _count(counts.failed) if counts is not None else 0,
    }


def _error_dict(error):
    lines = (error.error or "").strip().splitlines()
    return {"error": (lines[0] if lines else "")[:ERROR_CHARS],
            "time_secs": int(error.error_time_secs),
            "host": error.host,
            "port": int(error.port) if error.port is not None else None}


def _read_topology(client, name):
    """The topology named ``name`` as a plain dict, or None when there is none."""
    ids = [t.id for t in client.getClusterInfo().topologies or [] if t.name == name]
    if not ids:
        return None
    try:
        info = client.getTopologyInfo(ids[0])
    except storm_thrift.NotAliveException:
        return None
    try:
        conf = json.loads(client.getTopologyConf(info.id))
    except storm_thrift.NotAliveException:
        conf = {}  # killed between the two calls
    except ValueError as exc:
        raise CommandExecutionError(
            f"topology {name}: getTopologyConf is not JSON: {exc}") from None

    executors = sorted((_executor_dict(e) for e in info.executors or []),
                       key=lambda e: (e["component"], e["task_start"]))
    components = {}
    acker = {"acked": 0, "failed": 0}
    for executor in executors:
        if executor["component"].startswith("__"):
            if executor["component"] == "__acker":
                acker["acked"] += executor["acked"]
                acker["failed"] += executor["failed"]
            continue
        component = components.setdefault(
            executor["component"],
            {"tasks": 0, "executors": 0, "hosts": [], "acked": 0, "failed": 0,
             "emitted": 0})
        component["tasks"] += executor["task_end"] - executor["task_start"] + 1
        component["executors"] += 1
        if executor["host"] not in component["hosts"]:
            component["hosts"].append(executor["host"])
        for key in ("acked", "failed", "emitted"):
            component[key] += executor[key]
    for component in components.values():
        component["hosts"].sort()

    errors = {}
    for component, listed in sorted((info.errors or {}).items()):
        recent = sorted(listed or [], key=lambda e: e.error_time_secs, reverse=True)
        if recent:
            errors[component] = [_error_dict(e) for e in recent[:ERRORS_PER_COMPONENT]]

    workers = sorted({(e["host"], e["port"]) for e in executors})
    return {
        "id": info.id,
        "name": info.name,
        "status": info.status,
        "uptime_secs": int(info.uptime_secs),
        "conf": conf if isinstance(conf, dict) else {},
        "workers": [{"host": host, "port": worker_port} for host, worker_port in workers],
        "executors": executors,
        "components": components,
        "acker": acker,
        "errors": errors,
    }


def topology(seeds, name, port=6627, timeout=5):
    """
    The running topology ``name`` as the leader nimbus reports it, or None when no
    topology of that name is listed:

    - ``id``, ``name``, ``status`` (ACTIVE, INACTIVE, REBALANCING, KILLED),
      ``uptime_secs``;
    - ``conf``: its configuration (``getTopologyConf``; {} while it is being killed);
    - ``workers``: ``[{"host", "port"}]``, sorted;
    - ``executors``: ``[{"component", "host", "port", "task_start", "task_end",
      "uptime_secs", "emitted", "transferred", "acked", "failed"}]``, every count the
      all-time total over the streams (0 until Storm's first 60 s metrics bucket);
    - ``components``: ``{component: {"tasks", "executors", "hosts", "acked", "failed",
      "emitted"}}``, without Storm's system components (ids starting with ``__``);
    - ``acker``: ``{"acked", "failed"}`` of the ``__acker`` executors;
    - ``errors``: ``{component: [{"error" (its first line), "time_secs", "host",
      "port"}]}``, the most recent first.

    CLI Example:

    .. code-block:: bash

        salt nimbus1 storm_nimbus.topology nimbus1,nimbus2 iris
    """
    _, answer = _on_leader(seeds, port, timeout, lambda client: _read_topology(client, name))
    return answer
