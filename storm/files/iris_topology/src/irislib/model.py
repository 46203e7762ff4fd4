"""
The classifier's model: ``<root>/<name>/current/model.joblib``, memory-mapped, and
followed when ``current`` is switched to another version.

``current`` is a relative symlink to a version directory (``sklearn_model.switch``
replaces it atomically with rename(2)).  The holder reads the link at most once per
``check`` seconds; when it points somewhere new, the new version is loaded *beside* the
one in use, checked, and only then swapped in.  Loading goes through the version
directory the link named (never through ``current`` again), so a second switch racing the
load cannot mix two versions.  Nothing here ever writes, moves or deletes a model file: a
process that has a file mapped would die with SIGBUS if it changed in place.  The old
model's mapping stays valid (it maps the old, immutable file) until it is dropped.

A version that fails to load is remembered and retried at most every ``retry`` seconds
while the link keeps pointing at it; the model in use (if any) stays in use.
"""

import hashlib
import json
import os
import time
import warnings

MODEL_FILE = "model.joblib"
METADATA_FILE = "model.json"
CURRENT = "current"


class ModelError(Exception):
    """The model cannot be used; the message says why."""


class LoadedModel:
    def __init__(self, estimator, version, target, path, mapped, sha256, warnings_seen):
        self.estimator = estimator
        self.version = version
        self.target = target
        self.path = path
        self.mapped = mapped
        self.sha256 = sha256
        self.warnings = warnings_seen

    def predict(self, rows):
        return self.estimator.predict(rows)


def _sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def load_version(version_dir, target):
    """
    Load one version directory: check model.joblib against model.json's sha256 when there
    is metadata (unpickling runs code: load only what matches), map it with
    joblib.load(mmap_mode='r'), and predict the metadata's samples as a self-test.
    """
    import joblib
    import numpy

    path = os.path.join(version_dir, MODEL_FILE)
    if not os.path.isfile(path):
        raise ModelError(f"{path} does not exist")
    meta = {}
    meta_path = os.path.join(version_dir, METADATA_FILE)
    if os.path.exists(meta_path):
        try:
            with open(meta_path, encoding="utf-8") as handle:
                meta = json.load(handle)
            if not isinstance(meta, dict):
                raise ValueError("not a JSON object")
        except (OSError, ValueError) as exc:
            raise ModelError(f"{meta_path} is unreadable: {exc}") from exc
    digest = None
    if meta.get("sha256"):
        digest = _sha256(path)
        if digest != meta["sha256"]:
            raise ModelError(f"{path} has sha256 {digest}, {METADATA_FILE} says "
                             f"{meta['sha256']}: refusing to unpickle it")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            estimator = joblib.load(path, mmap_mode="r")
        except Exception as exc:  # a corrupt pickle raises anything
            raise ModelError(f"joblib.load({path}, mmap_mode='r') failed: "
                             f"{type(exc).__name__}: {exc}") from exc
    if not callable(getattr(estimator, "predict", None)):
        raise ModelError(f"{path} holds a {type(estimator).__name__}, not an estimator")
    mapped = sorted(k for k, v in vars(estimator).items() if isinstance(v, numpy.memmap))
    samples = meta.get("samples") or []
    if samples:
        try:
            rows = numpy.asarray([s["features"] for s in samples], dtype=numpy.float64)
            got = [str(p) for p in estimator.predict(rows)]
            expected = [str(s["expected"]) for s in samples]
        except Exception as exc:
            raise ModelError(f"{path}: predicting the samples of {METADATA_FILE} failed: "
                             f"{type(exc).__name__}: {exc}") from exc
        if got != expected:
            raise ModelError(f"{path}: predicts {got} for the samples of {METADATA_FILE}, "
                             f"which records {expected}")
    version = str(meta.get("version") or os.path.basename(os.path.normpath(target)))
    seen = [f"{w.category.__name__}: {w.message}" for w in caught]
    return LoadedModel(estimator, version, target, path, mapped, digest, seen)


class ModelHolder:
    """The model in use, re-checked against ``current`` at most every ``check`` seconds."""

    def __init__(self, root, name, check=1.0, retry=10.0, clock=time.monotonic,
                 loader=load_version):
        self.model_dir = os.path.join(root, name)
        self.link = os.path.join(self.model_dir, CURRENT)
        self.check = check
        self.retry = retry
        self.clock = clock
        self.loader = loader
        self.model = None
        self.error = None            # why the link's target is not in use, or None
        self._checked = None
        self._failed = {}            # target -> time of the failed load

    def refresh(self, force=False):
        """
        Follow the link if it is time to.  Returns (event, detail): ("loaded", model),
        ("failed", message) or (None, None) when nothing happened.
        """
        now = self.clock()
        if not force and self._checked is not None and now - self._checked < self.check:
            return None, None
        self._checked = now
        try:
            target = os.readlink(self.link)
        except FileNotFoundError:
            return self._fail(None, now, f"{self.link} does not exist (no model switched in)")
        except OSError as exc:
            return self._fail(None, now, f"{self.link} is not a symlink: {exc.strerror}")
        if self.model is not None and target == self.model.target:
            self.error = None
            return None, None
        failed_at = self._failed.get(target)
        if failed_at is not None and now - failed_at < self.retry:
            return None, None
        version_dir = os.path.normpath(os.path.join(self.model_dir, target))
        try:
            model = self.loader(version_dir, target)
        except ModelError as exc:
            return self._fail(target, now, f"model {target}: {exc}")
        self._failed.pop(target, None)
        self.model, self.error = model, None  # the old one is unmapped when dropped
        return "loaded", model

    def _fail(self, target, now, message):
        if target is not None:
            self._failed = {target: now}
        repeated = message == self.error
        self.error = message
        return (None, None) if repeated else ("failed", message)
