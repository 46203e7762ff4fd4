"""
scikit-learn model versions on a worker host: verify an artifact in the workers' own
Python environment, then switch the ``current`` link to it atomically, and prune old ones.

Layout, one directory per model version, never changed once written::

    <root>/<name>/<version>/model.joblib   joblib dump, uncompressed (memory-mappable)
    <root>/<name>/<version>/model.json     metadata written by train_iris.py
    <root>/<name>/current -> <version>     relative symlink, replaced with rename(2)

Workers load ``<root>/<name>/current/model.joblib`` with ``joblib.load(path,
mmap_mode='r')``.  A process keeps the file it mapped even after ``current`` moves on or
the old directory is pruned (unlinking is safe); rewriting a mapped file in place is not
(SIGBUS), so nothing here writes into an existing version directory: ``switch`` only
replaces the link, ``prune`` only removes whole directories that ``current`` does not
point at.

This module needs only the standard library: everything that imports numpy, joblib or
scikit-learn runs in a subprocess of the environment's ``python``, and only after the
file's sha256 matched (unpickling runs code).
"""

import datetime
import hashlib
import json
import os
import pwd
import re
import shutil
import subprocess
import uuid

from salt.exceptions import CommandExecutionError

__virtualname__ = "sklearn_model"

MODEL_FILE = "model.joblib"
METADATA_FILE = "model.json"
CURRENT = "current"
TIMEOUT = 300
_HEX64 = re.compile(r"^[0-9a-f]{64}$")
# What a compressed joblib file starts with; an uncompressed one is a plain pickle stream
# (PROTO opcode 0x80).  A compressed dump loads, but never memory-mapped.
COMPRESSED_MAGIC = {b"\x78": "zlib", b"\x1f\x8b": "gzip", b"BZh": "bz2",
                    b"\xfd7zXZ": "xz", b"\x5d\x00\x00": "lzma", b"\x04\x22\x4d\x18": "lz4"}

# Asked of the workers' environment before anything loads the model.
VERSIONS_SCRIPT = """\
import json, platform, sys
import joblib, numpy, sklearn
json.dump({"sklearn_version": sklearn.__version__, "joblib_version": joblib.__version__,
           "numpy_version": numpy.__version__, "python_version": platform.python_version(),
           "executable": sys.executable}, sys.stdout)
"""

# Run by the workers' environment once the hash and the versions matched: load the model
# exactly as the workers do, with every warning an error (InconsistentVersionWarning
# included), report which arrays are memory-mapped and predict the recorded samples.
# The estimator's module is imported first, outside the filter, so that only what the
# unpickling itself warns about fails the check (and load_seconds is the load alone).
# Reads {"path", "sha256", "rows", "module"} as JSON on stdin, writes one JSON document
# on stdout.
LOAD_SCRIPT = """\
import hashlib, importlib, json, os, sys, time, traceback, warnings
request = json.load(sys.stdin)
out = {"stage": "import", "uid": os.getuid()}
try:
    import joblib, numpy, sklearn
    if request.get("module"):
        importlib.import_module(request["module"])
    out["stage"] = "sha256"
    digest = hashlib.sha256()
    with open(request["path"], "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    if digest.hexdigest() != request["sha256"]:
        raise RuntimeError("file changed since it was hashed: " + digest.hexdigest())
    out["stage"] = "load"
    warnings.simplefilter("error")
    started = time.perf_counter()
    model = joblib.load(request["path"], mmap_mode="r")
    out["load_seconds"] = time.perf_counter() - started
    cls = type(model)
    out["estimator"] = cls.__module__ + "." + cls.__qualname__
    arrays = {}
    for key, value in sorted(vars(model).items()):
        if isinstance(value, numpy.ndarray):
            arrays[key] = {"memmap": isinstance(value, numpy.memmap),
                           "dtype": str(value.dtype), "shape": list(value.shape)}
    out["arrays"] = arrays
    out["classes"] = [str(c) for c in getattr(model, "classes_", [])]
    out["stage"] = "predict"
    rows = numpy.asarray(request["rows"], dtype=numpy.float64)
    out["predictions"] = [str(p) for p in model.predict(rows)] if len(rows) else []
    out["stage"] = "done"
except BaseException as exc:
    out["error"] = type(exc).__module__ + "." + type(exc).__name__ + ": " + str(exc)
    out["traceback"] = traceback.format_exc(limit=6)
json.dump(out, sys.stdout)
sys.exit(0 if out["stage"] == "done" else 1)
"""

# Attributes that must come back memory-mapped for the shared-page-cache design to hold
# (when the estimator has them); every other non-empty numeric array is reported too.
REQUIRED_MMAP = ("support_vectors_", "dual_coef_")
METADATA_FIELDS = {
    "name": str, "version": str, "file": str, "sha256": str, "sklearn_version": str,
    "feature_names": list, "classes": list, "samples": list, "created": str,
}


def __virtual__():
    return __virtualname__


def _fail(check, path, message):
    raise CommandExecutionError(f"sklearn_model.verify: {check} check failed for {path}: "
                                f"{message}")


def _sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _component(value, what):
    value = str(value) if value is not None else ""
    if not value or "/" in value or value in (".", "..", CURRENT) or value.startswith("."):
        raise CommandExecutionError(
            f"sklearn_model: {what} {value!r} must be a plain directory name "
            f"(no '/', not '{CURRENT}', not starting with '.')")
    return value


def _model_dir(root, name):
    if not isinstance(root, str) or not root.startswith("/"):
        raise CommandExecutionError(f"sklearn_model: root {root!r} is not an absolute path")
    return os.path.join(root.rstrip("/") or "/", _component(name, "name"))


def _parse_created(value):
    try:
        created = datetime.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    if created.tzinfo is None:
        created = created.replace(tzinfo=datetime.timezone.utc)  # noqa: UP017
    return created.timestamp()


def metadata(path):
    """
    The validated ``model.json`` of the version directory ``path``.  Raises naming the
    ``metadata`` check when it is missing, not JSON, or lacks a field or a sample.

    CLI Example:

    .. code-block:: bash

        salt worker1 sklearn_model.metadata /srv/models/iris/2024.1
    """
    meta_path = os.path.join(path, METADATA_FILE)
    try:
        with open(meta_path, encoding="utf-8") as handle:
            meta = json.load(handle)
    except FileNotFoundError:
        _fail("metadata", path, f"{METADATA_FILE} is missing")
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        _fail("metadata", path, f"{METADATA_FILE} is not readable JSON: {exc}")
    if not isinstance(meta, dict):
        _fail("metadata", path, f"{METADATA_FILE} is not a JSON object")
    for key, kind in METADATA_FIELDS.items():
        if not isinstance(meta.get(key), kind) or not meta[key]:
            _fail("metadata", path, f"{METADATA_FILE}: field {key!r} is missing or not a "
                                    f"non-empty {kind.__name__}")
    if meta["file"] != MODEL_FILE:
        _fail("metadata", path, f"{METADATA_FILE}: file is {meta['file']!r}, "
                                f"expected {MODEL_FILE!r}")
    if not _HEX64.match(meta["sha256"]):
        _fail("metadata", path, f"{METADATA_FILE}: sha256 {meta['sha256']!r} is not 64 "
                                "lower-case hex digits")
    if _parse_created(meta["created"]) is None:
        _fail("metadata", path, f"{METADATA_FILE}: created {meta['created']!r} is not an "
                                "ISO 8601 time")
    width = len(meta["feature_names"])
    for index, sample in enumerate(meta["samples"]):
        features = sample.get("features") if isinstance(sample, dict) else None
        numeric = isinstance(features, list) and all(
            isinstance(v, int | float) and not isinstance(v, bool) for v in features)
        if not numeric or len(features) != width or "expected" not in sample:
            _fail("metadata", path, f"{METADATA_FILE}: samples[{index}] needs 'features' "
                                    f"({width} numbers) and 'expected'")
        if str(sample["expected"]) not in [str(c) for c in meta["classes"]]:
            _fail("metadata", path, f"{METADATA_FILE}: samples[{index}] expects "
                                    f"{sample['expected']!r}, not one of the classes")
    return meta


def _account(user, path):
    """The uid, gid and home of ``user``, who runs everything that imports the workers'
    libraries or unpickles a model: never the minion's root unless asked for by name."""
    try:
        entry = pwd.getpwnam(str(user))
    except KeyError:
        _fail("environment", path, f"verify_user {user!r} does not exist on this host")
    if os.geteuid() not in (0, entry.pw_uid):
        _fail("environment", path, f"cannot run as verify_user {user!r} (uid "
                                   f"{entry.pw_uid}) from uid {os.geteuid()}")
    return entry


def _run(python, script, path, check, stdin=None, user=None):
    """Run ``script`` with the environment's python (isolated mode, cwd /, a bare
    environment), as ``user`` when given, and parse its JSON answer."""
    if not isinstance(python, str) or not python.startswith("/"):
        _fail("environment", path, f"python {python!r} is not an absolute path")
    env = {"PATH": os.defpath, "LANG": "C.UTF-8", "HOME": "/"}
    drop = {}
    if user is not None:
        entry = _account(user, path)
        env["HOME"] = entry.pw_dir
        if entry.pw_uid != os.geteuid():
            drop = {"user": entry.pw_uid, "group": entry.pw_gid, "extra_groups": []}
    try:
        proc = subprocess.run(
            [python, "-I", "-c", script], input=stdin, capture_output=True, text=True,
            cwd="/", env=env, timeout=TIMEOUT, check=False, **drop)
    except FileNotFoundError:
        _fail("environment", path, f"python {python} does not exist")
    except PermissionError as exc:
        _fail("environment", path, f"python {python} cannot be run: {exc}")
    except subprocess.TimeoutExpired:
        _fail(check, path, f"{python} did not answer within {TIMEOUT} s")
    try:
        answer = json.loads(proc.stdout)
    except ValueError:
        answer = None
    if proc.returncode < 0 and not isinstance(answer, dict):
        _fail(check, path, f"{python} was killed by signal {-proc.returncode} "
                           f"({proc.stderr.strip()[-300:]})")
    if not isinstance(answer, dict):
        _fail(check, path, f"{python} exited {proc.returncode} without an answer: "
                           f"{proc.stderr.strip()[-500:]}")
    return proc.returncode, answer


def environment(python, user=None):
    """
    The library versions of the workers' Python environment (scikit-learn, joblib, numpy,
    Python), asked of ``python`` itself (as ``user`` when given).

    CLI Example:

    .. code-block:: bash

        salt worker1 sklearn_model.environment /opt/conda/envs/storm/bin/python
    """
    returncode, answer = _run(python, VERSIONS_SCRIPT, python, "sklearn_version", user=user)
    if returncode != 0 or "sklearn_version" not in answer:
        _fail("sklearn_version", python, f"{python} cannot import scikit-learn/joblib/numpy")
    return answer


def verify(path, python, expected_sha256=None, user=None):
    """
    Verify the model version directory ``path`` for the workers' environment ``python``
    before anything switches to it.  Checks in order, the first failure raising with
    the check named (``metadata``, ``sha256``, ``expected_sha256``, ``mmap``,
    ``environment``, ``sklearn_version``, ``load``, ``mmap``, ``samples``):

    - ``model.json`` is present and well-formed, its name and version match ``path``;
    - the sha256 of ``model.joblib`` equals the metadata's (and ``expected_sha256``);
    - ``model.joblib`` is an uncompressed dump (``mmap``: a compressed one never maps);
    - ``python`` runs (``environment``) and its scikit-learn version equals the
      metadata's ``sklearn_version``;
    - ``joblib.load(file, mmap_mode='r')`` in ``python`` succeeds with warnings as
      errors, gives the recorded estimator and classes, and its arrays are numpy.memmap;
    - predicting the metadata's sample rows gives the recorded predictions.

    Nothing loads the file before its hash matched, and whatever imports the libraries
    or unpickles the file runs as ``user`` when given (the state passes ``verify_user``,
    ``nobody`` by default): unpickling runs code, and a model that got past its hash must
    still not run it as root.  Returns what was checked, with the uid the load ran as.

    CLI Example:

    .. code-block:: bash

        salt worker1 sklearn_model.verify /srv/models/iris/2024.1 \\
            /opt/conda/envs/storm/bin/python expected_sha256=<hex>
    """
    if not isinstance(path, str) or not path.startswith("/"):
        raise CommandExecutionError(f"sklearn_model.verify: path {path!r} is not absolute")
    path = os.path.normpath(path)
    if not os.path.isdir(path):
        _fail("metadata", path, "version directory does not exist")
    meta = metadata(path)
    version, name = os.path.basename(path), os.path.basename(os.path.dirname(path))
    if meta["version"] != version or meta["name"] != name:
        _fail("metadata", path, f"{METADATA_FILE} describes {meta['name']}/{meta['version']}"
                                f", the directory is {name}/{version}")

    model_path = os.path.join(path, MODEL_FILE)
    if os.path.islink(model_path) or not os.path.isfile(model_path):
        _fail("sha256", path, f"{MODEL_FILE} is missing or not a regular file")
    actual = _sha256(model_path)
    if actual != meta["sha256"]:
        _fail("sha256", path, f"{MODEL_FILE} has sha256 {actual}, {METADATA_FILE} says "
                              f"{meta['sha256']} (size {os.path.getsize(model_path)} bytes)")
    if expected_sha256 is not None:
        wanted = str(expected_sha256).strip().lower()
        if wanted.startswith("sha256="):
            wanted = wanted[len("sha256="):]
        if actual != wanted:
            _fail("expected_sha256", path, f"{MODEL_FILE} has sha256 {actual}, "
                                           f"expected {wanted}")

    with open(model_path, "rb") as handle:
        head = handle.read(8)
    if not head.startswith(b"\x80"):
        kind = next((v for k, v in COMPRESSED_MAGIC.items() if head.startswith(k)), None)
        _fail("mmap", path, f"{MODEL_FILE} is {kind + '-compressed' if kind else 'not a plain'}"
                            f" pickle (starts with {head[:4].hex()}), it cannot be "
                            "memory-mapped: dump it with joblib.dump(model, path, compress=0)")

    env = environment(python, user)
    if env["sklearn_version"] != meta["sklearn_version"]:
        _fail("sklearn_version", path,
              f"the model was pickled by scikit-learn {meta['sklearn_version']}, {python} "
              f"has {env['sklearn_version']}: retrain it in the workers' environment")

    rows = [sample["features"] for sample in meta["samples"]]
    module = str(meta.get("estimator", "")).rpartition(".")[0]
    request = json.dumps({"path": model_path, "sha256": actual, "rows": rows,
                          "module": module if module.startswith("sklearn.") else None})
    returncode, answer = _run(python, LOAD_SCRIPT, path, "load", stdin=request, user=user)
    stage = answer.get("stage")
    if returncode != 0 and stage in ("import", "sha256", "load"):
        _fail("load", path, f"joblib.load(mmap_mode='r') in {python} failed at {stage}: "
                            f"{answer.get('error')}")
    if "estimator" in meta and answer.get("estimator") != meta["estimator"]:
        _fail("load", path, f"loaded a {answer.get('estimator')}, {METADATA_FILE} says "
                            f"{meta['estimator']}")
    if answer.get("classes") != [str(c) for c in meta["classes"]]:
        _fail("load", path, f"model classes {answer.get('classes')} differ from "
                            f"{METADATA_FILE} classes {meta['classes']}")

    arrays = answer.get("arrays") or {}
    mapped = sorted(k for k, a in arrays.items() if a["memmap"])
    private = sorted(k for k, a in arrays.items()
                     if not a["memmap"] and a["dtype"] != "object" and 0 not in a["shape"])
    missing = [k for k in REQUIRED_MMAP if k in arrays and not arrays[k]["memmap"]]
    if not mapped or private or missing:
        _fail("mmap", path, f"arrays not memory-mapped: {', '.join(private) or 'all'}; "
                            "dump the model uncompressed (joblib.dump(model, path, compress=0))")

    if returncode != 0:
        _fail("samples", path, f"predict failed in {python}: {answer.get('error')}")
    expected = [str(sample["expected"]) for sample in meta["samples"]]
    got = answer.get("predictions")
    wrong = [f"samples[{i}] {meta['samples'][i]['features']} predicted {g!r}, "
             f"recorded {e!r}"
             for i, (e, g) in enumerate(zip(expected, got or [], strict=False)) if e != g]
    if not isinstance(got, list) or len(got) != len(expected) or wrong:
        _fail("samples", path, "; ".join(wrong) or f"got {got!r}, recorded {expected!r}")

    return {
        "path": path,
        "name": meta["name"],
        "version": meta["version"],
        "sha256": actual,
        "size": os.path.getsize(model_path),
        "sklearn_version": env["sklearn_version"],
        "joblib_version": env["joblib_version"],
        "numpy_version": env["numpy_version"],
        "python": python,
        "estimator": answer.get("estimator"),
        "mmapped": mapped,
        "load_seconds": round(answer.get("load_seconds", 0.0), 6),
        "load_uid": answer.get("uid"),
        "samples": len(expected),
        "samples_ok": True,
    }


def current(root, name):
    """
    The version ``<root>/<name>/current`` points at, or None when there is no link.

    CLI Example:

    .. code-block:: bash

        salt worker1 sklearn_model.current /srv/models iris
    """
    link = os.path.join(_model_dir(root, name), CURRENT)
    try:
        target = os.readlink(link)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise CommandExecutionError(
            f"sklearn_model: {link} is not a symlink ({exc.strerror}); move it away") from exc
    return os.path.basename(os.path.normpath(target))


def switch(root, name, version):
    """
    Point ``<root>/<name>/current`` at the version directory ``<version>`` atomically:
    a new relative symlink is made beside it and renamed over ``current`` (a reader sees
    the old or the new target, never neither).  The version must exist and hold
    ``model.joblib`` and ``model.json``; verify it first.  Returns old, new and changed.

    CLI Example:

    .. code-block:: bash

        salt worker1 sklearn_model.switch /srv/models iris 2024.1
    """
    base = _model_dir(root, name)
    version = _component(version, "version")
    target = os.path.join(base, version)
    for needed in (MODEL_FILE, METADATA_FILE):
        if os.path.islink(target) or not os.path.isfile(os.path.join(target, needed)):
            raise CommandExecutionError(
                f"sklearn_model.switch: {target} is not a model version directory "
                f"(no {needed})")
    old = current(root, name)
    link = os.path.join(base, CURRENT)
    if old == version and os.readlink(link) == version:
        return {"old": old, "new": version, "changed": False}
    tmp = os.path.join(base, f".{CURRENT}.tmp-{uuid.uuid4().hex}")
    os.symlink(version, tmp)
    try:
        os.replace(tmp, link)
    except OSError as exc:
        os.unlink(tmp)
        raise CommandExecutionError(
            f"sklearn_model.switch: cannot replace {link}: {exc}") from exc
    fd = os.open(base, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    return {"old": old, "new": version, "changed": True}


def versions(root, name):
    """
    The version directories under ``<root>/<name>``, newest first, each with its
    ``created`` time (from ``model.json``, else the directory's mtime) and whether
    ``current`` points at it.  Directories without a model file or metadata, hidden
    ones and ``current`` itself are not versions.

    CLI Example:

    .. code-block:: bash

        salt worker1 sklearn_model.versions /srv/models iris
    """
    base = _model_dir(root, name)
    active = current(root, name)
    found = []
    try:
        entries = list(os.scandir(base))
    except FileNotFoundError:
        return []
    for entry in entries:
        if entry.name.startswith(".") or entry.name == CURRENT:
            continue
        if not entry.is_dir(follow_symlinks=False):
            continue
        meta_path = os.path.join(entry.path, METADATA_FILE)
        if not (os.path.exists(meta_path) or os.path.exists(
                os.path.join(entry.path, MODEL_FILE))):
            continue
        created = None
        try:
            with open(meta_path, encoding="utf-8") as handle:
                created = _parse_created(json.load(handle).get("created"))
        except (OSError, ValueError, AttributeError):
            created = None
        mtime = entry.stat(follow_symlinks=False).st_mtime
        found.append({"version": entry.name, "created": created if created else mtime,
                      "from": "metadata" if created else "mtime",
                      "current": entry.name == active})
    found.sort(key=lambda v: (v["created"], v["version"]), reverse=True)
    return found


def prune(root, name, keep):
    """
    Remove version directories under ``<root>/<name>`` beyond the newest ``keep``
    (by ``created`` in model.json, else mtime); the one ``current`` points at is always
    kept besides them.  A directory is first renamed to a hidden name, then deleted, so
    a half-deleted one never looks like a version.  Processes that still have a removed
    model mapped keep running on it.  Returns removed, kept and current.

    CLI Example:

    .. code-block:: bash

        salt worker1 sklearn_model.prune /srv/models iris 3
    """
    given = keep
    try:
        keep = int(str(keep).strip()) if not isinstance(keep, bool | float) else -1
    except ValueError:
        keep = -1
    if keep < 0:
        raise CommandExecutionError(f"sklearn_model.prune: keep {given!r} is not a whole "
                                    "number >= 0")
    base = _model_dir(root, name)
    if not os.path.isdir(base):
        return {"removed": [], "kept": [], "current": None}
    found = versions(root, name)
    removed, kept = [], []
    for index, entry in enumerate(found):
        # Re-read the link for every candidate: never remove what it points at now.
        if index < keep or entry["version"] == current(root, name):
            kept.append(entry["version"])
            continue
        doomed = os.path.join(base, f".{entry['version']}.removing-{uuid.uuid4().hex}")
        os.rename(os.path.join(base, entry["version"]), doomed)
        shutil.rmtree(doomed)
        removed.append(entry["version"])
    # Leftovers of an interrupted prune (never a trainer's .<version>.tmp-* in progress).
    for entry in os.scandir(base):
        if entry.name.startswith(".") and ".removing-" in entry.name:
            shutil.rmtree(entry.path, ignore_errors=True)
    return {"removed": removed, "kept": kept, "current": current(root, name)}


def _records(name=None):
    """Where the master keeps the sha256 it fixed for each published model version:
    ``<master cachedir>/sklearn_model/published/<name>/<version>.json``, root's alone."""
    base = os.path.join(__opts__["cachedir"], "sklearn_model", "published")
    return base if name is None else os.path.join(base, _component(name, "name"))


def received(minion, path):
    """The master's copy of the file ``minion`` pushed from ``path`` (``cp.push``, the
    master's ``file_recv``): what minionfs serves as ``salt://<minion><path>``."""
    return os.path.join(__opts__["cachedir"], "minions", _component(minion, "minion"),
                        "files", os.path.normpath(str(path)).lstrip("/"))


def publish(name, version, minion, path, test=False):
    """
    On the master (the orchestrate's own step): fix the sha256 of the model artifact
    ``minion`` pushed from ``path``, read from the master's received copy.  The first
    publication of a version records it; a later one must find the same bytes, because a
    version is never rebuilt (workers that have it would keep the old one).  Raises naming
    what is wrong; returns ``{"sha256", "recorded", "new"}``.

    CLI Example (on the master, as the orchestrate runs it):

    .. code-block:: bash

        salt-run salt.cmd sklearn_model.publish iris 1 sup1 \
            /var/cache/sklearn_model/build/iris-1.tar
    """
    version = _component(version, "version")
    copy = received(minion, path)
    if not os.path.isfile(copy):
        raise CommandExecutionError(
            f"sklearn_model.publish: the master has not received {path} from {minion} "
            f"(looked for {copy}): the build step pushes it with cp.push, which needs "
            "file_recv: True on the master")
    digest = _sha256(copy)
    record = os.path.join(_records(name), f"{version}.json")
    try:
        with open(record, encoding="utf-8") as handle:
            fixed = json.load(handle)
    except FileNotFoundError:
        fixed = None
    except (OSError, ValueError) as exc:
        raise CommandExecutionError(f"sklearn_model.publish: {record} is unreadable "
                                    f"({exc}); remove it to publish {name} {version} "
                                    "afresh") from exc
    if fixed is not None:
        if fixed.get("sha256") != digest:
            raise CommandExecutionError(
                f"sklearn_model.publish: {name} {version} from {minion} now has sha256 "
                f"{digest}, but the master fixed {fixed.get('sha256')} when it was first "
                f"published ({fixed.get('published')}); a version is never rebuilt: give "
                f"the model a new version, or remove {record} if the old one may go")
        return {"sha256": digest, "recorded": fixed.get("published"), "new": False}
    now = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")  # noqa: UP017
    if not test:
        os.makedirs(_records(name), mode=0o700, exist_ok=True)
        tmp = f"{record}.tmp-{uuid.uuid4().hex[:8]}"
        with open(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w",
                  encoding="utf-8") as handle:
            json.dump({"name": name, "version": version, "sha256": digest,
                       "minion": minion, "path": path, "size": os.path.getsize(copy),
                       "published": now}, handle)
        os.replace(tmp, record)
    return {"sha256": digest, "recorded": now, "new": True}


def handoff(*names):
    """
    On the master: the sha256 it fixed for every published version of the models
    ``names`` (all of them when none is given), shaped as the ``sklearn_model`` pillar
    the orchestrate hands to the workers' deploy step: ``{"published": {name: {version:
    sha256}}}``.

    CLI Example:

    .. code-block:: bash

        salt-run salt.cmd sklearn_model.handoff iris
    """
    base = _records()
    try:
        found = names or sorted(os.listdir(base))
    except FileNotFoundError:
        found = []
    published = {}
    for name in found:
        versions_fixed = {}
        try:
            entries = sorted(os.listdir(_records(name)))
        except FileNotFoundError:
            entries = []
        for entry in entries:
            if not entry.endswith(".json"):
                continue
            with open(os.path.join(_records(name), entry), encoding="utf-8") as handle:
                digest = json.load(handle).get("sha256", "")
            if _HEX64.match(digest):
                versions_fixed[entry[:-len(".json")]] = digest
        if versions_fixed:
            published[name] = versions_fixed
    return {"published": published}


def minionfs_exposure(builders, others):
    """
    On the master: whether its configuration lets the models built by ``builders`` be
    published, and what its ``minionfs`` backend would serve besides.  Returns
    ``{"errors": [...], "exposure": [...]}``: errors stop a publication (file_recv off,
    minionfs not a backend, a mount point, a builder not served); exposure names a
    whitelist that also serves the pushed files of any minion (empty) or of ``others``.

    CLI Example:

    .. code-block:: bash

        salt-run salt.cmd sklearn_model.minionfs_exposure '[sup1]' '[zk1, nimbus1, sup2]'
    """
    from salt.utils.stringutils import check_whitelist_blacklist

    opts = __opts__
    whitelist = opts.get("minionfs_whitelist") or []
    blacklist = opts.get("minionfs_blacklist") or []

    def served(minion):
        return check_whitelist_blacklist(minion, whitelist=whitelist or None,
                                         blacklist=blacklist or None)

    errors, exposure = [], []
    if not opts.get("file_recv"):
        errors.append("the master has file_recv: False, so the build host cannot push "
                      "the artifact (set file_recv: True)")
    if "minionfs" not in (opts.get("fileserver_backend") or []):
        errors.append("the master's fileserver_backend lacks minionfs, so the workers "
                      "cannot fetch the artifact (add minionfs)")
    if opts.get("minionfs_mountpoint"):
        errors.append(f"minionfs_mountpoint is {opts['minionfs_mountpoint']!r}; the "
                      "workers fetch salt://<build host><path>, so leave it unset")
    errors += [f"minionfs_whitelist/minionfs_blacklist do not serve the build host "
               f"{minion}" for minion in builders if not served(minion)]
    if not whitelist:
        exposure.append("minionfs_whitelist is empty, so minionfs serves every file any "
                        f"minion pushes to every minion; set it to {sorted(builders)}")
    else:
        exposed = sorted(m for m in others if m not in builders and served(m))
        if exposed:
            exposure.append(f"minionfs_whitelist {whitelist} also serves the pushed files "
                            f"of {exposed}, which build no model; set it to "
                            f"{sorted(builders)}")
    return {"errors": errors, "exposure": exposure}


def resolve(config):
    """
    Validate the merged sklearn_model formula settings (called from its map.jinja at
    render time); raises naming the pillar key.  Adds ``deploy``: one entry per model with
    version, source, source_hash, root, python and keep.

    CLI Example:

    .. code-block:: bash

        salt worker1 state.apply sklearn_model._mapdata
    """
    def fail(key, message):
        raise CommandExecutionError(f"sklearn_model:{key}: {message}")

    # Keys, types and ranges are the schema's (parameters/schema.yaml, checked by
    # formula_settings.mapdata before this runs); what is left is what one key alone
    # cannot say.
    config = dict(config)
    root, python, keep = config["root"], config["python"], config["keep"]
    config.setdefault("published", {})
    deploy, builds = {}, {}
    for name, model in sorted(config["models"].items()):
        key = f"models:{name}"
        _component(name, key)
        version = str(model["version"])
        _component(version, f"{key}:version")
        build = model.get("build")
        if build is not None:
            # Trained in the orchestrate on one worker and served by the master (minionfs).
            if model.get("source") or model.get("source_hash"):
                fail(key, "give either build or source/source_hash, not both")
            minion = build.get("minion") or next(
                iter(__salt__["clustermap.minions"]("supervisor")), None)
            if not minion:
                fail(f"{key}:build:minion", "no build host given and no cluster:supervisor")
            script = str(build.get("script") or config["build"]["script"])
            output = config["build"]["output"].rstrip("/")
            artifact = f"{output}/{name}-{version}.tar"
            builds[name] = {"version": version, "minion": minion, "script": script,
                            "output": output, "artifact": artifact, "python": python}
            # The hash is never read from beside the artifact: the master fixes it when it
            # publishes the version and the orchestrate hands it over as `published`.
            # Without it (a highstate outside the orchestrate) a version already current
            # stays, and a new one is refused by the deploy state, naming the orchestrate.
            fixed = config["published"].get(name, {}).get(version)
            deploy[name] = {"version": version, "source": f"salt://{minion}{artifact}",
                            "source_hash": f"sha256={fixed}" if fixed else None,
                            "root": root, "python": python,
                            "keep": model.get("keep", keep)}
            continue
        if not model.get("source"):
            fail(f"{key}:source", "missing: the salt://, https://, http:// or file:// URL of "
                 "the model artifact (or give build: to train it in the orchestrate)")
        source_hash = __utils__["formula_schema.hash_setting"](
            model.get("source_hash"), f"sklearn_model:{key}:source_hash", ("sha256",),
            urls=False)
        deploy[name] = {"version": version, "source": model["source"],
                        "source_hash": source_hash, "root": root,
                        "python": python, "keep": model.get("keep", keep)}
    config["deploy"] = deploy
    config["builds"] = builds
    return config
