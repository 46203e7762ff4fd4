"""Nimbus, two supervisors, the UI and the logviewer against a real ZooKeeper: Storm's
znodes, Thrift and REST answers, and clean shutdown."""

import signal
import subprocess
import time

import pytest
from standin_helpers import api, free_port, http, wait_for

ROOT = "/t-daemons"


@pytest.fixture(scope="module")
def cluster(cluster_factory):
    c = cluster_factory(ROOT)
    c.ports = {"nimbus": free_port(), "ui": free_port(), "logviewer": free_port()}
    common = {"nimbus.thrift.port": c.ports["nimbus"], "ui.port": c.ports["ui"],
              "logviewer.port": c.ports["logviewer"]}
    c.nimbus_conf = c.conf("nimbus", **common)
    c.start("nimbus", c.nimbus_conf)
    c.start("ui", c.nimbus_conf)
    c.sup_confs = []
    for name, slots in (("sup1", 2), ("sup2", 3)):
        conf = c.conf(name, **common,
                      **{"supervisor.slots.ports": [free_port() for _ in range(slots)]})
        c.sup_confs.append(conf)
        c.start("supervisor", conf)
    # The logviewer of sup1's host: same logs directory as sup1.
    c.start("logviewer", c.conf("logviewer", **common,
                                **{"storm.log.dir": str(c.sup_confs[0] / "logs")}))
    wait_for(lambda: api(c.ports["ui"], "cluster/summary")["supervisors"] == 2, 60,
             "two supervisors in the UI")
    return c


def test_nimbus_registers_ephemeral_and_leads(cluster, zk_client):
    me = f"127.0.0.1:{cluster.ports['nimbus']}"
    assert zk_client.get_children(f"{ROOT}/nimbuses") == [me]
    assert zk_client.exists(f"{ROOT}/nimbuses/{me}").ephemeralOwner != 0
    latches = zk_client.get_children(f"{ROOT}/leader-lock")
    assert len(latches) == 1
    assert zk_client.exists(f"{ROOT}/leader-lock/{latches[0]}").ephemeralOwner != 0
    nimbuses = api(cluster.ports["ui"], "nimbus/summary")["nimbuses"]
    assert [(n["host"], n["port"], n["status"]) for n in nimbuses] == \
        [("127.0.0.1", cluster.ports["nimbus"], "Leader")]
    assert nimbuses[0]["version"] == "2.8.8"
    assert isinstance(nimbuses[0]["nimbusUpTimeSeconds"], int)


def test_supervisors_register_with_their_slots(cluster, zk_client):
    ids = zk_client.get_children(f"{ROOT}/supervisors")
    assert len(ids) == 2
    assert all(zk_client.exists(f"{ROOT}/supervisors/{i}").ephemeralOwner for i in ids)
    sups = api(cluster.ports["ui"], "supervisor/summary")["supervisors"]
    assert sorted(s["slotsTotal"] for s in sups) == [2, 3]
    assert {s["id"] for s in sups} == set(ids)
    for s in sups:
        assert s["host"] == "127.0.0.1"
        assert s["slotsUsed"] == 0
        assert isinstance(s["uptimeSeconds"], int) and s["uptime"].endswith("s")


def test_ui_rest_api_uses_storm_field_names(cluster):
    port = cluster.ports["ui"]
    summary = api(port, "cluster/summary")
    for field in ("stormVersion", "supervisors", "topologies", "slotsTotal", "slotsUsed",
                  "slotsFree", "executorsTotal", "tasksTotal", "schedulerDisplayResource",
                  "totalMem", "totalCpu", "availMem", "availCpu"):
        assert field in summary, field
    assert summary["stormVersion"] == "2.8.8"
    assert (summary["slotsTotal"], summary["slotsUsed"], summary["slotsFree"]) == (5, 0, 5)
    conf = api(port, "cluster/configuration")
    assert conf["storm.zookeeper.root"] == ROOT
    assert conf["nimbus.thrift.port"] == cluster.ports["nimbus"]
    for s in api(port, "supervisor/summary")["supervisors"]:
        assert {"id", "host", "uptime", "uptimeSeconds", "slotsTotal", "slotsUsed",
                "totalMem", "totalCpu", "usedMem", "usedCpu"} <= set(s)
    for n in api(port, "nimbus/summary")["nimbuses"]:
        assert {"host", "port", "status", "version", "nimbusUpTime",
                "nimbusUpTimeSeconds", "nimbusLogLink"} <= set(n)
    assert api(port, "topology/summary")["topologies"] == []
    status, body = http(port, "/api/v1/topology/no-such-topology-1-1")
    assert status in (404, 500), body


def test_storm_list_talks_to_nimbus(cluster):
    result = cluster.run(cluster.nimbus_conf, "list")
    assert result.returncode == 0, result.stderr
    assert "No topologies running." in result.stdout


def test_logviewer_serves_logs_and_nothing_else(cluster):
    port = cluster.ports["logviewer"]
    status, body = http(port, "/api/v1/daemonlog?file=supervisor.log")
    assert status == 200 and b"supervisor" in body.lower()
    for sneaky in ("../../../../../../etc/passwd", "/etc/passwd", "..%2F..%2Fstorm.yaml"):
        status, _ = http(port, f"/api/v1/daemonlog?file={sneaky}")
        assert status == 404, sneaky
        status, _ = http(port, f"/api/v1/log?file={sneaky}")
        assert status == 404, sneaky


def test_sigterm_stops_a_supervisor_its_znode_goes_and_its_id_stays(cluster, zk_client):
    conf = cluster.conf("sup3", **{"nimbus.thrift.port": cluster.ports["nimbus"],
                                   "supervisor.slots.ports": [free_port()]})
    before = set(zk_client.get_children(f"{ROOT}/supervisors"))
    proc = cluster.start("supervisor", conf)
    new = wait_for(lambda: set(zk_client.get_children(f"{ROOT}/supervisors")) - before,
                   60, "the third supervisor to register")
    started = time.time()
    assert cluster.stop(proc, signal.SIGTERM) in (0, 143)
    assert time.time() - started < 15
    (sid,) = new
    # Closing the session removes the ephemeral node at once (no session timeout to wait).
    wait_for(lambda: not zk_client.exists(f"{ROOT}/supervisors/{sid}"), 5,
             "the stopped supervisor's znode to vanish")
    # Restarted on the same storm.local.dir, it registers under the same id.
    proc = cluster.start("supervisor", conf)
    wait_for(lambda: zk_client.exists(f"{ROOT}/supervisors/{sid}"), 60,
             "the restarted supervisor to register under its old id")
    cluster.stop(proc)


def test_drpc_answers_not_implemented(cluster, sparse_venv, standin_only):
    """DRPC starts and answers over Thrift, saying the stand-in does not implement it
    (checked with streamparse's own copy of Storm's IDL as the client)."""
    port = free_port()
    cluster.start("drpc", cluster.conf("drpc", **{"drpc.port": port}))
    client = f"""
from thriftpy2.protocol import TBinaryProtocolFactory
from thriftpy2.rpc import make_client
from thriftpy2.transport import TFramedTransportFactory
from streamparse.thrift import DistributedRPC, DRPCExecutionException
c = make_client(DistributedRPC, "127.0.0.1", {port}, proto_factory=TBinaryProtocolFactory(),
                trans_factory=TFramedTransportFactory(), timeout=5000)
try:
    c.execute("words", "x")
except DRPCExecutionException as exc:
    print(exc.msg)
"""

    def answer():
        result = subprocess.run([str(sparse_venv / "bin/python"), "-c", client],
                                capture_output=True, text=True, timeout=30)
        return result.stdout if result.returncode == 0 else None

    assert "not implemented" in wait_for(answer, 30, "DRPC to answer")
