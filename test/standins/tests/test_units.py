"""Unit tests of the stand-in's parts that need no cluster: the acker's XOR ledger,
groupings, the multilang handshake and the ShellBolt heartbeat timeout, the key list."""

import pathlib
import sys
import textwrap
import threading
import time
from types import SimpleNamespace

import pytest
import yaml

SOURCE = pathlib.Path(__file__).resolve().parents[1] / "storm" / "lib" / "standin"
KEYS = pathlib.Path(__file__).resolve().parents[3] / "storm" / "parameters" / "storm_keys.yaml"
sys.path.insert(0, str(SOURCE))

from stormstandin import acking, multilang, shelltasks, topology  # noqa: E402

HANDSHAKE = """
import json, os, sys, time
def read():
    lines = []
    while True:
        line = sys.stdin.readline()
        if not line:
            sys.exit(0)
        if line == "end\\n":
            return json.loads("".join(lines))
        lines.append(line)
def send(msg):
    sys.stdout.write(json.dumps(msg) + "\\nend\\n")
    sys.stdout.flush()
setup = read()
open(os.path.join(setup["pidDir"], str(os.getpid())), "w").close()
send({"pid": os.getpid()})
"""


def test_every_default_key_is_a_storm_key():
    keys = set(yaml.safe_load(KEYS.read_text())["keys"])
    defaults = yaml.safe_load((SOURCE / "stormstandin" / "defaults.yaml").read_text())
    assert set(defaults) <= keys
    assert {"nimbus.seeds", "storm.zookeeper.servers", "supervisor.slots.ports",
            "topology.subprocess.timeout.secs"} <= keys
    assert "nimbus.host" not in keys  # gone since Storm 2


def test_acker_completes_a_two_level_tree_in_any_order():
    acker = acking.Acker(timeout_secs=30)
    root, spout_edges = 42, [acking.new_id(), acking.new_id()]
    # Bolt 1 acks its input (edge e1) after emitting a child anchored to it (edge c).
    child = acking.new_id()
    messages = [
        {"t": "acker_ack", "root": root, "val": spout_edges[0] ^ child},
        {"t": "acker_ack", "root": root, "val": spout_edges[1]},
        {"t": "acker_init", "root": root, "val": spout_edges[0] ^ spout_edges[1],
         "spout": 7},
    ]
    assert acker.handle(messages[0]) == []  # ack before the spout's init: waits
    assert acker.handle(messages[1]) == []
    assert acker.handle(messages[2]) == []  # the child is still pending
    assert acker.handle({"t": "acker_ack", "root": root, "val": child}) == \
        [(7, {"t": "complete", "root": root})]
    assert acker.pending == {}


def test_acker_reports_a_fail_to_the_spout():
    acker = acking.Acker(timeout_secs=30)
    acker.handle({"t": "acker_fail", "root": 5})
    assert acker.handle({"t": "acker_init", "root": 5, "val": 3, "spout": 2}) == \
        [(2, {"t": "failed", "root": 5})]


def test_anchor_edges_balance_to_zero():
    anchor = [[(9, 111)], 0]
    (out,) = acking.anchor_edges([anchor], 1)
    # Acking the input (111 ^ ack value) and the output (its edge) cancels the tree.
    assert (111 ^ anchor[1]) ^ out[0][1] ^ 111 == 0


def test_spout_pending_times_out():
    pending = acking.SpoutPending(timeout_secs=0.05)
    pending.add(1, "m1")
    time.sleep(0.1)
    assert pending.expired() == ["m1"] and len(pending) == 0


def fake_info(groupings):
    info = topology.TopologyInfo.__new__(topology.TopologyInfo)
    spout = topology.Component("s", "spout")
    spout.streams, spout.tasks = {"default": ["word", "n"]}, [1]
    bolt = topology.Component("b", "bolt")
    bolt.tasks = [2, 3, 4]
    info.components = {"s": spout, "b": bolt}
    info.task_component = {1: "s", 2: "b", 3: "b", 4: "b"}
    info.subscribers = {("s", "default"): [("b", g) for g in groupings]}
    return info


def test_groupings():
    fields = fake_info([("fields", ["word"])])
    first = fields.targets("s", "default", ["x", 1])
    assert len(first) == 1
    assert all(fields.targets("s", "default", ["x", n]) == first for n in range(20))
    assert fake_info([("all",)]).targets("s", "default", ["x", 1]) == [2, 3, 4]
    assert fake_info([("global",)]).targets("s", "default", ["x", 1]) == [2]
    assert fake_info([("shuffle",)]).targets("s", "default", ["x", 1])[0] in (2, 3, 4)
    assert fake_info([("local_or_shuffle",)]).targets("s", "default", [1, 1], {3}) == [3]
    assert fake_info([("direct",)]).targets("s", "default", [1, 1], direct_task=4) == [4]


def test_executors_partition_like_storm():
    assert topology.partition([1, 2, 3, 4, 5], 2) == [(1, 3), (4, 5)]
    assert topology.partition([7], 3) == [(7, 7)]


def script(tmp_path, body):
    path = tmp_path / "component.py"
    path.write_text(HANDSHAKE + textwrap.dedent(body))
    return [sys.executable, str(path)]


def test_handshake_sends_conf_context_and_reads_the_pid(tmp_path):
    proc = multilang.ShellProcess(script(tmp_path, ""), str(tmp_path), None, "t")
    pid = proc.launch({"topology.name": "x"}, {"taskid": 1}, tmp_path, timeout=10)
    assert (tmp_path / str(pid)).exists()
    proc.kill()


class FakeWorker:
    """What a ShellBoltTask needs from its worker, recording die() instead of exiting."""

    def __init__(self, tmp_path, argv, timeout):
        shell = SimpleNamespace(execution_command=argv[0], script=argv[1])
        self.info = SimpleNamespace(task_component={1: "bolt"},
                                    components={"bolt": SimpleNamespace(shell=shell)},
                                    context=lambda task: {"taskid": task})
        self.conf, self.resources, self.env, self.pid_dir = {}, str(tmp_path), None, tmp_path
        self.subprocess_timeout, self.heartbeat_interval = timeout, timeout / 3
        self.stop, self.died = threading.Event(), []

    def die(self, reason):
        self.died.append(reason)
        self.stop.set()


@pytest.mark.parametrize("answers, dies", [(True, False), (False, True)])
def test_shell_bolt_heartbeat(tmp_path, answers, dies):
    body = """
    while True:
        msg = read()
        if msg.get("stream") == "__heartbeat" and ANSWERS:
            send({"command": "sync"})
    """.replace("ANSWERS", str(answers))
    worker = FakeWorker(tmp_path, script(tmp_path, body), timeout=1.5)
    bolt = shelltasks.ShellBoltTask(worker, 1)
    bolt.launch()
    bolt.start()
    deadline = time.time() + 4
    while time.time() < deadline and not worker.died:
        bolt.heartbeat(time.time())
        time.sleep(0.1)
    worker.stop.set()
    bolt.proc.kill()
    assert bool(worker.died) == dies, worker.died
    if dies:
        assert "heartbeat timeout" in worker.died[0]
