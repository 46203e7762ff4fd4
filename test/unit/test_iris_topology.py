"""
The bundled streamparse iris topology (storm/files/iris_topology), each component driven
as Storm drives it: ``python -m streamparse.run -s json <module>.<Class>`` in the
project's code directory, the multilang handshake, then commands and tuples over pipes
(multilang_driver.py).  The workers' environment is a scratch virtualenv with the pinned
streamparse, scikit-learn, numpy and joblib; models are trained by the shipped
train_iris.py into a temporary ``<root>/iris/<version>`` with a ``current`` link.
"""

import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
import zipfile
import zlib

import pytest
from modloader import ROOT
from multilang_driver import Component, ComponentDied, commands

PROJECT = ROOT / "storm/files/iris_topology"
SRC = PROJECT / "src"
TRAIN = ROOT / "sklearn_model/files/default/train_iris.py"
VENV = ROOT / "build/test-venvs/topology"
VENV_PYTHON = VENV / "bin/python"
PINS = ["streamparse==5.0.1", "setuptools<81", "scikit-learn==1.9.1", "numpy==2.4.6",
        "joblib==1.6.0"]
VERSIONS = {"streamparse": "5.0.1", "sklearn": "1.9.1", "numpy": "2.4.6", "joblib": "1.6.0"}
SPOUT = "spouts.iris.IrisSpout"
CLASSIFIER = "bolts.classify.ClassifierBolt"
SINK = "bolts.sink.SinkBolt"
SPOUT_FIELDS = ["samples"]
CLASSIFIER_FIELDS = ["shard", "results"]
CLASSES = {"setosa", "versicolor", "virginica"}
READY = {SPOUT: "iris spout task", CLASSIFIER: "classifier: batches of", SINK: "sink: writing"}

PROBE = ("import json, streamparse, sklearn, numpy, joblib; print(json.dumps({m.__name__: "
         "m.__version__ for m in (streamparse, sklearn, numpy, joblib)}))")

PREDICT_ALL = """\
import json, sys, joblib
from sklearn.datasets import load_iris
iris = load_iris()
model = joblib.load(sys.argv[1], mmap_mode="r")
names = [str(n) for n in iris.target_names]
print(json.dumps({"rows": iris.data.tolist(), "labels": [names[t] for t in iris.target],
                  "predictions": [str(p) for p in model.predict(iris.data)]}))
"""

# A valid model of another kind: always 'setosa' (so a switch to it shows in predictions).
CONSTANT_MODEL = """\
import hashlib, json, os, sys, joblib, numpy
from sklearn.datasets import load_iris
from sklearn.dummy import DummyClassifier
out, version = sys.argv[1], sys.argv[2]
iris = load_iris()
labels = numpy.asarray(iris.target_names)[iris.target]
model = DummyClassifier(strategy="constant", constant="setosa").fit(iris.data, labels)
os.makedirs(out)
path = os.path.join(out, "model.joblib")
joblib.dump(model, path, compress=0)
meta = {"name": "iris", "version": version, "file": "model.joblib",
        "sha256": hashlib.sha256(open(path, "rb").read()).hexdigest(),
        "samples": [{"features": iris.data[i].tolist(), "label": str(labels[i]),
                     "expected": "setosa"} for i in (0, 50, 100)]}
json.dump(meta, open(os.path.join(out, "model.json"), "w"))
"""


# ---------------------------------------------------------------------------- fixtures

def _venv_ok():
    if not VENV_PYTHON.exists():
        return False
    probe = subprocess.run([str(VENV_PYTHON), "-c", PROBE], capture_output=True, text=True,
                           check=False, timeout=120)
    return probe.returncode == 0 and json.loads(probe.stdout) == VERSIONS


@pytest.fixture(scope="session")
def venv():
    """The workers' environment: /usr/bin/python3 venv with the pinned packages."""
    if not _venv_ok():
        VENV.parent.mkdir(parents=True, exist_ok=True)
        if not VENV_PYTHON.exists():
            subprocess.run(["/usr/bin/python3", "-m", "venv", str(VENV)], check=True,
                           timeout=300)
        subprocess.run([str(VENV / "bin/pip"), "install", "-q", *PINS], check=True,
                       timeout=900)
    assert _venv_ok(), f"{VENV} does not have {VERSIONS}"
    return VENV_PYTHON


def run_venv(venv, script, *args, cwd=None):
    proc = subprocess.run([str(venv), "-c", script, *map(str, args)], capture_output=True,
                          text=True, check=False, timeout=120, cwd=cwd,
                          env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"})
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


@pytest.fixture(scope="session")
def trained(venv, tmp_path_factory):
    """Versions v1 and v2 trained once by train_iris.py; tests work on copies."""
    root = tmp_path_factory.mktemp("trained")
    for version in ("v1", "v2"):
        proc = subprocess.run([str(venv), str(TRAIN), "--out", str(root / "iris" / version),
                               "--version", version], capture_output=True, text=True,
                              check=False, timeout=120)
        assert proc.returncode == 0, proc.stderr
    return root


@pytest.fixture(scope="session")
def iris(venv, trained):
    """The iris rows, their labels and v1's predictions for them (in-process predict)."""
    return json.loads(run_venv(venv, PREDICT_ALL, trained / "iris/v1/model.joblib"))


def switch(root, version):
    """Point <root>/iris/current at ``version`` as sklearn_model.switch does (rename)."""
    tmp = root / "iris" / f".current.tmp-{version}"
    os.symlink(version, tmp)
    os.replace(tmp, root / "iris" / "current")


@pytest.fixture
def models(trained, tmp_path):
    root = tmp_path / "models"
    for version in ("v1", "v2"):
        shutil.copytree(trained / "iris" / version, root / "iris" / version)
    switch(root, "v1")
    return root


@pytest.fixture
def start(venv, tmp_path):
    """Start components (handshake done); every one is killed at the end of the test."""
    started = []

    def _start(target, conf, component, **kwargs):
        comp = Component(venv, SRC, target, conf, component, pid_dir=tmp_path / "pids",
                         **kwargs)
        started.append(comp)
        comp.start()
        # initialize() has run once the component logged its settings.
        marker = READY[target]
        comp.startup = comp.collect(lambda m: m.get("command") == "log" and
                                    m["msg"].startswith(marker), 60)
        return comp

    yield _start
    for comp in started:
        comp.kill()


def spout_conf(**extra):
    """One sample per tuple unless a test asks for batches."""
    return {"iris.source.state.dir": "/nonexistent-unused", "iris.spout.counts.path": None,
            "iris.spout.batch.size": 1, **extra}


def samples(emit):
    """The samples of a spout emit, without the time each was taken."""
    return [s[:3] for s in emit["tuple"][0]]


def one(emit):
    """The one sample of a spout emit of batch size 1."""
    only, = samples(emit)
    return only


def classifier_conf(models, **extra):
    return {"iris.model.root": str(models), "iris.model.check.ms": 100,
            "topology.tick.tuple.freq.secs": 1, **extra}


def start_classifier(start, models, **extra):
    return start(CLASSIFIER, classifier_conf(models, **extra), "classifier",
                 sources={"iris_spout": {"default": SPOUT_FIELDS}}, outputs=CLASSIFIER_FIELDS)


def logs(messages, level=None):
    return [m["msg"] for m in commands(messages, "log")
            if level is None or m.get("level") == level]


def next_until(spout, count, timeout=10):
    """Send `next` until `count` tuples were emitted; returns (emits, all messages)."""
    emitted, seen = [], []
    deadline = time.monotonic() + timeout
    while len(emitted) < count:
        assert time.monotonic() < deadline, f"only {len(emitted)} emits: {seen[-5:]}"
        answer = spout.command("next")
        seen.extend(answer)
        emitted.extend(commands(answer, "emit"))
        if not answer:
            time.sleep(0.01)
    return emitted, seen


def acks_after_emits(transcript):
    """For each input id: emitted (anchored to it) before it was acked; returns acked ids."""
    emitted, acked = set(), []
    for _when, message in transcript:
        if message.get("command") == "emit":
            assert len(message["anchors"]) == 1, message
            emitted.add(message["anchors"][0])
        elif message.get("command") == "ack" and not message["id"].startswith("tick"):
            assert message["id"] in emitted, f"{message['id']} acked before its emit"
            acked.append(message["id"])
    return acked


def wait_acks(comp, ids, timeout=10):
    """Messages read until every id in ``ids`` was acked or failed."""
    waiting = set(ids)

    def settled(message):
        if message.get("command") in ("ack", "fail"):
            waiting.discard(message["id"])
        return not waiting

    return comp.collect(settled, timeout)


# ---------------------------------------------------------------------------- project

def test_topology_definition_and_overrides(venv, tmp_path):
    """sparse imports topologies/iris.py: the graph, the groupings, the parallelism from the
    configuration (config.json env options, then -o), and no numpy/sklearn needed."""
    config = json.loads((PROJECT / "config.json.example").read_text())
    env = config["envs"]["prod"]
    assert env["virtualenv_root"] == "/opt/conda/envs"
    assert env["virtualenv_name"] == "storm-worker"
    assert env["use_ssh_for_nimbus"] is False and env["install_virtualenv"] is False
    assert config["serializer"] == "json" and config["topology_specs"] == "topologies/"
    env["options"]["iris.parallelism.sink"] = 2
    (tmp_path / "config.json").write_text(json.dumps(config))
    script = f"""
import json, sys
sys.argv = ["/usr/bin/sparse", "submit", "-e", "prod", "-n", "iris", "-o",
            "iris.parallelism.classifier=3", "-o", "iris.batch.size=32", "-j", "x.jar"]
sys.path[:0] = [{str(PROJECT / 'topologies')!r}, {str(SRC)!r}]
import iris
t = iris.Iris
out = {{"bolts": {{n: [b.common.parallelism_hint, json.loads(b.common.json_conf),
                      b.bolt_object.shell.script,
                      {{f"{{k.componentId}}/{{k.streamId}}": str(g)
                        for k, g in b.common.inputs.items()}}]
                  for n, b in t.thrift_bolts.items()}},
       "spouts": {{n: [s.common.parallelism_hint, s.spout_object.shell.script,
                       s.common.streams["default"].output_fields]
                   for n, s in t.thrift_spouts.items()}},
       "config": t.config,
       "heavy": sorted(m for m in ("numpy", "sklearn", "joblib") if m in sys.modules)}}
print(json.dumps(out))
"""
    out = json.loads(run_venv(venv, script, cwd=tmp_path))
    assert out["heavy"] == []
    assert out["spouts"] == {"iris_spout": [1, "spouts.iris.IrisSpout", SPOUT_FIELDS]}
    classifier, sink = out["bolts"]["classifier"], out["bolts"]["sink"]
    assert classifier[:3] == [3, {"topology.tick.tuple.freq.secs": 1},
                              "bolts.classify.ClassifierBolt"]
    assert classifier[3] == {"iris_spout/default": "SHUFFLE"}
    assert sink[:3] == [2, {}, "bolts.sink.SinkBolt"]
    assert sink[3] == {"classifier/default": "fields(['shard'])"}
    conf = out["config"]
    assert conf["iris.batch.size"] == 32 and conf["iris.model.root"] == "/srv/models"
    assert conf["iris.results.path"] == "/var/lib/storm/iris/predictions.jsonl"
    assert conf["topology.max.spout.pending"] >= 16


def test_jar_is_a_reproducible_zip_of_resources(tmp_path):
    jars = []
    for name in ("a.jar", "b.jar"):
        proc = subprocess.run([sys.executable, str(PROJECT / "build_jar.py"), "--out",
                               str(tmp_path / name)], capture_output=True, text=True,
                              check=False, timeout=60,
                              env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"})
        assert proc.returncode == 0, proc.stderr
        jars.append((tmp_path / name).read_bytes())
    assert jars[0] == jars[1]
    with zipfile.ZipFile(tmp_path / "a.jar") as jar:
        names = jar.namelist()
    assert all(n.startswith("resources/") for n in names)
    for needed in ("spouts/__init__.py", "spouts/iris.py", "bolts/__init__.py",
                   "bolts/classify.py", "bolts/sink.py", "irislib/settings.py",
                   "irislib/model.py", "irislib/tail.py", "irislib/results.py"):
        assert f"resources/{needed}" in names
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]


@pytest.mark.parametrize("target,conf,key", [
    (SINK, {"iris.results.max.bytes": "lots"}, "iris.results.max.bytes"),
    (SPOUT, {"iris.spout.rat": 10}, "iris.spout.rat"),
    (CLASSIFIER, {"iris.model.root": "models"}, "iris.model.root"),
])
def test_a_bad_setting_stops_the_component_naming_the_key(venv, tmp_path, target, conf, key):
    comp = Component(venv, SRC, target, conf, "c", pid_dir=tmp_path / "pids")
    try:
        comp.start()
        seen = []
        with pytest.raises(ComponentDied):
            while True:
                seen.append(comp.read(30))
        errors = [m["msg"] for m in commands(seen, "error")]
        assert len(errors) == 1 and key in errors[0] and "cannot start" in errors[0], seen
        assert comp.proc.returncode != 0
    finally:
        comp.kill()


# ---------------------------------------------------------------------------- spout

def test_spout_cycles_through_iris_with_message_ids(start, iris):
    spout = start(SPOUT, spout_conf(**{"iris.spout.rows": "all"}), "iris_spout",
                  outputs=SPOUT_FIELDS)
    emitted, _seen = next_until(spout, 155)
    ids = [e["id"] for e in emitted]
    assert len(set(ids)) == len(ids), "message ids must be unique while pending"
    first = [one(e) for e in emitted[:150]]
    assert [t[0] for t in first] == [f"iris-{i:03d}" for i in range(150)]
    assert [t[1] for t in first] == iris["rows"]
    assert [t[2] for t in first] == iris["labels"]
    # ... and round again, with new message ids.
    assert [one(e) for e in emitted[150:]] == [one(e) for e in emitted[:5]]
    assert not set(ids[150:]) & set(ids[:150])
    for message_id in ids:
        assert spout.command("ack", message_id) == []


def test_spout_tasks_share_the_rows(start):
    tasks = {4: "iris_spout", 5: "iris_spout", 6: "iris_spout"}
    spout = start(SPOUT, spout_conf(**{"iris.spout.cycles": 1, "iris.spout.rows": "all"}),
                  "iris_spout", task=5, tasks=tasks, outputs=SPOUT_FIELDS)
    emitted, _seen = next_until(spout, 50)
    assert [one(e)[0] for e in emitted] == [f"iris-{i:03d}" for i in range(1, 150, 3)]
    assert spout.next() == []  # one pass only (iris.spout.cycles)


def test_spout_streams_the_rows_the_model_never_saw(start, models):
    """By default the spout cycles through the held-out rows the model in use lists in its
    model.json, and says so; without such a list it streams all rows, with a warning."""
    held = json.loads((models / "iris/v1/model.json").read_text())["held_out"]["rows"]
    conf = spout_conf(**{"iris.spout.cycles": 1, "iris.model.root": str(models)})
    spout = start(SPOUT, conf, "iris_spout", outputs=SPOUT_FIELDS)
    assert any("45 held-out rows (the model never saw them)" in m
               for m in logs(spout.startup)), logs(spout.startup)
    emitted, _seen = next_until(spout, len(held))
    assert [one(e)[0] for e in emitted] == [f"iris-{i:03d}" for i in held]
    assert spout.next() == []
    meta = json.loads((models / "iris/v1/model.json").read_text())
    del meta["held_out"]["rows"]
    (models / "iris/v1/model.json").write_text(json.dumps(meta))
    spout = start(SPOUT, conf, "iris_spout", outputs=SPOUT_FIELDS)
    assert any("lists no held-out rows" in m for m in logs(spout.startup))
    assert len(next_until(spout, 150)[0]) == 150


def test_spout_replays_failed_samples_and_bounds_pending(start):
    conf = spout_conf(**{"iris.spout.max.pending": 5, "iris.spout.max.replays": 2})
    spout = start(SPOUT, conf, "iris_spout", outputs=SPOUT_FIELDS)
    emitted, _seen = next_until(spout, 5)
    assert spout.next() == [], "six pending with iris.spout.max.pending 5"
    failed = emitted[1]
    assert spout.command("fail", failed["id"]) == []
    replay = spout.next()
    assert [(m["id"], m["tuple"]) for m in replay] == [(failed["id"], failed["tuple"])]
    assert spout.next() == []  # still five pending: the replay took no new slot
    spout.command("ack", emitted[0]["id"])
    fresh = spout.next()
    assert len(fresh) == 1 and fresh[0]["id"] not in {e["id"] for e in emitted}
    # Second replay, then the third failure is one too many: given up, logged.
    spout.command("fail", failed["id"])
    assert [m["id"] for m in spout.next()] == [failed["id"]]
    answer = spout.command("fail", failed["id"])
    assert any("giving up on 1 sample(s) iris-001 " in msg for msg in logs(answer, level=4))
    assert commands(spout.command("next"), "emit")[0]["id"] != failed["id"]
    # Unknown ids (e.g. from before a restart) are ignored.
    assert commands(spout.command("fail", "no-such-id"), "emit", "log") == []


def test_spout_ledger_accounts_for_every_sample(start, tmp_path):
    """The spout's own counts, exact: every sample emitted is acked, given up or still
    pending, and every fail is a replay, a give-up or one queued."""
    conf = spout_conf(**{"iris.spout.max.pending": 3, "iris.spout.max.replays": 1,
                         "iris.spout.counts.path": str(tmp_path / "counts-{task}.json")})
    spout = start(SPOUT, conf, "iris_spout", outputs=SPOUT_FIELDS)
    emitted, _seen = next_until(spout, 3)
    spout.command("ack", emitted[0]["id"])
    spout.command("fail", emitted[1]["id"])
    assert [m["id"] for m in spout.next()] == [emitted[1]["id"]]  # the replay
    spout.command("fail", emitted[1]["id"])  # once more than iris.spout.max.replays
    spout.command("ack", "no-such-id")       # not ours: not counted
    spout.command("ack", emitted[0]["id"])   # acked twice: counted once
    time.sleep(1.1)  # written at most once a second
    assert len(spout.next()) == 1  # a fresh sample
    written, = tmp_path.glob("counts-*.json")
    ledger = json.loads(written.read_text())
    assert written.name == f"counts-{ledger['task']}.json"
    assert {k: ledger[k] for k in ("emitted", "replayed", "acked", "failed", "given_up",
                                   "pending")} == {
        "emitted": 3, "replayed": 1, "acked": 1, "failed": 2, "given_up": 1, "pending": 1}
    assert ledger["emitted"] == ledger["acked"] + ledger["given_up"] + ledger["pending"]
    time.sleep(1.1)
    spout.next()
    ledger = json.loads(written.read_text())
    assert (ledger["emitted"], ledger["pending"]) == (4, 2)


def test_paused_spout_ledger_shows_it_drained(start, tmp_path):
    """Deactivated, a spout gets no `next` but still the acks of what it had in flight:
    its ledger says when nothing is pending any more (the bench and the drills wait for
    that)."""
    conf = spout_conf(**{"iris.spout.batch.size": 2,
                         "iris.spout.counts.path": str(tmp_path / "counts-{task}.json")})
    spout = start(SPOUT, conf, "iris_spout", outputs=SPOUT_FIELDS)
    emitted, _seen = next_until(spout, 3)
    spout.command("deactivate")
    for message in emitted:
        spout.command("ack", message["id"])
    ledger = json.loads(next(tmp_path.glob("counts-*.json")).read_text())
    assert (ledger["emitted"], ledger["acked"], ledger["pending"],
            ledger["tuples_pending"]) == (6, 6, 0, 0), ledger


def test_spout_batches_by_count_and_by_age(start):
    """Full batches while samples are at hand; a trickle (iris.spout.rate) goes out once
    its oldest sample has waited iris.spout.batch.ms, not held back for a full batch."""
    conf = spout_conf(**{"iris.spout.batch.size": 10, "iris.spout.rows": "all",
                         "iris.spout.cycles": 1})
    spout = start(SPOUT, conf, "iris_spout", outputs=SPOUT_FIELDS)
    emitted, _seen = next_until(spout, 15)
    assert [len(e["tuple"][0]) for e in emitted] == [10] * 15
    assert [s[0] for e in emitted for s in samples(e)] == [f"iris-{i:03d}" for i in range(150)]
    assert spout.next() == []
    # 20 samples/s: a batch of 10 would take half a second to fill; it goes after 200 ms.
    conf = spout_conf(**{"iris.spout.batch.size": 10, "iris.spout.batch.ms": 200,
                         "iris.spout.rate": 20, "iris.spout.rows": "all"})
    spout = start(SPOUT, conf, "iris_spout", outputs=SPOUT_FIELDS)
    emitted, _seen = next_until(spout, 3)
    received = time.time() * 1000.0
    assert all(1 <= len(e["tuple"][0]) < 10 for e in emitted), emitted
    assert received - emitted[-1]["tuple"][0][0][3] >= 200.0  # the oldest's wait
    ids = [s[0] for e in emitted for s in samples(e)]
    assert ids == [f"iris-{i:03d}" for i in range(len(ids))]


def test_spout_replays_exactly_a_tuples_samples_and_counts_both(start, tmp_path):
    """A failed tuple comes again with the same id and exactly its samples (their first
    taken times too); pending is bounded in samples; the ledger counts samples and
    tuples apart, and given-up samples are counted as such."""
    conf = spout_conf(**{"iris.spout.batch.size": 5, "iris.spout.max.pending": 10,
                         "iris.spout.max.replays": 1, "iris.spout.rows": "all",
                         "iris.spout.counts.path": str(tmp_path / "counts-{task}.json")})
    spout = start(SPOUT, conf, "iris_spout", outputs=SPOUT_FIELDS)
    emitted, _seen = next_until(spout, 2)
    assert spout.next() == [], "10 samples pending with iris.spout.max.pending 10"
    spout.command("fail", emitted[0]["id"])
    replay = spout.next()
    assert [(m["id"], m["tuple"]) for m in replay] == [(emitted[0]["id"], emitted[0]["tuple"])]
    answer = spout.command("fail", emitted[0]["id"])  # once more than max.replays
    assert any("giving up on 5 sample(s) iris-000, iris-001" in m for m in logs(answer, 4))
    spout.command("ack", emitted[1]["id"])
    time.sleep(1.1)
    fresh = spout.next()
    assert [s[0] for s in fresh[0]["tuple"][0]] == [f"iris-{i:03d}" for i in range(10, 15)]
    ledger = json.loads(next(tmp_path.glob("counts-*.json")).read_text())
    del ledger["topology"], ledger["task"], ledger["time"]
    assert ledger == {"emitted": 10, "replayed": 5, "acked": 5, "failed": 10, "given_up": 5,
                      "pending": 0, "tuples_emitted": 2, "tuples_replayed": 1,
                      "tuples_acked": 1, "tuples_failed": 2, "tuples_given_up": 1,
                      "tuples_pending": 0}


def test_spout_rate_cap(start):
    spout = start(SPOUT, spout_conf(**{"iris.spout.rate": 20}), "iris_spout",
                  outputs=SPOUT_FIELDS)
    next_until(spout, 1)  # started (initialize ran)
    time.sleep(0.5)       # idle: no burst builds up beyond one tuple
    began, count = time.monotonic(), 0
    while time.monotonic() - began < 1.0:
        count += len(spout.next())
    # The cap is an upper bound (a loaded machine only lowers the count); an uncapped
    # spout answers hundreds of `next` in a second.  Throughput figures: bench/.  One
    # sample per tuple here (spout_conf), so tuples are samples.
    assert 1 <= count <= 22, count


def write_lines(path, *lines, mode="a"):
    with open(path, mode, encoding="utf-8") as handle:
        handle.write("".join(lines))


def test_spout_tails_a_source_directory(start, tmp_path):
    source, state = tmp_path / "in", tmp_path / "state"
    source.mkdir()
    good1 = json.dumps({"id": "a1", "features": [5.1, 3.5, 1.4, 0.2], "label": "setosa"})
    good2 = json.dumps({"features": [6.7, 3, 5.2, 2.3]})
    write_lines(source / "a.jsonl", good1 + "\n", "{nope\n", good2 + "\n",
                json.dumps({"id": "x", "features": [1, 2, 3]}) + "\n", "\n",
                '{"id": "a4", "features": [5.9, 3.0, ')  # a partial last line
    write_lines(source / ".hidden.jsonl", good1 + "\n")
    write_lines(source / "notes.txt", good1 + "\n")
    conf = spout_conf(**{"iris.source.dir": str(source), "iris.source.state.dir": str(state),
                         "iris.source.poll.ms": 50})
    spout = start(SPOUT, conf, "iris_spout", outputs=SPOUT_FIELDS)
    emitted, seen = next_until(spout, 2)
    offset2 = len(good1) + len("{nope\n") + 1
    assert [one(e) for e in emitted] == [
        ["a1", [5.1, 3.5, 1.4, 0.2], "setosa"],
        [f"a.jsonl@{offset2}", [6.7, 3.0, 5.2, 2.3], None]]
    seen += spout.drain(0.2) + spout.command("next")
    warnings = logs(seen, level=3)
    assert any("a.jsonl@" in w and "not JSON" in w for w in warnings), warnings
    assert any("list of 4 numbers" in w for w in warnings), warnings
    assert len(warnings) == 2 and not commands(seen, "emit")[2:]

    # The partial line completes, a line and a new file arrive: picked up.
    write_lines(source / "a.jsonl", '5.1, 1.8], "label": "virginica"}\n',
                json.dumps({"id": "a5", "features": [5, 3.4, 1.5, 0.2]}) + "\n")
    write_lines(source / "b.jsonl", json.dumps({"id": "b1", "features": [6, 2.2, 4, 1]}) + "\n")
    more, _seen = next_until(spout, 3)
    assert sorted(one(e)[0] for e in more) == ["a4", "a5", "b1"]
    assert [m["id"] for m in spout.next() + spout.next()] == []

    # A failed line is replayed with its id; acked ones are done.
    by_sample = {one(e)[0]: e for e in emitted + more}
    spout.command("fail", by_sample["a1"]["id"])
    assert [m["id"] for m in spout.next()] == [by_sample["a1"]["id"]]
    for sample, emit in by_sample.items():
        if sample != "b1":
            spout.command("ack", emit["id"])
    spout.command("deactivate")  # saves the offsets at once
    saved = json.loads(next(state.glob("*.json")).read_text())["files"]
    offsets = {entry["name"]: entry["offset"] for entry in saved.values()}
    assert offsets == {"a.jsonl": (source / "a.jsonl").stat().st_size, "b.jsonl": 0}
    spout.close()

    # A new process: b1 was in flight, so it comes again; nothing of a.jsonl does.
    spout = start(SPOUT, conf, "iris_spout", outputs=SPOUT_FIELDS)
    again, _seen = next_until(spout, 1)
    assert [one(e)[0] for e in again] == ["b1"]
    write_lines(source / "a.jsonl", json.dumps({"id": "a6", "features": [1, 2, 3, 4]}) + "\n")
    latest, _seen = next_until(spout, 1)
    assert [one(e)[0] for e in latest] == ["a6"]


# ---------------------------------------------------------------------------- classifier

def sample(iris, i):
    return [f"iris-{i:03d}", iris["rows"][i], iris["labels"][i]]


TAKEN_MS = 1767225600000.0  # when the spout "took" the test's samples


def batch_of(iris, *rows):
    """Spout tuple values carrying the samples of these iris rows."""
    return [[sample(iris, i) + [TAKEN_MS] for i in rows]]


def results(emits):
    """The results of classifier emits, in order, each [id, features, prediction,
    version, latency_ms, label, taken_ms]."""
    return [r for e in emits for r in e["tuple"][1]]


def test_classifier_predicts_a_tuples_samples_anchored_and_acked_after_emit(start, models,
                                                                            iris):
    """A tuple's samples are predicted together and go out anchored to it, then it is
    acked; a lone tuple is not held back for a fuller batch (no tick, no timeout)."""
    bolt = start_classifier(start, models, **{"iris.batch.size": 64,
                                              "iris.batch.timeout.ms": 600000})
    assert any("model v1 in use" in msg and "support_vectors_" in msg
               for msg in logs(bolt.startup)), bolt.startup
    assert any("as soon as no input is waiting" in msg for msg in logs(bolt.startup))
    rows = [0, 60, 120, 70, 30, 140, 80, 10]
    first = bolt.tuple(batch_of(iris, *rows[:3]))
    got = wait_acks(bolt, [first], timeout=5)  # well before any timeout or tick
    second = bolt.tuple(batch_of(iris, *rows[3:]))
    got += wait_acks(bolt, [second])
    emits = commands(got, "emit")
    assert [e["anchors"] for e in emits] == [[first], [second]]  # one sink shard
    assert [e["tuple"][0] for e in emits] == [0, 0]
    for result, i in zip(results(emits), rows, strict=True):
        sample_id, features, prediction, version, latency, label, taken = result
        assert [sample_id, features, label] == sample(iris, i) and taken == TAKEN_MS
        assert prediction == iris["predictions"][i] and prediction in CLASSES
        assert version == "v1" and 0 <= latency < 600000
    assert acks_after_emits(bolt.transcript) == [first, second]
    # Heartbeats are answered with sync.
    bolt.heartbeat()
    assert bolt.collect(lambda m: m.get("command") == "sync", 5)[-1] == {"command": "sync"}


def test_classifier_splits_a_tuple_by_sink_shard(start, models, iris):
    """With three sink tasks a tuple's results go out as one tuple per shard, each shard
    the crc32 of the sample id modulo 3 (so every attempt at a sample reaches the same
    sink task), all anchored to the input, which is acked after all of them."""
    bolt = start(CLASSIFIER, classifier_conf(models), "classifier",
                 tasks={2: "classifier", 7: "sink", 8: "sink", 9: "sink"}, task=2,
                 sources={"iris_spout": {"default": SPOUT_FIELDS}}, outputs=CLASSIFIER_FIELDS)
    assert any("3 sink shard(s)" in msg for msg in logs(bolt.startup)), bolt.startup
    rows = list(range(0, 150, 10))
    tup = bolt.tuple(batch_of(iris, *rows))
    emits = commands(wait_acks(bolt, [tup]), "emit")
    expected = {}
    for i in rows:
        expected.setdefault(zlib.crc32(f"iris-{i:03d}".encode()) % 3, []).append(
            f"iris-{i:03d}")
    assert len(expected) > 1, "the rows chosen should span shards"
    assert {e["tuple"][0]: [r[0] for r in e["tuple"][1]] for e in emits} == expected
    assert len(emits) == len(expected) and all(e["anchors"] == [tup] for e in emits)
    assert acks_after_emits(bolt.transcript) == [tup]


def test_classifier_flushes_on_timeout_while_input_keeps_coming(start, models, iris):
    """While more input is always waiting (here: the first half of the next tuple is
    already in the pipe) a partial batch is not held for ever: once its oldest tuple
    has waited iris.batch.timeout.ms it is predicted with the tuple that arrives next.
    Without the timeout nothing would be acked until the input stopped."""
    bolt = start_classifier(start, models, **{"iris.batch.size": 100000,
                                              "iris.batch.timeout.ms": 200})
    parts = [bolt.tuple_bytes(batch_of(iris, i)) for i in (0, 60, 120, 30)]
    ids = [tup_id for tup_id, _data in parts]
    halves = [(data[:len(data) // 2], data[len(data) // 2:]) for _id, data in parts]
    bolt.send_raw(parts[0][1] + halves[1][0])       # A whole, the first half of B
    time.sleep(0.5)                                   # A is older than the timeout
    bolt.send_raw(halves[1][1] + halves[2][0])       # B completed, half of C waiting
    early = wait_acks(bolt, ids[:2], timeout=5)       # A and B, while C is unfinished
    assert [m["id"] for m in commands(early, "ack")] == ids[:2], early
    bolt.send_raw(halves[2][1] + parts[3][1])       # C and D whole: then nothing waits
    late = wait_acks(bolt, ids[2:], timeout=5)
    assert [m["id"] for m in commands(late, "ack")] == ids[2:], late
    got = results(commands(early + late, "emit"))
    assert [r[0] for r in got] == ["iris-000", "iris-060", "iris-120", "iris-030"]
    # A waited for B (at least the 0.5 s), B was predicted as soon as it arrived.
    assert got[0][4] >= 500 > got[1][4], got


def test_classifier_fails_bad_tuples_and_keeps_going(start, models, iris):
    bolt = start_classifier(start, models, **{"iris.batch.size": 3})
    good1 = bolt.tuple(batch_of(iris, 0))
    bad = bolt.tuple([[sample(iris, 1) + [TAKEN_MS], ["oops", [1.0, "x", 3.0, 4.0], None, 0]]])
    flat = bolt.tuple([sample(iris, 2) + [TAKEN_MS]])  # one sample, not a list of them
    good2 = bolt.tuple(batch_of(iris, 100))
    got = wait_acks(bolt, [good1, bad, flat, good2])
    assert commands(got, "fail") == [{"command": "fail", "id": bad},
                                     {"command": "fail", "id": flat}]
    assert [e["anchors"] for e in commands(got, "emit")] == [[good1], [good2]]
    assert any("not a list of [id, 4 numbers, label, time] samples" in m["msg"]
               for m in commands(got, "error"))


def make_broken(root):
    (root / "iris" / "broken").mkdir()
    (root / "iris" / "broken" / "model.joblib").write_bytes(b"this is not a pickle\n")
    tampered = root / "iris" / "tampered"
    shutil.copytree(root / "iris" / "v1", tampered)
    meta = json.loads((tampered / "model.json").read_text())
    meta["sha256"] = hashlib.sha256(b"something else").hexdigest()
    (tampered / "model.json").write_text(json.dumps(meta))


def test_classifier_reports_a_broken_model_and_recovers(start, models, iris):
    make_broken(models)
    switch(models, "broken")
    bolt = start_classifier(start, models, **{"iris.batch.size": 2})
    errors = [m["msg"] for m in commands(bolt.startup, "error")]
    assert any("model broken" in e and "joblib.load" in e for e in errors), bolt.startup
    ids = [bolt.tuple(batch_of(iris, i)) for i in (0, 1)]
    got = wait_acks(bolt, ids)
    assert [m["id"] for m in commands(got, "fail")] == ids and not commands(got, "emit")
    assert bolt.alive()

    switch(models, "tampered")  # sha256 does not match model.json: never unpickled
    time.sleep(0.15)
    ids = [bolt.tuple(batch_of(iris, i)) for i in (2, 3)]
    got = wait_acks(bolt, ids)
    assert [m["id"] for m in commands(got, "fail")] == ids
    assert any("tampered" in m["msg"] and "sha256" in m["msg"]
               for m in commands(got, "error")), got

    switch(models, "v1")
    time.sleep(0.15)
    ids = [bolt.tuple(batch_of(iris, i)) for i in (4, 5)]
    got = wait_acks(bolt, ids)
    assert [r[3] for r in results(commands(got, "emit"))] == ["v1", "v1"]
    assert [m["id"] for m in commands(got, "ack")] == ids


def test_classifier_follows_the_current_link_without_restart(start, venv, models, iris):
    run_venv(venv, CONSTANT_MODEL, models / "iris" / "v3", "v3")
    make_broken(models)
    bolt = start_classifier(start, models, **{"iris.batch.size": 1})
    pid = bolt.pid

    def classify(i):
        tup_id = bolt.tuple(batch_of(iris, i))
        got = wait_acks(bolt, [tup_id])
        emits = commands(got, "emit")
        assert len(emits) == 1, got
        return results(emits)[0][2:4], got

    assert classify(100)[0] == [iris["predictions"][100], "v1"]
    switch(models, "v2")
    time.sleep(0.15)
    (prediction, version), got = classify(100)
    assert (prediction, version) == (iris["predictions"][100], "v2")
    assert any("model v2 in use" in msg for msg in logs(got))
    switch(models, "v3")
    time.sleep(0.15)
    assert classify(100)[0] == ["setosa", "v3"]  # the constant model answers now
    # A bad version switched in: reported, and the model in use stays.
    switch(models, "broken")
    time.sleep(0.15)
    (prediction, version), got = classify(100)
    assert version == "v3"
    assert any("model broken" in m["msg"] and "still using v3" in m["msg"]
               for m in commands(got, "error")), got
    switch(models, "v1")
    time.sleep(0.15)
    assert classify(100)[0] == [iris["predictions"][100], "v1"]
    assert bolt.pid == pid and bolt.alive()


# ---------------------------------------------------------------------------- sink

def read_lines(path):
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def test_sink_writes_json_lines_and_rotates(start, tmp_path):
    out = tmp_path / "results" / "predictions.jsonl"
    conf = {"iris.results.path": str(out), "iris.results.max.bytes": 1000,
            "iris.results.keep": 2}
    sink = start(SINK, conf, "sink", sources={"classifier": {"default": CLASSIFIER_FIELDS}})
    for i in range(20):
        label = None if i % 5 == 4 else ("setosa" if i % 2 else "virginica")
        taken = time.time() * 1000.0 - 250.0
        tup_id = sink.tuple([0, [[f"s{i}", [5.0, 3.0, 1.5, 0.2], "setosa", "v7", 0.5 + i,
                                  label, taken]]], comp="classifier")
        got = wait_acks(sink, [tup_id])
        assert commands(got, "ack") == [{"command": "ack", "id": tup_id}], got
        # Acked only once the line is in the file.
        line = read_lines(out)[-1]
        assert line["id"] == f"s{i}"
        assert line["features"] == [5.0, 3.0, 1.5, 0.2] and line["prediction"] == "setosa"
        assert line["label"] == label and line["model_version"] == "v7"
        assert line["correct"] == (None if label is None else label == "setosa")
        assert line["latency_ms"] == 0.5 + i and line["time"].endswith("+00:00")
        assert 250.0 <= line["end_to_end_ms"] < 250.0 + 60000  # the wall clock's age
    names = sorted(p.name for p in out.parent.iterdir())
    assert names == ["predictions.jsonl", "predictions.jsonl.1", "predictions.jsonl.2"]
    kept = read_lines(out.with_name("predictions.jsonl.2")) + \
        read_lines(out.with_name("predictions.jsonl.1")) + read_lines(out)
    assert [r["id"] for r in kept] == [f"s{i}" for i in range(20 - len(kept), 20)]
    assert all(p.stat().st_size <= 1000 for p in out.parent.iterdir())
    # Moved away by someone else: a new file is started at the path.
    os.rename(out, tmp_path / "moved.jsonl")
    time.sleep(1.1)
    tup_id = sink.tuple([0, [["s20", [1.0, 2.0, 3.0, 4.0], "virginica", "v7", 1.0, None,
                              TAKEN_MS]]], comp="classifier")
    wait_acks(sink, [tup_id])
    assert [r["id"] for r in read_lines(out)] == ["s20"]


def test_sink_writes_a_tuples_results_then_acks_it_once(start, tmp_path):
    """A tuple of results: one line per sample (ids kept, in order), all written before
    its one ack; a tuple that is not a shard and results is failed and logged."""
    out = tmp_path / "predictions.jsonl"
    sink = start(SINK, {"iris.results.path": str(out)}, "sink",
                 sources={"classifier": {"default": CLASSIFIER_FIELDS}})
    batch = [[f"s{i}", [5.0, 3.0, 1.5, 0.2], "setosa", "v7", 0.5, "setosa", TAKEN_MS]
             for i in range(40)]
    tup_id = sink.tuple([1, batch], comp="classifier")
    got = wait_acks(sink, [tup_id])
    assert commands(got, "ack") == [{"command": "ack", "id": tup_id}]
    assert [r["id"] for r in read_lines(out)] == [f"s{i}" for i in range(40)]
    assert {r["time"] for r in read_lines(out)} and all(r["correct"] for r in read_lines(out))
    # Two fields as declared (pystorm stops the process on any other count), the second
    # not a list of results: one per-sample result of before, not wrapped in a list.
    bad = sink.tuple([0, ["s99", [5.0, 3.0, 1.5, 0.2], "setosa", "v7", 0.5, None, 0]],
                     comp="classifier")
    got = wait_acks(sink, [bad])
    assert commands(got, "fail") == [{"command": "fail", "id": bad}]
    assert any("expected a shard and a list of" in m for m in logs(got))
    assert len(read_lines(out)) == 40


# ---------------------------------------------------------------------------- together

def test_spout_classifier_sink_accuracy(start, models, iris, tmp_path):
    """One pass over the held-out rows through the three components, routed as Storm
    would (the test plays the acker: a spout tuple is acked when the sink acked its
    prediction); the accuracy the sink's lines give is the model's held-out accuracy."""
    meta = json.loads((models / "iris/v1/model.json").read_text())
    held = meta["held_out"]["rows"]
    out = tmp_path / "out" / "predictions-{task}.jsonl"
    spout = start(SPOUT, spout_conf(**{"iris.spout.cycles": 1, "iris.spout.batch.size": 10,
                                       "iris.model.root": str(models)}), "iris_spout",
                  outputs=SPOUT_FIELDS)
    bolt = start_classifier(start, models)
    sink = start(SINK, {"iris.results.path": str(out)}, "sink", task=7,
                 sources={"classifier": {"default": CLASSIFIER_FIELDS}})
    emitted, _seen = next_until(spout, 5)  # 45 samples: 4 full batches and one of 5
    assert [len(e["tuple"][0]) for e in emitted] == [10, 10, 10, 10, 5]
    assert spout.next() == []
    root = {bolt.tuple(e["tuple"]): e["id"] for e in emitted}
    got = wait_acks(bolt, root)
    assert not commands(got, "fail")
    to_sink, outstanding = {}, {}
    for emit in commands(got, "emit"):
        spout_id = root[emit["anchors"][0]]
        to_sink[sink.tuple(emit["tuple"], comp="classifier")] = spout_id
        outstanding[spout_id] = outstanding.get(spout_id, 0) + 1
    for message in commands(wait_acks(sink, to_sink), "ack"):
        spout_id = to_sink[message["id"]]
        outstanding[spout_id] -= 1
        if not outstanding[spout_id]:  # the acker: every tuple of its tree acked
            assert spout.command("ack", spout_id) == []
    records = read_lines(tmp_path / "out" / "predictions-7.jsonl")
    assert sorted(r["id"] for r in records) == [f"iris-{i:03d}" for i in held]
    by_id = {r["id"]: r for r in records}
    assert [by_id[f"iris-{i:03d}"]["prediction"] for i in held] == \
        [iris["predictions"][i] for i in held]
    accuracy = sum(r["correct"] for r in records) / len(records)
    assert round(accuracy, 6) == meta["held_out_accuracy"]
    assert {r["model_version"] for r in records} == {"v1"}
