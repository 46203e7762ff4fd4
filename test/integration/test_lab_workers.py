"""
The workers (sup1, sup2) after the real orchestrate: the conda environment with its pins,
the iris model trained once on sup1 and distributed through the master, verified and
memory-mappable on both; a corrupt new version refused, a good one switched in while a
process that holds the old mapping keeps predicting.
"""

import hashlib
import io
import json
import subprocess
import sys
import tarfile
import time

import pytest

pytestmark = [pytest.mark.lab, pytest.mark.lab_topology("test/lab_topologies/cluster6.yaml")]
WORKERS = ["sup1", "sup2"]
PYTHON = "/opt/conda/envs/storm-worker/bin/python"
CURRENT = "/srv/models/iris/current"
RESULTS = "/var/lib/storm/iris/predictions-{task}.jsonl"
PINS = {"numpy": "2.4.6", "sklearn": "1.9.1", "joblib": "1.6.0", "streamparse": "5.0.1"}


def py(lab, host, code, check=True):
    return lab.exec(host, [PYTHON, "-c", code], check=check)


@pytest.mark.parametrize("host", WORKERS)
def test_environment_has_the_pinned_versions(cluster, host):
    out = py(cluster, host, "import json, numpy, sklearn, joblib, streamparse; "
                            "print(json.dumps({m.__name__: m.__version__ for m in "
                            "(numpy, sklearn, joblib, streamparse)}))").stdout
    assert json.loads(out) == PINS
    assert cluster.exec(host, "test -x /opt/conda/envs/storm-worker/bin/streamparse_run",
                        check=False).returncode == 0


def test_model_is_the_same_verified_file_on_every_worker(cluster):
    hashes = {h: cluster.exec(h, f"sha256sum {CURRENT}/model.joblib").stdout.split()[0]
              for h in WORKERS}
    assert len(set(hashes.values())) == 1, hashes
    for host in WORKERS:
        assert cluster.exec(host, f"readlink {CURRENT}").stdout.strip() == "1"
        meta = json.loads(cluster.exec(host, f"cat {CURRENT}/model.json").stdout)
        assert meta["sha256"] == hashes[host] and meta["sklearn_version"] == "1.9.1"


@pytest.mark.parametrize("host", WORKERS)
def test_model_loads_memory_mapped(cluster, host):
    out = py(cluster, host, "import joblib, numpy; "
                            f"m = joblib.load('{CURRENT}/model.joblib', mmap_mode='r'); "
                            "print(type(m.support_vectors_).__name__, "
                            "m.predict([[5.1, 3.5, 1.4, 0.2]])[0])").stdout.split()
    assert out == ["memmap", "setosa"]


def make_artifact(lab, version, tamper=False):
    """Train `version` on the machine in an environment like the workers', pack it as the
    build step does, and put it where the lab master serves it (salt://build/models/)."""
    from lab import config
    venv = config.REPO_ROOT / "build/test-venvs/sklearn/bin/python"
    if not venv.exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv.parents[1])], check=True)
        subprocess.run([str(venv), "-m", "pip", "install", "-q", "numpy==2.4.6",
                        "scikit-learn==1.9.1", "joblib==1.6.0"], check=True)
    out = config.REPO_ROOT / "build/models"
    work = out / f"work-{time.time_ns()}" / "iris" / version
    subprocess.run([str(venv), str(config.REPO_ROOT / "sklearn_model/files/default/train_iris.py"),
                    "--out", str(work), "--version", version], check=True)
    name = f"iris-{version}{'-corrupt' if tamper else ''}.tar"
    with tarfile.open(out / name, "w") as tar:
        for filename in ("model.joblib", "model.json"):
            data = (work / filename).read_bytes()
            if tamper and filename == "model.joblib":
                data = data[:200] + bytes([data[200] ^ 0xFF]) + data[201:]
            info = tarfile.TarInfo(filename)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    digest = hashlib.sha256((out / name).read_bytes()).hexdigest()
    return {"version": version, "source": f"salt://build/models/{name}",
            "source_hash": f"sha256={digest}"}


def apply_model(lab, host, model):
    # The lab pillar builds iris in the orchestrate; this run points it at an artifact.
    pillar = json.dumps({"sklearn_model": {"models": {"iris": dict(model, build=None)}}})
    return lab.salt(host, "state.apply", "sklearn_model", f"pillar={pillar}", json=False,
                    timeout=600)


def written(lab):
    found = lab.salt("-L", ",".join(WORKERS), "storm_topology.predictions", RESULTS, "tail=20")
    return {h: found[h] for h in WORKERS}


def topology_id(lab):
    return lab.salt("nimbus1", "storm_topology.running", "10.77.0.21", "iris")["nimbus1"]["id"]


def test_drill_a_corrupt_model_is_refused_everywhere_and_a_good_one_is_followed(cluster):
    """Drill 6: a new model version whose artifact does not match its pinned hash, pushed
    to every worker by the orchestrate: refused on each (the run stops at the model step
    naming them), `current` stays, the running classifiers keep predicting with the model
    they have; then a good version is switched in and followed without resubmission."""
    from drills import pillar_overrides, record_drill, wait
    from orchestrate import run
    running = topology_id(cluster)
    corrupt = make_artifact(cluster, "2", tamper=True)
    with pillar_overrides({"sklearn_model": {"models": {"iris": dict(corrupt, build=None)}}}):
        refused = run(cluster)
        lines = sum(w["lines"] for w in written(cluster).values())
    assert not refused.ok
    (step, comment), = refused.failures().items()
    assert "storm-orchestrate-model-salt-state" in step, refused.describe()
    assert all(host in comment for host in WORKERS), comment
    said = str(refused.steps[step])
    assert said.count("sha256 check failed") >= len(WORKERS), said[-3000:]
    assert "current stays 1" in said
    assert not [k for k in refused.steps if "storm-install" in k]  # failhard: it stopped
    for host in WORKERS:
        assert cluster.exec(host, f"readlink {CURRENT}").stdout.strip() == "1"
        assert cluster.exec(host, "test -e /srv/models/iris/2", check=False).returncode != 0
    # The classifiers go on with the model they have.
    wait("predictions after the refusal",
         lambda: sum(w["lines"] for w in written(cluster).values()) > lines + 20)
    assert {r["model_version"] for w in written(cluster).values() for r in w["latest"]} == {"1"}
    classified = sum(w["lines"] for w in written(cluster).values()) - lines

    good = make_artifact(cluster, "4")
    with pillar_overrides({"sklearn_model": {"models": {"iris": dict(good, build=None)}}}):
        followed = run(cluster)
    assert followed.ok, followed.describe()
    # Its last step waited for predictions of version 4 on every worker that classifies.
    for host in WORKERS:
        assert cluster.exec(host, f"readlink {CURRENT}").stdout.strip() == "4"
    assert topology_id(cluster) == running, "the topology was resubmitted"
    assert not [s for _, _, s in followed.changed_states() if "topology-submit" in s]
    record_drill("corrupt_model", workers_refused=len(WORKERS), current_kept="1",
                 samples_classified_after_refusal=classified, topology_kept=running,
                 good_version_followed_s=round(sum(followed.durations().values()), 1))
    back = run(cluster)  # the pillar's own version again
    assert back.ok, back.describe()
    assert all(cluster.exec(h, f"readlink {CURRENT}").stdout.strip() == "1" for h in WORKERS)


ADDRESSES = {"10.77.0.31": "sup1", "10.77.0.32": "sup2"}


def fed_classifier_host(lab):
    """The worker whose classifier gets the stream: Storm 2's shuffle grouping is load
    aware and keeps tuples in the spout's worker while that is not overloaded, so at the
    demo's rate only the classifier beside the spout classifies."""
    running = lab.salt("nimbus1", "storm_topology.running", "10.77.0.21", "iris")["nimbus1"]
    spout = [a for a, tasks in running["placed"].items() if tasks.get("iris_spout")]
    assert len(spout) == 1, running["placed"]
    assert running["placed"][spout[0]].get("classifier"), running["placed"]
    return ADDRESSES[spout[0]]


def test_new_version_switches_while_the_old_mapping_keeps_predicting(cluster):
    host = fed_classifier_host(cluster)
    # The count is replaced atomically: a read never sees a half-written file.
    reader = ("import joblib, os, time\n"
              f"m = joblib.load('{CURRENT}/model.joblib', mmap_mode='r')\n"
              "n = 0\n"
              "while True:\n"
              "    m.predict([[6.7, 3.0, 5.2, 2.3]]); n += 1\n"
              "    open('/tmp/reader.tmp', 'w').write(str(n))\n"
              "    os.replace('/tmp/reader.tmp', '/tmp/reader.count'); time.sleep(0.01)\n")
    cluster.exec(host, ["sh", "-c", f"nohup {PYTHON} -c \"$0\" >/tmp/reader.log 2>&1 & "
                        "echo $! > /tmp/reader.pid", reader])
    try:
        time.sleep(3)
        proc = apply_model(cluster, host, make_artifact(cluster, "3"))
        assert proc.returncode == 0, proc.stdout[-3000:]
        assert cluster.exec(host, f"readlink {CURRENT}").stdout.strip() == "3"
        before = int(cluster.exec(host, "cat /tmp/reader.count").stdout)
        time.sleep(2)
        after = int(cluster.exec(host, "cat /tmp/reader.count").stdout)
        alive = cluster.exec(host, "kill -0 $(cat /tmp/reader.pid)", check=False)
        assert alive.returncode == 0 and after > before, (before, after)
        # The running topology's classifier there follows `current` without a restart:
        # predictions of version 3 appear (written by whichever host's sink got them).
        deadline = time.monotonic() + 60
        while not any(
                "3" in (found or {}).get("model_versions", {})
                for found in cluster.salt("-L", "sup1,sup2", "storm_topology.predictions",
                                          "/var/lib/storm/iris/predictions-{task}.jsonl",
                                          "tail=0").values()):
            assert time.monotonic() < deadline, "no prediction of model version 3 in 60s"
            time.sleep(2)
    finally:
        cluster.exec(host, "kill $(cat /tmp/reader.pid)", check=False)
    # The orchestrate returns the host to the pillar's version 1 (kept, so verified again),
    # and its predictions step waits for predictions of version 1 on the workers.
    from orchestrate import run
    back = run(cluster)
    assert back.ok, back.describe()
    assert cluster.exec(host, f"readlink {CURRENT}").stdout.strip() == "1"


def test_changed_spec_updates_the_environment_and_only_then(cluster):
    """Drill: the spec gains a package nothing in the environment depends on (so it cannot
    be there already): updated once, the package imports, the next run changes nothing."""
    from lab import wheelhouse_add
    wheelhouse_add(["tabulate==0.10.0"])
    python = "/opt/conda/envs/storm-worker/bin/python"
    assert cluster.exec("sup2", f"{python} -c 'import tabulate'", check=False).returncode != 0
    env = {"packages": ["python=3.11", "numpy=2.4.6", "scikit-learn=1.9.1", "joblib=1.6.0",
                        "pip"],
           "pip": ["setuptools<81", "streamparse==5.0.1", "tabulate==0.10.0"]}
    pillar = json.dumps({"conda": {"environments": {"storm-worker": env}}})
    changed = cluster.salt("sup2", "state.apply", "conda", f"pillar={pillar}", timeout=900)
    states = {s["__id__"]: s for s in changed["sup2"].values()}
    env_state = states["conda-environments-present-storm-worker-conda_env-present"]
    assert env_state["result"] is True and env_state["changes"].get("update"), env_state
    # conda itself still works on the environment after the formula recorded its spec.
    listing = json.loads(cluster.exec("sup2", "/opt/conda/bin/conda list -p "
                                              "/opt/conda/envs/storm-worker --json").stdout)
    assert {p["name"]: p["version"] for p in listing}.get("tabulate") == "0.10.0"
    assert cluster.exec("sup2", f"{python} -c 'import tabulate; print(tabulate.__version__)'"
                        ).stdout.strip() == "0.10.0"
    again = cluster.salt("sup2", "state.apply", "conda", f"pillar={pillar}", timeout=900)
    assert all(not s["changes"] for s in again["sup2"].values()), again
    from drills import record_drill
    record_drill("conda_spec_change", package="tabulate 0.10.0", updated_once=True,
                 update_s=round(env_state.get("duration", 0) / 1000, 1), next_run_changes=0)
    # The orchestrate brings the pillar's spec back (and the next run changes nothing).
    from orchestrate import run
    back = run(cluster)
    assert back.ok, back.describe()
    assert ("sup2", "conda-environments-present-storm-worker-conda_env-present") in {
        (m, s) for _, m, s in back.changed_states()}
