"""storm_topology.submitted and predictions_seen against a fake nimbus: submit once,
leave the same deployment alone, replace a changed one (kill, wait until removed, submit),
keep it when the pillar says so, only report in test mode, and name sparse's failure;
predictions are seen only when new lines of the expected model version appear."""

import json
import os
import sys

import pytest
from modloader import ROOT
from salt.exceptions import CommandExecutionError

PROJECT = str(ROOT / "storm" / "files" / "iris_topology")
SEEDS = ["10.0.0.21"]
HOST = "10.0.0.31"


class FakeStorm:
    """What storm_topology.running would report from nimbus, changed by sparse kill/submit
    as nimbus would."""

    def __init__(self):
        self.topologies = {}
        self.calls = []
        self.submits = 0
        self.fail_submit = None

    def running(self, seeds, name, port=6627, timeout=5):
        assert seeds == SEEDS and port == 6627
        topo = self.topologies.get(name)
        if topo and topo["status"] == "KILLED":
            # Storm removes a killed topology after its wait: the next look finds it gone.
            del self.topologies[name]
            return dict(topo, placed={}, tasks={})
        return dict(topo) if topo else None

    def sparse(self, sparse_bin, project, args, timeout=300):
        self.calls.append(args)
        name = args[args.index("-n") + 1]
        if args[0] == "submit":
            # sparse loads topologies/<-n>.py and names the topology -N (default: -n).
            if not os.path.isfile(os.path.join(project, "topologies", f"{name}.py")):
                raise CommandExecutionError("sparse submit failed (1): error: Topology "
                                            f"definition file not found topologies/{name}.py")
            name = args[args.index("-N") + 1] if "-N" in args else name
        config = json.load(open(args[args.index("--config") + 1]))
        assert config["envs"]["prod"]["use_ssh_for_nimbus"] is False
        if args[0] == "kill":
            self.topologies[name]["status"] = "KILLED"
        elif args[0] == "submit":
            if self.fail_submit:
                raise CommandExecutionError(self.fail_submit)
            assert name not in self.topologies, "submitted over a running topology"
            option = [a for a in args if a.startswith("salt.fingerprint=")][0]
            self.submits += 1
            self.topologies[name] = {
                "id": f"{name}-{self.submits}-1700000000", "status": "ACTIVE",
                "fingerprint": option.split("=", 1)[1],
                "placed": {HOST: {"sink": 1, "classifier": 1, "iris_spout": 1}},
                "tasks": {"iris_spout": 1, "classifier": 1, "sink": 1}}
        return ""


@pytest.fixture
def make(loader):
    def build(test=False):
        module = loader("_modules", "storm_topology")
        storm = FakeStorm()
        salt = {"storm_topology.running": storm.running,
                "storm_topology.sparse": storm.sparse,
                "storm_topology.leader": lambda seeds, port: f"{seeds[0]}:{port}",
                "storm_nimbus.topology": None}
        for name in ("fingerprint", "code_digest", "config_json", "sizes", "new_records"):
            salt[f"storm_topology.{name}"] = getattr(module, name)
        # The real project's build_jar.py, run by this Python instead of the conda env's.
        salt["storm_topology.build_jar"] = \
            lambda project, out, python: module.build_jar(project, out, sys.executable)
        state = loader("_states", "storm_topology", salt=salt, opts={"test": test})
        return state, storm
    return build


@pytest.fixture
def submit(tmp_path):
    def call(state, **overrides):
        args = dict(name="iris", project=PROJECT, workdir=str(tmp_path / "work"),
                    nimbus_seeds=SEEDS, virtualenv_root="/opt/conda/envs",
                    virtualenv_name="storm-worker", options={"iris.batch.size": 16},
                    workers=2, model_version="1", kill_wait=0, timeout=2, interval=0.01)
        args.update(overrides)
        return state.submitted(**args)
    return call


def test_submit_then_leave_alone_then_replace_if_changed(make, submit):
    state, storm = make()
    first = submit(state, **{})
    assert first["result"] is True, first["comment"]
    assert first["changes"]["topology"] == {"old": None, "new": "iris-1-1700000000"}
    assert [c[0] for c in storm.calls] == ["submit"]
    submit_args = storm.calls[0]
    assert submit_args[submit_args.index("-w") + 1] == "2"
    assert submit_args[submit_args.index("-j") + 1].endswith("iris.jar")

    again = submit(state)
    assert again["result"] is True and again["changes"] == {}, again["comment"]
    assert len(storm.calls) == 1

    changed = submit(state, options={"iris.batch.size": 4})
    assert changed["result"] is True, changed["comment"]
    assert [c[0] for c in storm.calls] == ["submit", "kill", "submit"]
    assert changed["changes"]["topology"] == {"old": "iris-1-1700000000",
                                              "new": "iris-2-1700000000"}
    assert changed["changes"]["fingerprint"]["old"] != changed["changes"]["fingerprint"]["new"]


def test_one_project_under_another_name(make, submit):
    """`definition` picks topologies/<definition>.py; the topology runs under its name,
    beside the one of the same project, and is replaced under that name."""
    state, storm = make()
    assert submit(state)["result"] is True
    other = submit(state, name="iris-b", definition="iris")
    assert other["result"] is True, other["comment"]
    assert sorted(storm.topologies) == ["iris", "iris-b"]
    args = storm.calls[-1]
    assert (args[args.index("-n") + 1], args[args.index("-N") + 1]) == ("iris", "iris-b")
    changed = submit(state, name="iris-b", definition="iris", options={"iris.batch.size": 4})
    assert changed["result"] is True, changed["comment"]
    kill = storm.calls[-2]
    assert kill[0] == "kill" and kill[kill.index("-n") + 1] == "iris-b"
    assert storm.topologies["iris"]["id"] == "iris-1-1700000000"
    missing = submit(state, name="iris-c")
    assert missing["result"] is False and "topologies/iris-c.py" in missing["comment"]


def test_a_change_to_the_topology_definition_resubmits(make, submit, tmp_path):
    """sparse reads topologies/iris.py on the nimbus host: it is code like src/."""
    import shutil
    project = tmp_path / "project"
    shutil.copytree(PROJECT, project)
    state, storm = make()
    submit(state, project=str(project))
    assert submit(state, project=str(project))["changes"] == {}
    definition = project / "topologies" / "iris.py"
    definition.write_text(definition.read_text().replace('"topology.max.spout.pending": 256',
                                                         '"topology.max.spout.pending": 128'))
    changed = submit(state, project=str(project))
    assert changed["result"] is True and [c[0] for c in storm.calls] == [
        "submit", "kill", "submit"]


def test_test_mode_without_the_project_copy_builds_nothing(make, submit, tmp_path):
    state, storm = make(test=True)
    report = submit(state, project=str(tmp_path / "not-yet"))
    assert report["result"] is None and "would copy the project" in report["comment"]
    assert storm.calls == [] and not (tmp_path / "work").exists()


def test_model_version_counts_only_when_resubmit_is_asked(make, submit):
    state, storm = make()
    submit(state, model_version="1")
    followed = submit(state, model_version="2")
    assert followed["changes"] == {} and len(storm.calls) == 1
    resubmitted = submit(state, model_version="2", model_change="resubmit")
    assert resubmitted["result"] is True and [c[0] for c in storm.calls][-2:] == [
        "kill", "submit"]


def test_keep_leaves_a_changed_topology_running(make, submit):
    state, storm = make()
    submit(state)
    kept = submit(state, options={"iris.batch.size": 4}, if_changed="keep")
    assert kept["result"] is True and kept["changes"] == {}
    assert "kept as if_changed: keep says" in kept["comment"]
    assert [c[0] for c in storm.calls] == ["submit"]


def test_test_mode_reports_and_submits_nothing(make, submit):
    state, storm = make(test=True)
    report = submit(state)
    assert report["result"] is None and "would submit iris" in report["comment"]
    assert storm.calls == []


def test_a_failed_submit_fails_the_state_with_sparses_words(make, submit):
    state, storm = make()
    storm.fail_submit = "sparse submit failed (1): ImportError: No module named 'spouts'"
    failed = submit(state)
    assert failed["result"] is False
    assert "No module named 'spouts'" in failed["comment"]


def test_a_foreign_topology_of_the_same_name_is_replaced(make, submit):
    state, storm = make()
    storm.topologies["iris"] = {"id": "iris-0-1", "status": "ACTIVE", "fingerprint": None,
                                "workers": []}
    replaced = submit(state)
    assert replaced["result"] is True and [c[0] for c in storm.calls] == ["kill", "submit"]


def records(path, version, count, label="setosa", prediction="setosa"):
    with open(path, "a", encoding="utf-8") as out:
        for i in range(count):
            out.write(json.dumps({"id": f"s{i}", "prediction": prediction, "label": label,
                                  "model_version": version}) + "\n")


def test_predictions_seen_needs_new_lines_of_the_expected_version(make, submit, tmp_path):
    state, storm = make()
    submit(state)
    results = tmp_path / "predictions-{task}.jsonl"
    old = tmp_path / "predictions-5.jsonl"
    records(old, "1", 10)  # written before the check: not evidence

    def seen(**kw):
        args = dict(name="iris", results_path=str(results), nimbus_seeds=SEEDS, host=HOST,
                    model_version="2", timeout=0.3, interval=0.05)
        args.update(kw)
        return state.predictions_seen(**args)

    stale = seen()
    assert stale["result"] is False and "no new predictions with model version 2" in \
        stale["comment"]

    import threading
    writer = threading.Timer(0.1, records, (old, "2", 3))
    writer.start()
    fresh = seen(timeout=5)
    writer.join()
    assert fresh["result"] is True and fresh["changes"] == {}
    assert "3 new predictions with model version 2" in fresh["comment"]
    assert "3/3 correct" in fresh["comment"]


def test_an_idle_stream_passes_once_storms_counters_stood_still(make, submit, tmp_path):
    """No new lines and no motion in Storm's counters for the idle window: the stream is
    idle, and a healthy topology with nothing to classify passes.  Counters that move
    (tuples emitted or failed) without new lines here are not idle."""
    state, storm = make()
    submit(state)
    topo = storm.topologies["iris"]
    topo.update(emitted={"iris_spout": 40, "classifier": 40}, failed={"iris_spout": 0})
    args = dict(name="iris", results_path=str(tmp_path / "p-{task}.jsonl"),
                nimbus_seeds=SEEDS, host=HOST, interval=0.02)
    idle = state.predictions_seen(timeout=2, idle_window=0.3, **args)
    assert idle["result"] is True, idle["comment"]
    assert "stream idle: iris emitted and failed nothing for 0s" in idle["comment"]

    import itertools
    ticks = itertools.count(41)
    real = storm.running

    def moving(*a, **kw):
        found = real(*a, **kw)
        found["emitted"] = {"iris_spout": next(ticks)}
        return found
    state.__salt__["storm_topology.running"] = moving
    busy = state.predictions_seen(timeout=0.6, idle_window=0.3, **args)
    assert busy["result"] is False
    assert "iris's counters last moved 0s ago" in busy["comment"], busy["comment"]

    fails = itertools.count(1)

    def failing(*a, **kw):
        found = real(*a, **kw)
        found["failed"] = {"iris_spout": next(fails)}
        return found
    state.__salt__["storm_topology.running"] = failing
    assert state.predictions_seen(timeout=0.6, idle_window=0.3, **args)["result"] is False


def test_predictions_wait_for_the_assignment_before_judging_a_host(make, submit, tmp_path):
    """Right after a submit the topology is ACTIVE with no assignment yet: no host may
    pass as "no sink here" until the sink is placed."""
    state, storm = make()
    submit(state)
    topo = storm.topologies["iris"]
    placed, tasks = topo["placed"], topo["tasks"]
    topo.update(placed={}, tasks={})
    pending = state.predictions_seen("iris", str(tmp_path / "p-{task}.jsonl"), SEEDS,
                                     "10.0.0.32", timeout=0.2, interval=0.05)
    assert pending["result"] is False and "0 sink tasks of iris assigned" in \
        pending["comment"]
    topo.update(placed=placed, tasks=tasks)
    assert state.predictions_seen("iris", str(tmp_path / "p-{task}.jsonl"), SEEDS,
                                  "10.0.0.32", timeout=0.2, interval=0.05)["result"] is True


def test_predictions_pass_on_a_host_without_a_sink(make, submit, tmp_path):
    state, _storm = make()
    submit(state)
    result = state.predictions_seen("iris", str(tmp_path / "p-{task}.jsonl"), SEEDS,
                                    "10.0.0.32", timeout=0.2, interval=0.05)
    assert result["result"] is True and "no sink task of iris runs on 10.0.0.32" in \
        result["comment"]


def test_predictions_fail_when_the_topology_is_not_running(make, tmp_path):
    state, _storm = make()
    result = state.predictions_seen("iris", str(tmp_path / "p.jsonl"), SEEDS, HOST,
                                    timeout=0)
    assert result["result"] is False and "not running" in result["comment"]


def test_a_deactivated_topology_is_neither_undone_nor_replaced(make, submit):
    state, storm = make()
    submit(state)
    storm.topologies["iris"]["status"] = "INACTIVE"
    paused = submit(state)
    assert paused["result"] is False and "is INACTIVE; activate it" in paused["comment"]
    assert [c[0] for c in storm.calls] == ["submit"]
    storm.topologies["iris"]["status"] = "REBALANCING"
    rebalancing = submit(state, timeout=0.05)
    assert rebalancing["result"] is False and "not ACTIVE after" in rebalancing["comment"]


def test_the_workers_zookeeper_identity_reaches_storm_through_config_json_only(
        make, submit, tmp_path):
    """The payload is in config.json (0600) for sparse to hand to Storm, never on the
    command line, in the state's output, or in the fingerprint: a new password does not
    replace the topology, turning authentication on does."""
    state, storm = make()
    payload = "topology-iris:" + "ab" * 32
    first = submit(state, zookeeper_payload=payload)
    assert first["result"] is True, first["comment"]
    config = tmp_path / "work" / "config.json"
    assert oct(config.stat().st_mode & 0o777) == "0o600"
    options = json.loads(config.read_text())["envs"]["prod"]["options"]
    assert options["storm.zookeeper.topology.auth.scheme"] == "digest"
    assert options["storm.zookeeper.topology.auth.payload"] == payload
    assert not any(payload in arg for call in storm.calls for arg in call)
    assert payload not in json.dumps(first)
    rotated = submit(state, zookeeper_payload="topology-iris:" + "cd" * 32)
    assert rotated["changes"] == {}, rotated["comment"]
    # The same deployment submitted without authentication differs from it.
    state2, _ = make()
    plain = submit(state2)
    assert plain["changes"]["fingerprint"]["new"] != first["changes"]["fingerprint"]["new"]
