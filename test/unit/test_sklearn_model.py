"""
sklearn_model and train_iris.py, for real: a scratch virtualenv with scikit-learn trains
the bundled iris SVC, the module verifies it in that environment (and rejects each kind of
bad artifact with its check named), switches ``current`` atomically and prunes; a worker
process that has the old model memory-mapped keeps predicting across switch and prune.
"""

import hashlib
import importlib.util
import json
import os
import queue
import shutil
import signal
import subprocess
import sys
import threading
import time

import pytest
from modloader import ROOT
from salt.exceptions import CommandExecutionError

TRAIN = ROOT / "sklearn_model/files/default/train_iris.py"
VENV = ROOT / "build/test-venvs/sklearn"
VENV_PYTHON = VENV / "bin/python"

# A worker as the topology's bolt is one: resolve `current`, map the model, predict.
WORKER = """\
import os, sys, time, joblib, numpy
path = os.path.realpath(sys.argv[1])
model = joblib.load(path, mmap_mode="r")
assert isinstance(model.support_vectors_, numpy.memmap)
rows = numpy.array(%s)
print("ready", path, flush=True)
count = 0
while True:
    count += 1
    print(count, " ".join(model.predict(rows)), flush=True)
    time.sleep(0.02)
"""


def _venv_works():
    if not VENV_PYTHON.exists():
        return False
    probe = subprocess.run([str(VENV_PYTHON), "-c", "import sklearn, joblib, numpy"],
                           capture_output=True, check=False)
    return probe.returncode == 0


@pytest.fixture(scope="session")
def venv_python():
    """The workers' stand-in environment: /usr/bin/python3 venv with scikit-learn."""
    if not _venv_works():
        VENV.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run(["/usr/bin/python3", "-m", "venv", "--clear", str(VENV)], check=True)
        subprocess.run([str(VENV / "bin/pip"), "install", "-q", "scikit-learn", "joblib"],
                       check=True)
    assert _venv_works(), f"{VENV} cannot import scikit-learn, joblib and numpy"
    return str(VENV_PYTHON)


def train(python, out, version, name="iris"):
    return subprocess.run([python, str(TRAIN), "--out", str(out), "--version", version,
                           "--name", name], capture_output=True, text=True, check=False)


@pytest.fixture(scope="session")
def trained(venv_python, tmp_path_factory):
    """Two versions trained once per session under <root>/iris; tests copy, never edit."""
    root = tmp_path_factory.mktemp("models")
    for version in ("v1", "v2"):
        proc = train(venv_python, root / "iris" / version, version)
        assert proc.returncode == 0, proc.stderr
        time.sleep(1.1)  # distinct `created` seconds: v2 is the newer one
    return root


@pytest.fixture
def mod(loader):
    return loader("_modules", "sklearn_model")


def read_meta(path):
    return json.loads((path / "model.json").read_text())


def write_meta(path, meta):
    (path / "model.json").write_text(json.dumps(meta, indent=2))


def copy_version(trained, dest_root, version, src="v1"):
    """A copy of a trained version as <dest_root>/iris/<version>, metadata renamed along."""
    dest = dest_root / "iris" / version
    shutil.copytree(trained / "iris" / src, dest)
    meta = read_meta(dest)
    meta["version"] = version
    write_meta(dest, meta)
    return dest


def rehash(path):
    """Make the metadata agree with whatever model.joblib now holds."""
    meta = read_meta(path)
    meta["sha256"] = hashlib.sha256((path / "model.joblib").read_bytes()).hexdigest()
    write_meta(path, meta)


# ---------------------------------------------------------------------------- training

def test_training_writes_artifact_and_metadata(trained, venv_python):
    version = trained / "iris" / "v1"
    assert sorted(os.listdir(version)) == ["model.joblib", "model.json"]
    assert sorted(os.listdir(trained / "iris")) == ["v1", "v2"]  # no temporary leftovers
    meta = read_meta(version)
    data = (version / "model.joblib").read_bytes()
    assert meta["sha256"] == hashlib.sha256(data).hexdigest()
    assert meta["size"] == len(data)
    assert data[:1] == b"\x80"  # a plain pickle stream, not zlib/gzip/xz/lz4
    assert (meta["name"], meta["version"], meta["file"]) == ("iris", "v1", "model.joblib")
    assert meta["estimator"] == "sklearn.svm._classes.SVC"
    env = json.loads(subprocess.run(
        [venv_python, "-c", "import json, platform, sklearn, joblib, numpy; print(json.dumps("
         "[sklearn.__version__, joblib.__version__, numpy.__version__, "
         "platform.python_version()]))"], capture_output=True, text=True, check=True).stdout)
    assert [meta["sklearn_version"], meta["joblib_version"], meta["numpy_version"],
            meta["python_version"]] == env
    assert meta["feature_names"] == ["sepal length (cm)", "sepal width (cm)",
                                     "petal length (cm)", "petal width (cm)"]
    assert meta["classes"] == ["setosa", "versicolor", "virginica"]
    assert meta["training_accuracy"] > 0.9 and meta["held_out_accuracy"] > 0.9
    assert meta["held_out"]["stratified"] and meta["held_out"]["random_state"] == 0
    assert meta["created"].endswith("+00:00")
    samples = meta["samples"]
    assert len(samples) == 6
    assert sorted(s["label"] for s in samples) == sorted(meta["classes"] * 2)
    assert all(len(s["features"]) == 4 and s["expected"] in meta["classes"] for s in samples)


HELD_OUT_CHECK = """
import json, sys
import joblib, numpy as np
from sklearn.datasets import load_iris
from sklearn.svm import SVC
meta = json.load(open(sys.argv[1] + "/model.json"))
model = joblib.load(sys.argv[1] + "/model.joblib")
iris = load_iris()
x, y = iris.data, np.asarray(iris.target_names)[iris.target]
held = meta["held_out"]["rows"]
train = [r for r in range(len(y)) if r not in set(held)]
refit = SVC(**meta["params"]).fit(x[train], y[train])
print(json.dumps({"held_out": float(model.score(x[held], y[held])),
                  "training": float(model.score(x[train], y[train])),
                  "same_fit": bool(np.array_equal(model.support_vectors_,
                                                  refit.support_vectors_))}))
"""


def test_the_model_never_saw_its_held_out_rows(venv_python, trained):
    """model.json names the held-out rows; the model is the one fit on all the others
    (refitting on exactly those gives the same support vectors), and its two accuracies
    are measured on the rows they say."""
    path = trained / "iris" / "v1"
    meta = read_meta(path)
    held = meta["held_out"]["rows"]
    assert meta["held_out"]["count"] == len(held) == 45 and meta["training_rows"] == 105
    assert held == sorted(set(held)) and all(0 <= r < 150 for r in held)
    # Stratified: iris lists 50 rows of each class in turn.
    assert [sum(1 for r in held if r // 50 == c) for c in range(3)] == [15, 15, 15]
    check = json.loads(subprocess.run([venv_python, "-c", HELD_OUT_CHECK, str(path)],
                                      capture_output=True, text=True, check=True).stdout)
    assert check["same_fit"]
    assert round(check["held_out"], 6) == meta["held_out_accuracy"]
    assert round(check["training"], 6) == meta["training_accuracy"]


def test_training_is_reproducible_but_versions_are_separate(trained):
    v1, v2 = read_meta(trained / "iris" / "v1"), read_meta(trained / "iris" / "v2")
    assert v1["samples"] == v2["samples"]
    assert v1["held_out_accuracy"] == v2["held_out_accuracy"]
    assert v1["created"] < v2["created"]


@pytest.mark.parametrize("existing", ["non-empty", "empty"])
def test_training_refuses_an_existing_output_dir(venv_python, tmp_path, existing):
    out = tmp_path / "iris" / "v1"
    out.mkdir(parents=True)
    if existing == "non-empty":
        (out / "model.joblib").write_bytes(b"in use")
    proc = train(venv_python, out, "v1")
    assert proc.returncode == 2
    assert "already exists" in proc.stderr and "never rewritten" in proc.stderr
    assert os.listdir(tmp_path / "iris") == ["v1"]
    if existing == "non-empty":
        assert (out / "model.joblib").read_bytes() == b"in use"
    else:
        assert os.listdir(out) == []


def test_training_refuses_a_version_that_is_not_a_directory_name(venv_python, tmp_path):
    for version in ("../x", "current", ".hidden"):
        proc = train(venv_python, tmp_path / "iris" / "x", version)
        assert proc.returncode == 2 and "--version" in proc.stderr, version
    assert not (tmp_path / "iris").exists()


def test_final_rename_never_replaces_an_empty_directory(tmp_path):
    """rename(2) would replace an empty directory that appeared while training."""
    spec = importlib.util.spec_from_file_location("train_iris", TRAIN)
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)  # only the standard library at import time
    src, dst = tmp_path / "tmpdir", tmp_path / "v1"
    src.mkdir()
    (src / "model.json").write_text("{}")
    dst.mkdir()
    with pytest.raises(FileExistsError):
        script.rename_noreplace(str(src), str(dst))
    assert (src / "model.json").exists() and os.listdir(dst) == []
    shutil.rmtree(dst)
    script.rename_noreplace(str(src), str(dst))
    assert (dst / "model.json").exists() and not src.exists()


# ------------------------------------------------------------------------ verification

def test_verify_passes_a_good_artifact(mod, trained, venv_python):
    path = trained / "iris" / "v1"
    meta = read_meta(path)
    started = time.monotonic()
    result = mod.verify(str(path), venv_python, expected_sha256=meta["sha256"].upper())
    elapsed = time.monotonic() - started
    assert result["sha256"] == meta["sha256"]
    assert result["sklearn_version"] == meta["sklearn_version"]
    assert result["estimator"] == "sklearn.svm._classes.SVC"
    assert {"support_vectors_", "dual_coef_", "intercept_", "classes_"} <= set(
        result["mmapped"])
    assert result["samples"] == 6 and result["samples_ok"] is True
    assert elapsed < 30
    print(f"verify: {elapsed:.2f} s, load in worker env {result['load_seconds'] * 1e3:.2f} ms,"
          f" {result['size']} bytes")


def _edit(**changes):
    def mutate(path):
        meta = read_meta(path)
        meta.update(changes)
        write_meta(path, meta)
    return mutate


def _truncate(path):
    target = path / "model.joblib"
    target.write_bytes(target.read_bytes()[: target.stat().st_size // 2])


def _flip_byte(path):
    target = path / "model.joblib"
    data = bytearray(target.read_bytes())
    data[len(data) // 2] ^= 0xFF
    target.write_bytes(bytes(data))


def _wrong_sample(path):
    meta = read_meta(path)
    sample = meta["samples"][0]
    sample["expected"] = next(c for c in meta["classes"] if c != sample["expected"])
    write_meta(path, meta)


def _bad_json(path):
    (path / "model.json").write_text('{"name": "iris", ')


def _not_this_version(path):
    meta = read_meta(path)
    meta["version"] = "v9"
    write_meta(path, meta)


# Each mutation, whether it must be stopped before anything runs the pickle, and the
# check the refusal must name.
HASH_STAGE = [
    ("metadata-hash-edited", _edit(sha256="0" * 64),
     r"sha256 check failed .*model\.json says 0{64}"),
    ("truncated-file", _truncate, r"sha256 check failed .*model\.joblib has sha256"),
    ("corrupted-byte", _flip_byte, r"sha256 check failed .*model\.joblib has sha256"),
    ("metadata-missing", lambda p: (p / "model.json").unlink(),
     r"metadata check failed .*model\.json is missing"),
    ("metadata-not-json", _bad_json, r"metadata check failed .*not readable JSON"),
    ("metadata-of-another-version", _not_this_version,
     r"metadata check failed .*describes iris/v9, the directory is iris/bad"),
    ("metadata-without-samples", _edit(samples=[]),
     r"metadata check failed .*field 'samples' is missing"),
    ("model-missing", lambda p: (p / "model.joblib").unlink(),
     r"sha256 check failed .*model\.joblib is missing"),
]


@pytest.mark.parametrize("mutate, message", [c[1:] for c in HASH_STAGE],
                         ids=[c[0] for c in HASH_STAGE])
def test_verify_rejects_before_loading(mod, trained, tmp_path, monkeypatch, mutate, message):
    """Nothing is run (let alone unpickled) when the metadata or the hash is wrong."""
    path = copy_version(trained, tmp_path, "bad")
    mutate(path)

    def no_subprocess(*args, **kwargs):
        raise AssertionError(f"ran {args} before the hash check passed")

    monkeypatch.setattr(mod.subprocess, "run", no_subprocess)
    with pytest.raises(CommandExecutionError, match=message):
        mod.verify(str(path), "/nonexistent/bin/python")


def _pickled_by_other_sklearn(path):
    """The state pickled by SVC records its scikit-learn version: make it another one."""
    meta = read_meta(path)
    target = path / "model.joblib"
    data = target.read_bytes()
    now = meta["sklearn_version"].encode()
    other = now[:-1] + (b"0" if now[-1:] != b"0" else b"1")
    assert data.count(now) == 1
    target.write_bytes(data.replace(now, other))
    rehash(path)


def _compressed(python):
    def mutate(path):
        target = str(path / "model.joblib")
        subprocess.run([python, "-c", "import joblib, sys; joblib.dump(joblib.load(sys.argv[1]),"
                        " sys.argv[1] + '.z', compress=3)", target], check=True)
        os.replace(target + ".z", target)
        rehash(path)
    return mutate


def _plain_pickle(python):
    """Loadable, uncompressed, but not joblib's format: its arrays come back private."""
    def mutate(path):
        target = str(path / "model.joblib")
        subprocess.run([python, "-c", "import joblib, pickle, sys; m = joblib.load(sys.argv[1]);"
                        " open(sys.argv[1] + '.p', 'wb').write(pickle.dumps(m, protocol=4))",
                        target], check=True)
        os.replace(target + ".p", target)
        rehash(path)
    return mutate


def _truncated_rehashed(path):
    _truncate(path)
    rehash(path)


@pytest.mark.parametrize("case", [
    "expected-sha256", "sklearn-version", "pickled-by-other-sklearn", "truncated-rehashed",
    "compressed", "plain-pickle", "wrong-sample-prediction", "no-such-python",
])
def test_verify_rejects_in_the_environment(mod, trained, tmp_path, venv_python, case):
    path = copy_version(trained, tmp_path, "bad")
    python, expected = venv_python, None
    if case == "expected-sha256":
        expected, message = "ab" * 32, r"expected_sha256 check failed .*expected (ab){32}"
    elif case == "sklearn-version":
        _edit(sklearn_version="0.24.2")(path)
        message = r"sklearn_version check failed .*pickled by scikit-learn 0\.24\.2"
    elif case == "pickled-by-other-sklearn":
        _pickled_by_other_sklearn(path)
        message = r"load check failed .*InconsistentVersionWarning"
    elif case == "truncated-rehashed":
        _truncated_rehashed(path)
        message = r"load check failed .*failed at load"
    elif case == "compressed":
        _compressed(venv_python)(path)
        message = r"mmap check failed .*zlib-compressed pickle .* compress=0"
    elif case == "plain-pickle":
        _plain_pickle(venv_python)(path)
        message = r"mmap check failed .*arrays not memory-mapped: .*support_vectors_"
    elif case == "wrong-sample-prediction":
        _wrong_sample(path)
        message = r"samples check failed .*samples\[0\] .* predicted 'setosa', recorded"
    else:
        python = str(tmp_path / "no/bin/python")
        message = r"environment check failed .*does not exist"
    with pytest.raises(CommandExecutionError, match=message):
        mod.verify(str(path), python, expected_sha256=expected)


# --------------------------------------------------------------------- switch and prune

def test_current_is_none_without_a_link(mod, tmp_path):
    assert mod.current(str(tmp_path), "iris") is None
    (tmp_path / "iris").mkdir()
    assert mod.current(str(tmp_path), "iris") is None


def test_switch_moves_current_without_touching_versions(mod, trained, tmp_path):
    copy_version(trained, tmp_path, "v1")
    copy_version(trained, tmp_path, "v2", src="v2")
    before = {v: os.stat(tmp_path / "iris" / v / "model.joblib") for v in ("v1", "v2")}
    root = str(tmp_path)
    assert mod.switch(root, "iris", "v1") == {"old": None, "new": "v1", "changed": True}
    assert mod.switch(root, "iris", "v1") == {"old": "v1", "new": "v1", "changed": False}
    assert mod.switch(root, "iris", "v2") == {"old": "v1", "new": "v2", "changed": True}
    link = tmp_path / "iris" / "current"
    assert link.is_symlink() and os.readlink(link) == "v2"  # relative: relocatable
    assert mod.current(root, "iris") == "v2"
    assert read_meta(link)["version"] == "v2"
    assert sorted(os.listdir(tmp_path / "iris")) == ["current", "v1", "v2"]
    for version, stat in before.items():
        after = os.stat(tmp_path / "iris" / version / "model.joblib")
        assert (after.st_ino, after.st_mtime_ns) == (stat.st_ino, stat.st_mtime_ns)


def test_switch_is_atomic_for_readers(mod, trained, tmp_path):
    """A reader resolving current/model.json meanwhile always finds one of the versions."""
    copy_version(trained, tmp_path, "v1")
    copy_version(trained, tmp_path, "v2", src="v2")
    root = str(tmp_path)
    mod.switch(root, "iris", "v1")
    target = tmp_path / "iris" / "current" / "model.json"
    stop, seen, misses = threading.Event(), set(), []

    def reader():
        while not stop.is_set():
            try:
                with open(target) as handle:
                    seen.add(json.load(handle)["version"])
            except OSError as exc:
                misses.append(exc)

    thread = threading.Thread(target=reader)
    thread.start()
    try:
        for i in range(400):
            mod.switch(root, "iris", "v2" if i % 2 == 0 else "v1")
    finally:
        stop.set()
        thread.join()
    assert misses == []
    assert seen == {"v1", "v2"}
    assert sorted(os.listdir(tmp_path / "iris")) == ["current", "v1", "v2"]


def test_switch_refusals(mod, trained, tmp_path):
    copy_version(trained, tmp_path, "v1")
    root = str(tmp_path)
    with pytest.raises(CommandExecutionError, match=r"iris/v7 is not a model version"):
        mod.switch(root, "iris", "v7")
    for bad in ("../v1", "current", ".v1", ""):
        with pytest.raises(CommandExecutionError, match=r"must be a plain directory name"):
            mod.switch(root, "iris", bad)
    with pytest.raises(CommandExecutionError, match=r"root 'models' is not an absolute"):
        mod.switch("models", "iris", "v1")
    (tmp_path / "iris" / "empty").mkdir()
    with pytest.raises(CommandExecutionError, match=r"no model\.joblib"):
        mod.switch(root, "iris", "empty")
    (tmp_path / "iris" / "current").mkdir()  # a real directory where the link belongs
    with pytest.raises(CommandExecutionError, match=r"current is not a symlink"):
        mod.switch(root, "iris", "v1")
    assert (tmp_path / "iris" / "current").is_dir()
    assert not [n for n in os.listdir(tmp_path / "iris") if n.startswith(".")]


def _fake_version(base, version, created=None, mtime=None):
    path = base / version
    path.mkdir(parents=True)
    (path / "model.joblib").write_bytes(b"x")
    meta = {"name": "iris", "version": version}
    if created:
        meta["created"] = created
    (path / "model.json").write_text(json.dumps(meta))
    if mtime:
        os.utime(path, (mtime, mtime))
    return path


def test_prune_keeps_the_newest_and_always_current(mod, tmp_path):
    base, root = tmp_path / "iris", str(tmp_path)
    _fake_version(base, "a", "2024-01-01T00:00:00+00:00")
    _fake_version(base, "b", "2024-02-01T00:00:00Z")
    _fake_version(base, "c", mtime=1_710_000_000)  # no created: 2024-03-09 by mtime
    _fake_version(base, "d", "2024-04-01T00:00:00+00:00")
    _fake_version(base, "e", "2024-05-01T00:00:00+00:00")
    (base / "notes").mkdir()  # not a model version: never touched
    (base / ".v9.tmp-abc").mkdir()  # a trainer at work: never touched
    mod.switch(root, "iris", "a")
    listed = mod.versions(root, "iris")
    assert [v["version"] for v in listed] == ["e", "d", "c", "b", "a"]
    assert [v["from"] for v in listed] == ["metadata", "metadata", "mtime", "metadata",
                                           "metadata"]
    assert mod.prune(root, "iris", 2) == {"removed": ["c", "b"], "kept": ["e", "d", "a"],
                                          "current": "a"}
    assert mod.prune(root, "iris", "2")["removed"] == []
    assert mod.prune(root, "iris", 0) == {"removed": ["e", "d"], "kept": ["a"],
                                          "current": "a"}
    assert sorted(os.listdir(base)) == [".v9.tmp-abc", "a", "current", "notes"]
    for bad in (-1, "many", True, 1.5):
        with pytest.raises(CommandExecutionError, match=r"keep .* is not a whole number"):
            mod.prune(root, "iris", bad)


def test_prune_without_current_keeps_the_newest(mod, tmp_path):
    base = tmp_path / "iris"
    for i, version in enumerate(("old", "mid", "new")):
        _fake_version(base, version, f"2024-0{i + 1}-01T00:00:00+00:00")
    assert mod.prune(str(tmp_path), "iris", 1) == {"removed": ["mid", "old"],
                                                   "kept": ["new"], "current": None}
    assert mod.prune(str(tmp_path / "nothing"), "iris", 1)["removed"] == []


# ------------------------------------------------------- workers that have it mapped

class Worker:
    """A worker process mapping the model, its output read by a thread into a queue."""

    def __init__(self, python, model_path, rows):
        self.proc = subprocess.Popen([python, "-u", "-c", WORKER % json.dumps(rows),
                                      str(model_path)], stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True)
        self.lines = queue.Queue()
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self):
        for line in self.proc.stdout:
            self.lines.put(line.split())

    def next_line(self, timeout=20):
        try:
            return self.lines.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(
                f"worker silent; exit {self.proc.poll()}: "
                f"{self.proc.stderr.read() if self.proc.poll() else ''}") from None

    def maps(self):
        return (open(f"/proc/{self.proc.pid}/maps").read()
                if self.proc.poll() is None else "")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout=10)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/<pid>/maps")
def test_mapped_worker_survives_switch_and_prune(mod, trained, tmp_path, venv_python):
    v1 = copy_version(trained, tmp_path, "v1")
    copy_version(trained, tmp_path, "v2", src="v2")
    root = str(tmp_path)
    mod.switch(root, "iris", "v1")
    meta = read_meta(v1)
    rows = [s["features"] for s in meta["samples"]]
    expected = [s["expected"] for s in meta["samples"]]
    worker = Worker(venv_python, tmp_path / "iris/current/model.joblib", rows)
    try:
        ready = worker.next_line()
        assert ready == ["ready", str(v1 / "model.joblib")]
        assert str(v1 / "model.joblib") in worker.maps()
        first = worker.next_line()
        assert first[1:] == expected

        assert mod.switch(root, "iris", "v2")["changed"]
        assert mod.prune(root, "iris", 1)["removed"] == ["v1"]  # its file is unlinked
        assert not v1.exists()
        time.sleep(0.3)
        for _ in range(5):
            line = worker.next_line()
            assert line[1:] == expected
        assert int(line[0]) > int(first[0])
        assert worker.proc.poll() is None
        # Still served from the unlinked inode of v1 (the page cache copy it mapped).
        assert "model.joblib (deleted)" in worker.maps()
        assert mod.current(root, "iris") == "v2"
    finally:
        worker.stop()


def test_rewriting_a_mapped_file_in_place_kills_the_worker(trained, tmp_path, venv_python):
    """Why versions are never rewritten: truncating the mapped file is SIGBUS."""
    scratch = copy_version(trained, tmp_path, "scratch")
    meta = read_meta(scratch)
    worker = Worker(venv_python, scratch / "model.joblib",
                    [s["features"] for s in meta["samples"]])
    try:
        assert worker.next_line()[0] == "ready"
        worker.next_line()
        with open(scratch / "model.joblib", "r+b") as handle:
            handle.truncate(0)  # what an in-place rewrite does first
        worker.proc.wait(timeout=20)
        assert worker.proc.returncode == -signal.SIGBUS
    finally:
        worker.stop()
