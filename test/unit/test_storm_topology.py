"""The storm_topology execution module: a reproducible jar and fingerprint, config.json
for the leader without ssh or virtualenv installs, the running topology read from nimbus,
and the summary of the sink's prediction files."""

import json
import sys
import zipfile

import pytest
from modloader import ROOT
from salt.exceptions import CommandExecutionError

PROJECT = str(ROOT / "storm" / "files" / "iris_topology")


@pytest.fixture
def module(loader):
    return loader("_modules", "storm_topology")


def test_jar_and_fingerprint_are_reproducible(module, tmp_path):
    first = module.build_jar(PROJECT, str(tmp_path / "a.jar"), sys.executable)
    second = module.build_jar(PROJECT, str(tmp_path / "b.jar"), sys.executable)
    assert first == second
    names = zipfile.ZipFile(tmp_path / "a.jar").namelist()
    assert "resources/bolts/classify.py" in names and "resources/spouts/iris.py" in names
    first = module.code_digest(PROJECT)
    assert first == module.code_digest(PROJECT)
    conf = {"iris.batch.size": 16, "topology.workers": 2}
    print_ = module.fingerprint(first, conf)
    assert print_ == module.fingerprint(first, dict(reversed(list(conf.items()))))
    assert print_ != module.fingerprint(first, dict(conf, **{"iris.batch.size": 8}))
    assert print_ != module.fingerprint("0" * 64, conf)
    # sparse reads -o values as YAML: the fingerprint must stay a string.
    assert print_.startswith("sha256-")


def test_a_project_without_build_jar_is_refused(module, tmp_path):
    with pytest.raises(CommandExecutionError, match="no build_jar.py"):
        module.build_jar(str(tmp_path), str(tmp_path / "x.jar"), sys.executable)


def test_config_json_talks_thrift_to_the_leader(module, tmp_path):
    path = tmp_path / "config.json"
    module.config_json(str(path), "10.0.0.22:6627", "/opt/conda/envs", "storm-worker",
                       {"iris.batch.size": 4}, workers=["10.0.0.31", "10.0.0.32"])
    env = json.loads(path.read_text())["envs"]["prod"]
    assert env["workers"] == ["10.0.0.31", "10.0.0.32"]
    assert env["nimbus"] == "10.0.0.22:6627"
    assert env["use_ssh_for_nimbus"] is False and env["install_virtualenv"] is False
    assert (env["virtualenv_root"], env["virtualenv_name"]) == ("/opt/conda/envs",
                                                                "storm-worker")
    assert env["options"] == {"iris.batch.size": 4}


def executor(component, host, start, end=None):
    return {"component": component, "host": host, "port": 6700, "task_start": start,
            "task_end": start if end is None else end}


def test_running_reads_status_fingerprint_placement_and_counts_from_nimbus(loader):
    detail = {
        "id": "iris-3-17", "name": "iris", "status": "ACTIVE",
        "conf": {"salt.fingerprint": "sha256-ab", "topology.workers": 2},
        "executors": [executor("sink", "h1", 3), executor("sink", "h2", 4),
                      executor("classifier", "h1", 1, 2), executor("__acker", "h1", 5)],
        "workers": [{"host": "h1", "port": 6700}, {"host": "h2", "port": 6700}],
        "components": {"sink": {"acked": 7, "failed": 0}, "classifier": {"acked": 9}},
        "errors": {"sink": []},
    }
    asked = []

    def topology(seeds, name, port=6627, timeout=5):
        asked.append((seeds, name, port))
        return detail if name == "iris" else None
    module = loader("_modules", "storm_topology", salt={"storm_nimbus.topology": topology})
    found = module.running(["10.0.0.21"], "iris")
    assert found["id"] == "iris-3-17" and found["fingerprint"] == "sha256-ab"
    assert found["status"] == "ACTIVE"
    # System executors (__acker) are no component of the user's.
    assert found["placed"] == {"h1": {"sink": 1, "classifier": 2}, "h2": {"sink": 1}}
    assert found["tasks"] == {"sink": 2, "classifier": 2}
    assert found["acked"] == {"sink": 7, "classifier": 9}
    assert found["failed"] == {"sink": 0, "classifier": 0}
    assert module.running(["10.0.0.21"], "other") is None
    assert asked == [(["10.0.0.21"], "iris", 6627), (["10.0.0.21"], "other", 6627)]


def test_leader_is_asked_of_nimbus(loader):
    module = loader("_modules", "storm_topology", salt={
        "storm_nimbus.leader_address": lambda seeds, port=6627, timeout=5:
            f"{seeds[-1]}:{port}"})
    assert module.leader(["10.0.0.21", "10.0.0.22"], 6627) == "10.0.0.22:6627"


def test_predictions_summary_counts_accuracy_versions_and_bad_lines(module, tmp_path):
    lines = [{"id": i, "prediction": "setosa", "label": "setosa" if i % 4 else "virginica",
              "model_version": "1" if i < 6 else "2", "time": f"2026-11-25T18:00:0{i}"}
             for i in range(8)]
    (tmp_path / "p-5.jsonl").write_text("".join(json.dumps(r) + "\n" for r in lines[:4]))
    (tmp_path / "p-6.jsonl").write_text("".join(json.dumps(r) + "\n" for r in lines[4:])
                                        + "not json\n")
    summary = module.predictions(str(tmp_path / "p-{task}.jsonl"), tail=2)
    assert summary["lines"] == 8 and summary["bad"] == 1
    assert (summary["labelled"], summary["correct"], summary["accuracy"]) == (8, 6, 0.75)
    assert summary["model_versions"] == {"1": 6, "2": 2}
    assert [r["id"] for r in summary["latest"]] == [6, 7]


def test_new_records_are_those_after_the_recorded_sizes(module, tmp_path):
    path = tmp_path / "p-5.jsonl"
    path.write_text('{"id": 1}\n')
    since = module.sizes(str(tmp_path / "p-{task}.jsonl"))
    with open(path, "a") as out:
        out.write('{"id": 2}\n')
    (tmp_path / "p-6.jsonl").write_text('{"id": 3}\n')
    assert sorted(r["id"] for r in module.new_records(str(tmp_path / "p-{task}.jsonl"),
                                                      since)) == [2, 3]


def test_latest_are_the_newest_whatever_file_holds_them(module, tmp_path):
    """A task file that sorts last but was written earlier (an older topology's) must not
    hide the newest predictions."""
    def write(name, ids, minute):
        (tmp_path / name).write_text("".join(
            json.dumps({"id": i, "prediction": "setosa", "label": None, "model_version": "1",
                        "time": f"2026-11-25T18:{minute:02d}:{n:02d}"}) + "\n"
            for n, i in enumerate(ids)))
    write("p-5.jsonl", ["new-1", "new-2"], 30)
    write("p-6.jsonl", [f"old-{n}" for n in range(10)], 10)
    latest = module.predictions(str(tmp_path / "p-{task}.jsonl"), tail=3)["latest"]
    assert [r["id"] for r in latest] == ["old-9", "new-1", "new-2"]


def test_sparses_own_words_reach_the_message(module, tmp_path):
    """sparse prints its errors on stdout and warnings on stderr: both are kept."""
    fake = tmp_path / "sparse"
    fake.write_text("#!/bin/sh\necho 'Warning: TripleDES is deprecated' >&2\n"
                    "printf '\\033[31mTopology definition file not found\\033[0m\\n'\n"
                    "exit 1\n")
    fake.chmod(0o755)
    with pytest.raises(CommandExecutionError) as failure:
        module.sparse(str(fake), str(tmp_path), ["submit", "-n", "iris"])
    assert "sparse submit failed (1)" in str(failure.value)
    assert "Topology definition file not found" in str(failure.value)
    assert "\x1b" not in str(failure.value)


def test_a_missing_environment_is_named(module, tmp_path):
    (tmp_path / "build_jar.py").write_text("")
    with pytest.raises(CommandExecutionError, match="conda.* must be on the nimbus host"):
        module.build_jar(str(tmp_path), str(tmp_path / "x.jar"),
                         "/opt/conda/envs/none/bin/python")
