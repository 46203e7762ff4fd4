"""storm_nimbus against a fake nimbus on 127.0.0.1: a thriftpy2 server speaking Storm's
FULL Thrift IDL (the copy streamparse 5.0.1 ships, read from its wheel), so the module's own
IDL subset is proven to decode what Storm sends (same field ids, unknown fields skipped).
Then: no leader, a dead port, a port that never answers, a dead first seed."""

import ast
import contextlib
import hashlib
import io
import json
import pathlib
import socket
import subprocess
import sys
import threading
import time
import zipfile

import pytest
import thriftpy2
from salt.exceptions import CommandExecutionError
from thriftpy2.rpc import make_server
from thriftpy2.thrift import TApplicationException
from thriftpy2.transport import TFramedTransportFactory

ROOT = pathlib.Path(__file__).resolve().parents[2]
WHEELS = ROOT / "build" / "cache" / "wheels"
WHEEL = WHEELS / "streamparse-5.0.1-py2.py3-none-any.whl"
WHEEL_SHA256 = "0afdf06c3d64d12425839ddda729c3d8b4a10d9ba6fd9e81a38aeef9288b6ce5"
TOPOLOGY_ID = "iris-3-1764633600"
NOW = 1764634000


# -- Storm's real IDL ---------------------------------------------------------------------

def _real_idl_text():
    """storm.thrift as streamparse 5.0.1 carries it: the string _THRIFT_STR of
    streamparse/thrift.py inside the wheel (downloaded once into build/cache/wheels)."""
    if not WHEEL.exists():
        WHEELS.mkdir(parents=True, exist_ok=True)
        done = subprocess.run(
            [sys.executable, "-m", "pip", "download", "--no-deps", "streamparse==5.0.1",
             "-d", str(WHEELS)], capture_output=True, text=True, timeout=300)
        assert done.returncode == 0 and WHEEL.exists(), (
            f"cannot download the streamparse 5.0.1 wheel (Storm's IDL): {done.stderr}")
    digest = hashlib.sha256(WHEEL.read_bytes()).hexdigest()
    assert digest == WHEEL_SHA256, f"{WHEEL} is not streamparse 5.0.1's wheel ({digest})"
    with zipfile.ZipFile(WHEEL) as wheel:
        source = wheel.read("streamparse/thrift.py").decode("utf-8")
    for node in ast.parse(source).body:
        if isinstance(node, ast.Assign) and any(
                getattr(t, "id", None) == "_THRIFT_STR" for t in node.targets):
            return ast.literal_eval(node.value)
    raise AssertionError("streamparse/thrift.py has no _THRIFT_STR")


@pytest.fixture(scope="module")
def storm():
    """Storm's full IDL as a thriftpy2 module (not the module's subset)."""
    real = thriftpy2.load_fp(io.StringIO(_real_idl_text()), module_name="storm_full_thrift")
    # Sanity: this is the whole of Storm's IDL, far more than the module declares.
    assert hasattr(real, "TopologyPageInfo") and hasattr(real, "StormTopology")
    assert {"submitTopologyWithOpts", "getClusterInfo", "getLeader", "getTopologyInfo",
            "getTopologyConf", "beginFileUpload"} <= set(real.Nimbus.thrift_services)
    return real


@pytest.fixture
def mod(loader):
    return loader("_modules", "storm_nimbus")


def _shape(spec):
    """A thrift_spec entry reduced to what goes on the wire: type ids, nested shapes and
    struct names (classes of two IDL modules are different objects)."""
    if isinstance(spec, dict):
        return {key: _shape(value) for key, value in spec.items()}
    if isinstance(spec, tuple):
        return tuple(_shape(s) for s in spec)
    if isinstance(spec, type):
        return ("struct", spec.__name__)
    return spec


def test_the_subset_has_storms_field_ids_types_and_requiredness(mod, storm):
    subset = mod.storm_thrift
    names = [n for n in dir(subset) if isinstance(getattr(subset, n), type)
             and hasattr(getattr(subset, n), "thrift_spec") and n != "Nimbus"]
    assert set(names) >= {"ClusterSummary", "TopologyInfo", "ExecutorStats",
                          "NotAliveException", "GlobalStreamId"}
    for name in names:
        mine, theirs = getattr(subset, name).thrift_spec, getattr(storm, name).thrift_spec
        for fid, field in mine.items():
            assert fid in theirs, f"{name}: field id {fid} is not Storm's"
            assert _shape(field) == _shape(theirs[fid]), f"{name}.{fid}"
    for method in subset.Nimbus.thrift_services:
        for part in ("_args", "_result"):
            mine = getattr(subset.Nimbus, method + part).thrift_spec
            theirs = getattr(storm.Nimbus, method + part).thrift_spec
            assert _shape(mine) == _shape(theirs), f"Nimbus.{method}{part}"


# -- the fake nimbus ----------------------------------------------------------------------

class FakeNimbus:
    """A thriftpy2 server of Storm's full Nimbus service on 127.0.0.1 (ephemeral port),
    framed transport and binary protocol like Storm's nimbus, one thread per client."""

    def __init__(self, handler, storm):
        # make_server takes no port 0 (falsy: "Either host/port ..."); the placeholder is
        # replaced by 0 before binding, so the kernel picks a free port.
        self.server = make_server(storm.Nimbus, handler, host="127.0.0.1", port=6627,
                                  trans_factory=TFramedTransportFactory(),
                                  client_timeout=5000)
        self.server.trans.port = 0
        self.server.trans.listen()
        self.port = self.server.trans.sock.getsockname()[1]
        self.server.trans.listen = lambda: None  # bound already: serve() just accepts
        self.server.daemon = True
        self.thread = threading.Thread(target=self.server.serve, daemon=True)
        self.thread.start()

    def close(self):
        self.server.close()
        # Wake the accept() with one last connection (shutting the listening socket
        # instead makes thriftpy2 log an error), then close the socket.
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port)):
            pass
        self.thread.join(5)
        self.server.trans.close()
        assert not self.thread.is_alive()


class Handler:
    """Storm's answers for a two-supervisor cluster running the iris topology."""

    def __init__(self, storm):
        self.storm = storm
        self.port = None          # set once the server listens
        self.leader_host = "127.0.0.1"
        self.leader_port = None   # None: the server's own port
        self.leader_flag = True   # NimbusSummary.isLeader of getLeader's answer
        self.calls = []
        self.leader_error = None  # exception to raise from getLeader, or "null"
        self.cluster_error = None
        self.info_error = None
        self.conf_error = None

    def getLeader(self):
        self.calls.append("getLeader")
        if self.leader_error == "null":
            return None  # Storm's getLeader returning null: thrift's MISSING_RESULT
        if self.leader_error is not None:
            raise self.leader_error
        return self.storm.NimbusSummary(
            host=self.leader_host, port=self.leader_port or self.port, uptime_secs=120,
            isLeader=self.leader_flag, version="2.8.3")

    def getClusterInfo(self):
        self.calls.append("getClusterInfo")
        if self.cluster_error is not None:
            raise self.cluster_error
        s = self.storm
        return s.ClusterSummary(
            supervisors=[
                s.SupervisorSummary(host="10.0.0.31", uptime_secs=290, num_workers=4,
                                    num_used_workers=1, supervisor_id="sup-31",
                                    version="2.8.3",
                                    total_resources={"cpu.pcore.percent": 400.0},
                                    used_mem=896.0, used_cpu=40.0),
                s.SupervisorSummary(host="10.0.0.32", uptime_secs=280, num_workers=2,
                                    num_used_workers=2, supervisor_id="sup-32",
                                    version="2.8.3", used_mem=512.0, used_cpu=20.0)],
            nimbus_uptime_secs=120,
            topologies=[s.TopologySummary(
                id=TOPOLOGY_ID, name="iris", num_tasks=9, num_executors=8, num_workers=3,
                uptime_secs=300, status="ACTIVE", sched_status="Fully Scheduled",
                owner="storm", replication_count=1, requested_memonheap=896.0,
                assigned_cpu=70.0)],
            nimbuses=[
                s.NimbusSummary(host="127.0.0.1", port=self.port, uptime_secs=120,
                                isLeader=True, version="2.8.3"),
                s.NimbusSummary(host="10.0.0.22", port=6627, uptime_secs=100,
                                isLeader=False, version="2.8.3")])

    def _known(self, topology_id):
        if topology_id != TOPOLOGY_ID:
            raise self.storm.NotAliveException(msg=f"{topology_id} is not alive")

    def getTopologyInfo(self, topology_id):
        self.calls.append("getTopologyInfo")
        self._known(topology_id)
        if self.info_error is not None:
            raise self.info_error
        s = self.storm

        def gsid(component, stream="default"):
            return s.GlobalStreamId(componentId=component, streamId=stream)

        def executor(component, start, end, host, port, stats):
            return s.ExecutorSummary(
                executor_info=s.ExecutorInfo(task_start=start, task_end=end),
                component_id=component, host=host, port=port, uptime_secs=290, stats=stats)

        def bolt(emitted, acked, failed, recent):
            """Bolt stats: all-time counts as given; the 600 s window `recent` of each."""
            return s.ExecutorStats(
                emitted={":all-time": emitted, "600": {k: recent for k in emitted}},
                transferred={":all-time": emitted, "600": {k: recent for k in emitted}},
                specific=s.ExecutorSpecificStats(bolt=s.BoltStats(
                    acked={":all-time": acked, "600": {k: recent for k in acked}},
                    failed={":all-time": failed, "600": {k: recent for k in failed}},
                    process_ms_avg={":all-time": {k: 0.4 for k in acked}},
                    executed={":all-time": acked},
                    execute_ms_avg={":all-time": {k: 0.3 for k in acked}})),
                rate=20.0)

        spout_stats = s.ExecutorStats(
            emitted={":all-time": {"default": 1000, "__ack_init": 1000},
                     "600": {"default": 100, "__ack_init": 100}},
            transferred={":all-time": {"default": 1000, "__ack_init": 999},
                         "600": {"default": 100, "__ack_init": 100}},
            specific=s.ExecutorSpecificStats(spout=s.SpoutStats(
                acked={":all-time": {"default": 990}, "600": {"default": 99}},
                failed={":all-time": {"default": 3}, "600": {"default": 1}},
                complete_ms_avg={":all-time": {"default": 4.5}})),
            rate=20.0)
        empty = s.ExecutorStats(  # before the first 60 s metrics bucket
            emitted={}, transferred={},
            specific=s.ExecutorSpecificStats(bolt=s.BoltStats(
                acked={}, failed={}, process_ms_avg={}, executed={}, execute_ms_avg={})),
            rate=0.0)
        trace = "java.lang.RuntimeException: classifier died\n\tat org.apache.storm..."
        return s.TopologyInfo(
            id=TOPOLOGY_ID, name="iris", uptime_secs=300, status="ACTIVE",
            executors=[
                executor("iris_spout", 1, 1, "10.0.0.31", 6700, spout_stats),
                executor("classify", 2, 3, "10.0.0.31", 6700, bolt(
                    {"default": 480}, {gsid("iris_spout"): 500, gsid("iris_spout", "x"): 5},
                    {gsid("iris_spout"): 1}, recent=7)),
                executor("classify", 4, 5, "10.0.0.32", 6700, bolt(
                    {"default": 470}, {gsid("iris_spout"): 485}, {gsid("iris_spout"): 2},
                    recent=7)),
                executor("sink", 6, 6, "10.0.0.32", 6701, None),
                executor("sink", 8, 8, "10.0.0.32", 6701, empty),
                executor("__acker", 7, 7, "10.0.0.31", 6700, bolt(
                    {"__ack_ack": 990},
                    {gsid("iris_spout", "__ack_init"): 990, gsid("classify", "__ack_ack"): 985},
                    {gsid("iris_spout", "__ack_init"): 0}, recent=9)),
                executor("__system", -1, -1, "10.0.0.32", 6701, empty)],
            errors={
                "classify": [s.ErrorInfo(error=f"{trace} {n}", error_time_secs=NOW - 60 * n,
                                         host="10.0.0.32", port=6700) for n in range(7)],
                "iris_spout": [s.ErrorInfo(error="E" * 800, error_time_secs=NOW - 5)],
                "sink": []},
            component_debug={"classify": s.DebugOptions(enable=False, samplingpct=10.0)},
            sched_status="Fully Scheduled", owner="storm", replication_count=1,
            requested_memonheap=896.0, assigned_cpu=70.0)

    def getTopologyConf(self, topology_id):
        self.calls.append("getTopologyConf")
        self._known(topology_id)
        if self.conf_error is not None:
            raise self.conf_error
        return json.dumps({"topology.name": "iris", "topology.workers": 3,
                           "topology.acker.executors": 1, "iris.batch.size": 16})


@pytest.fixture
def nimbus(storm):
    handler = Handler(storm)
    server = FakeNimbus(handler, storm)
    handler.port = server.port
    yield handler
    server.close()


def free_port():
    """A port on 127.0.0.1 where nothing listens."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def internal_error(method):
    """What a Java Thrift server sends for an exception the IDL does not declare."""
    return TApplicationException(TApplicationException.INTERNAL_ERROR,
                                 f"Internal error processing {method}")


# -- answers ------------------------------------------------------------------------------

def test_leader_and_its_address(mod, nimbus):
    assert mod.leader("127.0.0.1", port=nimbus.port) == {
        "host": "127.0.0.1", "port": nimbus.port, "version": "2.8.3", "uptime_secs": 120}
    assert mod.leader_address(["127.0.0.1"], port=nimbus.port) == f"127.0.0.1:{nimbus.port}"
    # A seed may carry its own port.
    assert mod.leader_address(f" 127.0.0.1:{nimbus.port} ") == f"127.0.0.1:{nimbus.port}"


def test_summary(mod, nimbus):
    assert mod.summary("127.0.0.1", port=nimbus.port, timeout=2) == {
        "leader": f"127.0.0.1:{nimbus.port}",
        "nimbuses": [
            {"host": "127.0.0.1", "port": nimbus.port, "is_leader": True,
             "version": "2.8.3", "uptime_secs": 120},
            {"host": "10.0.0.22", "port": 6627, "is_leader": False, "version": "2.8.3",
             "uptime_secs": 100}],
        "supervisors": [
            {"id": "sup-31", "host": "10.0.0.31", "uptime_secs": 290, "slots_total": 4,
             "slots_used": 1, "version": "2.8.3"},
            {"id": "sup-32", "host": "10.0.0.32", "uptime_secs": 280, "slots_total": 2,
             "slots_used": 2, "version": "2.8.3"}],
        "topologies": [
            {"id": TOPOLOGY_ID, "name": "iris", "status": "ACTIVE", "num_workers": 3,
             "num_executors": 8, "num_tasks": 9, "uptime_secs": 300}],
    }
    # The leader named by getLeader is the one asked for the cluster.
    assert nimbus.calls == ["getLeader", "getClusterInfo"]


def test_topology(mod, nimbus):
    got = mod.topology("127.0.0.1", "iris", port=nimbus.port)

    def ex(component, start, end, host, port, emitted=0, transferred=0, acked=0, failed=0):
        return {"component": component, "host": host, "port": port, "task_start": start,
                "task_end": end, "uptime_secs": 290, "emitted": emitted,
                "transferred": transferred, "acked": acked, "failed": failed}

    assert got["executors"] == [
        ex("__acker", 7, 7, "10.0.0.31", 6700, 990, 990, 1975, 0),
        ex("__system", -1, -1, "10.0.0.32", 6701),
        ex("classify", 2, 3, "10.0.0.31", 6700, 480, 480, 505, 1),
        ex("classify", 4, 5, "10.0.0.32", 6700, 470, 470, 485, 2),
        ex("iris_spout", 1, 1, "10.0.0.31", 6700, 2000, 1999, 990, 3),
        ex("sink", 6, 6, "10.0.0.32", 6701),
        ex("sink", 8, 8, "10.0.0.32", 6701),
    ]
    assert got["components"] == {
        "iris_spout": {"tasks": 1, "executors": 1, "hosts": ["10.0.0.31"], "acked": 990,
                       "failed": 3, "emitted": 2000},
        "classify": {"tasks": 4, "executors": 2, "hosts": ["10.0.0.31", "10.0.0.32"],
                     "acked": 990, "failed": 3, "emitted": 950},
        "sink": {"tasks": 2, "executors": 2, "hosts": ["10.0.0.32"], "acked": 0,
                 "failed": 0, "emitted": 0},
    }
    assert got["acker"] == {"acked": 1975, "failed": 0}
    trace = "java.lang.RuntimeException: classifier died"
    assert got["errors"] == {
        "classify": [{"error": trace, "time_secs": NOW - 60 * n, "host": "10.0.0.32",
                      "port": 6700} for n in range(5)],
        "iris_spout": [{"error": "E" * 500, "time_secs": NOW - 5, "host": None,
                        "port": None}],
    }
    rest = {k: v for k, v in got.items()
            if k not in ("executors", "components", "acker", "errors")}
    assert rest == {
        "id": TOPOLOGY_ID, "name": "iris", "status": "ACTIVE", "uptime_secs": 300,
        "conf": {"topology.name": "iris", "topology.workers": 3,
                 "topology.acker.executors": 1, "iris.batch.size": 16},
        "workers": [{"host": "10.0.0.31", "port": 6700}, {"host": "10.0.0.32", "port": 6700},
                    {"host": "10.0.0.32", "port": 6701}],
    }
    # Plain data all the way down (Salt serializes it).
    assert json.loads(json.dumps(got)) == got


def test_unknown_topology_and_one_going_away(mod, nimbus, storm):
    assert mod.topology("127.0.0.1", "wordcount", port=nimbus.port) is None
    assert "getTopologyInfo" not in nimbus.calls
    # Listed, then gone when asked for its info: None too.
    nimbus.info_error = storm.NotAliveException(msg=f"{TOPOLOGY_ID} is not alive")
    assert mod.topology("127.0.0.1", "iris", port=nimbus.port) is None
    # Being killed between the info and the conf: the topology without its conf.
    nimbus.info_error = None
    nimbus.conf_error = storm.NotAliveException(msg=f"{TOPOLOGY_ID} is not alive")
    got = mod.topology("127.0.0.1", "iris", port=nimbus.port)
    assert got["conf"] == {} and got["status"] == "ACTIVE"
    assert got["components"]["classify"]["acked"] == 990


# -- no leader, dead and silent nimbuses ----------------------------------------------------

def test_no_leader_is_a_clear_error(mod, nimbus):
    where = f"nimbus 127.0.0.1:{nimbus.port}"
    nimbus.leader_error = internal_error("getLeader")
    with pytest.raises(CommandExecutionError) as err:
        mod.leader("127.0.0.1", port=nimbus.port)
    assert "no Storm nimbus leader found" in str(err.value)
    assert f"{where}: TApplicationException: Internal error processing getLeader" in str(
        err.value)
    # Storm's getLeader returning null reaches the client as a missing result.
    nimbus.leader_error = "null"
    with pytest.raises(CommandExecutionError, match=f"{where}: TApplicationException"):
        mod.leader_address("127.0.0.1", port=nimbus.port)
    # A nimbus answering with a summary that is not a leader's.
    nimbus.leader_error = None
    nimbus.leader_flag = False
    with pytest.raises(CommandExecutionError, match=f"{where}: answered getLeader without"):
        mod.summary("127.0.0.1", port=nimbus.port)
    nimbus.leader_flag, nimbus.leader_host = True, ""
    with pytest.raises(CommandExecutionError, match=f"{where}: answered getLeader without"):
        mod.topology("127.0.0.1", "iris", port=nimbus.port)
    assert "getClusterInfo" not in nimbus.calls


def test_internal_error_of_get_cluster_info(mod, nimbus):
    nimbus.cluster_error = internal_error("getClusterInfo")
    for call in (lambda: mod.summary("127.0.0.1", port=nimbus.port),
                 lambda: mod.topology("127.0.0.1", "iris", port=nimbus.port)):
        with pytest.raises(CommandExecutionError) as err:
            call()
        assert str(err.value) == (f"nimbus 127.0.0.1:{nimbus.port}: TApplicationException: "
                                  "Internal error processing getClusterInfo")


def test_a_dead_port_fails_fast_naming_every_seed(mod):
    port = free_port()
    started = time.monotonic()
    with pytest.raises(CommandExecutionError) as err:
        mod.leader("127.0.0.1, 127.0.0.2", port=port, timeout=2)
    assert time.monotonic() - started < 2
    message = str(err.value)
    assert f"nimbus 127.0.0.1:{port}: cannot connect" in message
    assert f"nimbus 127.0.0.2:{port}: cannot connect" in message
    with pytest.raises(CommandExecutionError, match="no nimbus seeds"):
        mod.leader(" , ", port=port)


def test_a_nimbus_that_never_answers_times_out(mod):
    with socket.socket() as silent:  # accepts connections (backlog), never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(4)
        port = silent.getsockname()[1]
        started = time.monotonic()
        with pytest.raises(CommandExecutionError) as err:
            mod.leader(["127.0.0.1"], port=port, timeout=0.5)
        assert time.monotonic() - started < 2
    assert f"nimbus 127.0.0.1:{port}: TimeoutError" in str(err.value)


def test_the_first_seed_dead_the_second_answers(mod, nimbus):
    # Two hosts on one port: nothing listens on 127.0.0.3.
    assert mod.leader_address("127.0.0.3,127.0.0.1", port=nimbus.port) == (
        f"127.0.0.1:{nimbus.port}")
    assert mod.summary(["127.0.0.3", "127.0.0.1"], port=nimbus.port)["leader"] == (
        f"127.0.0.1:{nimbus.port}")
    dead = free_port()
    got = mod.topology([f"127.0.0.1:{dead}", f"127.0.0.1:{nimbus.port}"], "iris")
    assert got["components"]["iris_spout"]["acked"] == 990


def test_an_unreachable_leader_address_falls_back_to_the_seed(mod, nimbus):
    # The leader advertises an address this host cannot reach; the seed that named it
    # answers getClusterInfo instead.
    nimbus.leader_host, nimbus.leader_port = "127.0.0.1", free_port()
    assert mod.summary("127.0.0.1", port=nimbus.port)["topologies"][0]["name"] == "iris"
    assert nimbus.calls == ["getLeader", "getClusterInfo"]


def test_virtual_needs_thriftpy2(loader, monkeypatch):
    assert loader("_modules", "storm_nimbus").__virtual__() == "storm_nimbus"
    monkeypatch.setitem(sys.modules, "thriftpy2", None)
    assert loader("_modules", "storm_nimbus").__virtual__() == (
        False, "storm_nimbus needs the thriftpy2 package in Salt's Python "
               "(salt-pip install thriftpy2)")
