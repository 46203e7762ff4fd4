#!/usr/bin/env python3
"""
Train the bundled iris model and write one immutable model version directory.

Run it with the workers' python (the conda environment the topology runs in), so the
pickle is made by the same scikit-learn, joblib and numpy that will load it:

    <env>/bin/python train_iris.py --out /srv/models/iris/2024.1 --version 2024.1

DIR receives exactly two files:

    model.joblib   an sklearn.svm.SVC dumped by joblib *uncompressed*, so that
                   joblib.load(path, mmap_mode='r') maps its numpy arrays from the page
                   cache (one copy shared by every process on the host);
    model.json     metadata: name, version, file, sha256, size, the library versions,
                   feature_names, classes, the accuracy on its training rows and on
                   the held-out rows (their indices too), created (UTC) and sample
                   rows with the predictions this model gives for them.

The model is trained on the class *names*, so ``predict`` returns 'setosa',
'versicolor' or 'virginica'.  Everything is written into a fresh temporary directory
beside DIR, flushed to disk, and renamed to DIR at the end: DIR either does not exist or
is complete.  An existing DIR is refused, never written into (a process that has a model
file mapped dies with SIGBUS if the file changes under it).

Only the standard library, numpy, scikit-learn and joblib are used; iris ships with
scikit-learn, nothing is downloaded.
"""

import argparse
import ctypes
import datetime
import errno
import hashlib
import json
import os
import platform
import shutil
import sys
import tempfile
import time

MODEL_FILE = "model.joblib"
METADATA_FILE = "model.json"
METADATA_FORMAT = 1
RANDOM_STATE = 0
HELD_OUT_FRACTION = 0.3
SAMPLES_PER_CLASS = 2
SVC_PARAMS = {"kernel": "rbf", "C": 1.0, "gamma": "scale"}
_RENAME_NOREPLACE = 1
# datetime.UTC needs Python 3.11; the workers' environment may be older.
UTC = datetime.timezone.utc  # noqa: UP017


def fail(message):
    print(f"train_iris.py: {message}", file=sys.stderr)
    sys.exit(2)


def sha256_of(path):
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def fsync_path(path):
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def rename_noreplace(src, dst):
    """
    Rename the finished directory into place without ever replacing an existing one.
    Plain rename(2) silently replaces an *empty* directory, so renameat2(RENAME_NOREPLACE)
    is used where the kernel and filesystem have it; elsewhere the existence check just
    before the rename is the (racy but sufficient for a single trainer) fallback.
    """
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        renameat2 = None
    if renameat2 is not None:
        at_fdcwd = -100
        result = renameat2(at_fdcwd, os.fsencode(src), at_fdcwd, os.fsencode(dst),
                           _RENAME_NOREPLACE)
        if result == 0:
            return
        err = ctypes.get_errno()
        if err not in (errno.ENOSYS, errno.EINVAL):
            raise OSError(err, os.strerror(err), dst)
    if os.path.lexists(dst):
        raise FileExistsError(errno.EEXIST, os.strerror(errno.EEXIST), dst)
    os.rename(src, dst)


def train(random_state=RANDOM_STATE):
    """
    Fit the shipped SVC on a stratified training split of iris and score it on the rows it
    never saw.  The held-out rows' indices go into model.json, so the topology's demo
    stream classifies exactly those, and the accuracy it reports is a held-out one.
    """
    import numpy as np
    from sklearn.base import clone
    from sklearn.datasets import load_iris
    from sklearn.model_selection import train_test_split
    from sklearn.svm import SVC

    iris = load_iris()
    features = np.asarray(iris.data, dtype=np.float64)
    labels = np.asarray(iris.target_names)[iris.target]  # class names, '<U10', mappable
    estimator = SVC(**SVC_PARAMS)

    rows_train, rows_test = (np.sort(rows) for rows in train_test_split(
        np.arange(len(labels)), test_size=HELD_OUT_FRACTION, stratify=labels,
        random_state=random_state))
    model = clone(estimator).fit(features[rows_train], labels[rows_train])
    training = model.score(features[rows_train], labels[rows_train])
    held_out = model.score(features[rows_test], labels[rows_test])

    rows = []
    for name in model.classes_:
        rows.extend(np.flatnonzero(labels == name)[:SAMPLES_PER_CLASS].tolist())
    predicted = model.predict(features[rows])
    samples = [
        {"features": [float(v) for v in features[row]], "label": str(labels[row]),
         "expected": str(predicted[i])}
        for i, row in enumerate(rows)
    ]
    info = {
        "feature_names": [str(n) for n in iris.feature_names],
        "classes": [str(c) for c in model.classes_],
        "training_accuracy": round(float(training), 6),
        "held_out_accuracy": round(float(held_out), 6),
        # Indices into sklearn's iris data set (sample ids iris-<index>).
        "held_out": {"fraction": HELD_OUT_FRACTION, "stratified": True,
                     "random_state": random_state, "count": int(len(rows_test)),
                     "rows": sorted(int(r) for r in rows_test)},
        "training_rows": int(len(rows_train)),
        "samples": samples,
    }
    return model, info


def write_version(out, name, version, random_state=RANDOM_STATE):
    out = os.path.abspath(out)
    parent = os.path.dirname(out)
    if os.path.lexists(out):
        fail(f"--out {out} already exists; a model version directory is never rewritten, "
             "choose a new version")
    import joblib
    import numpy
    import sklearn

    os.makedirs(parent, exist_ok=True)

    started = time.monotonic()
    model, info = train(random_state)
    tmp = tempfile.mkdtemp(prefix=f".{os.path.basename(out)}.tmp-", dir=parent)
    try:
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o777 & ~umask)  # mkdtemp makes 0700; workers need to read it
        model_path = os.path.join(tmp, MODEL_FILE)
        joblib.dump(model, model_path, compress=0)  # uncompressed: loads memory-mapped
        os.chmod(model_path, 0o666 & ~umask)
        fsync_path(model_path)
        metadata = {
            "format": METADATA_FORMAT,
            "name": name,
            "version": version,
            "file": MODEL_FILE,
            "sha256": sha256_of(model_path),
            "size": os.path.getsize(model_path),
            "estimator": f"{type(model).__module__}.{type(model).__qualname__}",
            "params": dict(SVC_PARAMS),
            "sklearn_version": sklearn.__version__,
            "joblib_version": joblib.__version__,
            "numpy_version": numpy.__version__,
            "python_version": platform.python_version(),
            **info,
            "created": datetime.datetime.now(UTC).isoformat(timespec="seconds"),
            "training_seconds": round(time.monotonic() - started, 3),
        }
        meta_path = os.path.join(tmp, METADATA_FILE)
        with open(meta_path, "w", encoding="utf-8") as handle:
            json.dump(metadata, handle, indent=2, sort_keys=True)
            handle.write("\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(meta_path, 0o666 & ~umask)
        fsync_path(tmp)
        rename_noreplace(tmp, out)
    except FileExistsError:
        shutil.rmtree(tmp, ignore_errors=True)
        fail(f"--out {out} appeared while training; refusing to replace it")
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    fsync_path(parent)
    return metadata


def valid_component(value, what):
    if not value or "/" in value or value in (".", "..", "current") or value.startswith("."):
        raise argparse.ArgumentTypeError(
            f"{what} {value!r} must be a plain directory name (no '/', not 'current', "
            "not starting with '.')")
    return value


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", required=True,
                        help="version directory to create (must not exist)")
    parser.add_argument("--version", required=True,
                        type=lambda v: valid_component(v, "--version"),
                        help="model version recorded in model.json")
    parser.add_argument("--name", default="iris", type=lambda v: valid_component(v, "--name"),
                        help="model name recorded in model.json (default: iris)")
    parser.add_argument("--random-state", type=int, default=RANDOM_STATE,
                        help=f"seed of the held-out split (default: {RANDOM_STATE})")
    args = parser.parse_args(argv)
    metadata = write_version(args.out, args.name, args.version, args.random_state)
    print(json.dumps({key: metadata[key] for key in (
        "name", "version", "sha256", "size", "sklearn_version", "training_accuracy",
        "held_out_accuracy", "training_seconds")}, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
