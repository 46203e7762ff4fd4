"""A streamparse 5.0.1 topology, submitted with `sparse submit -j` (streamparse's own
Thrift client), runs on two supervisors over the multilang protocol: it becomes ACTIVE,
its bolt writes its output, acks and fails reach the spout through a two-bolt tuple tree
that crosses workers, and `storm kill` removes it everywhere."""

import os
import pathlib
import signal
import subprocess

import pytest
from standin_helpers import api, free_port, http, wait_for
from tiny_topology import make_project

ROOT = "/t-topology"
LIMIT = 20  # words the spout emits; every 4th is "fail-me"


@pytest.fixture(scope="module")
def cluster(cluster_factory):
    c = cluster_factory(ROOT)
    c.ports = {"nimbus": free_port(), "ui": free_port()}
    common = {"nimbus.thrift.port": c.ports["nimbus"], "ui.port": c.ports["ui"]}
    c.nimbus_conf = c.conf("nimbus", **common)
    c.start("nimbus", c.nimbus_conf)
    c.start("ui", c.nimbus_conf)
    c.sup_confs = [c.conf(name, **common, **{"supervisor.slots.ports": [free_port(), free_port()]})
                   for name in ("sup1", "sup2")]
    for conf in c.sup_confs:
        c.start("supervisor", conf)
    wait_for(lambda: api(c.ports["ui"], "cluster/summary")["supervisors"] == 2, 60,
             "two supervisors")
    return c


@pytest.fixture(scope="module")
def submitted(cluster, sparse_venv, tmp_path_factory):
    project = tmp_path_factory.mktemp("tiny-project")
    out, acks = project / "out.txt", project / "acks.txt"
    jar = make_project(project, f"127.0.0.1:{cluster.ports['nimbus']}", sparse_venv, out,
                       acks, limit=LIMIT)
    env = dict(os.environ, LEIN_ROOT="1", PATH=f"{sparse_venv}/bin:/usr/bin:/bin")
    result = subprocess.run([str(sparse_venv / "bin/sparse"), "submit", "-j", str(jar),
                             "-e", "test", "-n", "tiny"], cwd=project, env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    return {"out": out, "acks": acks}


def topology(ui_port, name="tiny"):
    found = [t for t in api(ui_port, "topology/summary")["topologies"] if t["name"] == name]
    return found[0] if found else None


def test_topology_becomes_active_on_two_workers(cluster, submitted):
    t = wait_for(lambda: (t := topology(cluster.ports["ui"])) and t["status"] == "ACTIVE"
                 and t["workersTotal"] == 2 and t, 60, "tiny ACTIVE on 2 workers")
    # 1 spout + 2 + 2 bolt tasks, plus one __acker per worker (topology.workers = 2).
    assert t["executorsTotal"] == 7 and t["tasksTotal"] == 7
    detail = api(cluster.ports["ui"], f"topology/{t['encodedId']}")
    assert detail["name"] == "tiny" and detail["status"] == "ACTIVE"
    assert [s["spoutId"] for s in detail["spouts"]] == ["word_spout"]
    assert {b["boltId"]: b["executors"] for b in detail["bolts"]} == \
        {"sink_bolt": 2, "upper_bolt": 2}
    assert detail["msgTimeout"] == 20
    assert len({(w["host"], w["port"]) for w in detail["workers"]}) == 2
    summary = api(cluster.ports["ui"], "cluster/summary")
    assert summary["slotsUsed"] == 2 and summary["executorsTotal"] == 7


def test_bolt_output_and_acks_reach_the_spout(cluster, submitted):
    def lines(path):
        return path.read_text().split() if path.exists() else []

    wait_for(lambda: len(lines(submitted["out"])) >= 2 * LIMIT, 60, "the sink's output")
    words = lines(submitted["out"])[1::2]
    assert sorted(set(words)) == ["APPLE", "BANANA", "CHERRY", "FAIL-ME"]
    cycle = ["apple", "banana", "fail-me", "cherry"]
    expected = {f"{cycle[(i - 1) % 4]}-{i}" for i in range(1, LIMIT + 1)}

    def outcome():
        result = dict(reversed(line.split()) for line in submitted["acks"].read_text()
                      .splitlines()) if submitted["acks"].exists() else {}
        return result if set(result) == expected else None

    result = wait_for(outcome, 60, "every spout tuple acked or failed")
    assert {i for i, r in result.items() if r == "fail"} == \
        {i for i in expected if i.startswith("fail-me")}
    assert {i for i, r in result.items() if r == "ack"} == \
        {i for i in expected if not i.startswith("fail-me")}


def test_sink_bolt_gets_tick_tuples(submitted):
    ticks = submitted["out"].with_name("ticks.txt")
    wait_for(lambda: ticks.exists() and len(ticks.read_text().splitlines()) >= 2, 30,
             "tick tuples at the sink bolt")


def test_multilang_log_reaches_the_worker_log(cluster, submitted):
    logs = [p for conf in cluster.sup_confs
            for p in (conf / "logs" / "workers-artifacts").glob("tiny-*/*/worker.log")]
    assert len(logs) == 2
    wait_for(lambda: any("sink got" in p.read_text() for p in logs), 30,
             "the bolt's log command in a worker.log")


def test_deactivate_and_activate_through_the_ui(cluster, submitted):
    port = cluster.ports["ui"]
    tid = topology(port)["encodedId"]
    status, body = http(port, f"/api/v1/topology/{tid}/deactivate", method="POST")
    assert status == 200, body
    assert topology(port)["status"] == "INACTIVE"
    status, body = http(port, f"/api/v1/topology/{tid}/activate", method="POST")
    assert status == 200, body
    assert topology(port)["status"] == "ACTIVE"


def shell_processes(workdir):
    """{pid: command line} of streamparse_run processes running under `workdir`."""
    found = {}
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            cwd = os.readlink(f"/proc/{pid}/cwd")
            cmd = pathlib.Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            continue
        if b"streamparse_run" in cmd and cwd.startswith(str(workdir)):
            found[int(pid)] = cmd
    return found


def test_a_dead_subprocess_gets_its_worker_restarted(cluster, submitted):
    before = shell_processes(cluster.workdir)
    assert len(before) == 5  # 1 spout + 2 + 2 bolts
    victim = next(pid for pid, cmd in before.items() if b"SinkBolt" in cmd)
    os.kill(victim, signal.SIGKILL)
    # Its worker halts (killing its other subprocesses), the supervisor starts it again.
    wait_for(lambda: len(now := shell_processes(cluster.workdir)) == 5 and victim not in now
             and len(set(now) - set(before)) >= 2, 60, "the worker's executors to restart")
    assert topology(cluster.ports["ui"])["status"] == "ACTIVE"


def test_storm_kill_removes_the_topology(cluster, submitted, zk_client):
    result = cluster.run(cluster.nimbus_conf, "kill", "tiny", "-w", "1")
    assert result.returncode == 0, result.stdout + result.stderr
    wait_for(lambda: topology(cluster.ports["ui"]) is None, 60, "tiny to disappear")
    wait_for(lambda: zk_client.get_children(f"{ROOT}/assignments") == [], 10,
             "the assignment to go")
    assert zk_client.get_children(f"{ROOT}/storms") == []
    wait_for(lambda: not shell_processes(cluster.workdir), 30,
             "the topology's subprocesses to exit")
