"""
The model's memory over K processes on one host: memory-mapped (``joblib.load(...,
mmap_mode="r")``, as the classifier bolt loads it) against loaded normally.

A model large enough to show the difference is trained once (an RBF SVC on noisy
synthetic data, so that most training rows become support vectors) and cached in
``build/bench/memory-model/``.  Then, for each K and each way of loading, K processes of
the workers' Python start together, load the model, predict once (an RBF predict reads
every support vector, so every page of the model is touched), and hold it while the
proportional set size (``Pss`` of ``/proc/<pid>/smaps_rollup``) of each is read.  K
processes that import the same libraries and load nothing are measured the same way, in
the same round, and subtracted: what is left is the model's memory.  A page shared by n
processes counts 1/n in each, so the sum over the K processes is the memory the host
really spends on the model.

"one copy" is the size of ``model.joblib``.  Reported per K: the model's memory, summed,
in MB and as a multiple of one copy (median of ``--rounds`` rounds, modes interleaved).
Nothing passes or fails on a figure; every wait is bounded (``--timeout`` per group).
"""

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
VENV_PYTHON = REPO / "build/test-venvs/topology/bin/python"
MODES = ("none", "mmap", "plain")

TRAIN = """
import json, sys, joblib, numpy, sklearn
from sklearn.datasets import make_classification
from sklearn.svm import SVC
out, samples, features = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
X, y = make_classification(n_samples=samples, n_features=features, n_informative=20,
                           flip_y=0.4, random_state=0)
model = SVC(kernel="rbf", C=1.0, gamma="scale").fit(X, y)
joblib.dump(model, out + "/model.joblib")
print(json.dumps({"support_vectors": list(model.support_vectors_.shape),
                  "sklearn": sklearn.__version__, "numpy": numpy.__version__,
                  "joblib": joblib.__version__}))
"""

# One process: import what the classifier imports, load (or not), touch it all, report
# ready, hold until stdin closes.
CHILD = """
import sys, joblib, numpy, sklearn.svm
mode, path = sys.argv[1], sys.argv[2]
if mode != "none":
    model = joblib.load(path, mmap_mode="r" if mode == "mmap" else None)
    model.predict(numpy.zeros((1, model.support_vectors_.shape[1])))
print("ready", flush=True)
sys.stdin.read()
"""


def pss_kb(pid):
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        if line.startswith("Pss:"):
            return int(line.split()[1])
    raise RuntimeError(f"no Pss in /proc/{pid}/smaps_rollup")


def group(python, mode, path, k, timeout):
    """Start k processes in ``mode`` together; their summed Pss in kB once all are ready."""
    procs = [subprocess.Popen([str(python), "-c", CHILD, mode, str(path)], text=True,
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE)
             for _ in range(k)]
    try:
        deadline = time.monotonic() + timeout
        for proc in procs:
            line = proc.stdout.readline()  # bounded: the child exits on any error
            if line.strip() != "ready" or time.monotonic() > deadline:
                raise RuntimeError(f"{mode} x{k}: a process did not get ready in {timeout}s")
        return sum(pss_kb(p.pid) for p in procs)
    finally:
        for proc in procs:
            proc.stdin.close()
        for proc in procs:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()


def trained(python, samples, features):
    out = REPO / "build/bench/memory-model"
    stamp = out / "model.json"
    wanted = {"samples": samples, "features": features}
    if stamp.is_file() and json.loads(stamp.read_text()).get("params") == wanted and \
            (out / "model.joblib").is_file():
        return out / "model.joblib", json.loads(stamp.read_text())
    out.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    done = subprocess.run([str(python), "-c", TRAIN, str(out), str(samples), str(features)],
                          capture_output=True, text=True, check=True, timeout=1800)
    meta = dict(json.loads(done.stdout), params=wanted,
                train_s=round(time.monotonic() - started, 1))
    stamp.write_text(json.dumps(meta, indent=1) + "\n")
    return out / "model.joblib", meta


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--python", default=str(VENV_PYTHON),
                        help="the workers' Python (default: %(default)s)")
    parser.add_argument("--samples", type=int, default=12000)
    parser.add_argument("--features", type=int, default=200)
    parser.add_argument("--ks", default="1,2,4,8")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--timeout", type=float, default=120)
    parser.add_argument("--out", default=str(REPO / "build/bench/memory.json"))
    args = parser.parse_args(argv)
    python = Path(args.python)
    if not python.exists():
        sys.exit(f"{python} is missing: the fixture `venv` of test/unit/test_iris_topology.py "
                 "builds it (see bench/README.md)")
    ks = [int(k) for k in args.ks.split(",")]
    path, meta = trained(python, args.samples, args.features)
    copy_kb = path.stat().st_size / 1024
    found = {(k, m): [] for k in ks for m in MODES}
    for _ in range(args.rounds):
        for k in ks:
            for mode in MODES:  # interleaved: the baseline beside what it is taken from
                found[(k, mode)].append(group(python, mode, path, k, args.timeout))
    rows, results = [], {}
    for k in ks:
        row = {"k": k}
        for mode in ("mmap", "plain"):
            model_kb = statistics.median(
                a - b for a, b in zip(found[(k, mode)], found[(k, "none")], strict=True))
            row[f"{mode}_mb"] = round(model_kb / 1024, 1)
            row[f"{mode}_ratio"] = round(model_kb / copy_kb, 2)
            results[f"memory.{mode}_pss_ratio_k{k}"] = row[f"{mode}_ratio"]
        rows.append(row)
    record = {"machine": {"host": platform.node(), "cpus": os.cpu_count(),
                          "kernel": platform.release()},
              "model": dict(meta, file_mb=round(copy_kb / 1024, 1)), "rows": rows,
              "raw_kb": {f"{m} x{k}": v for (k, m), v in found.items()}, **results}
    print(f"model memory over K processes: SVC with {meta['support_vectors'][0]} support "
          f"vectors x {meta['support_vectors'][1]} features, model.joblib "
          f"{copy_kb / 1024:.1f} MB (one copy); median of {args.rounds} round(s)\n")
    print("| K | memory-mapped: MB | x one copy | loaded normally: MB | x one copy |")
    print("|---|---|---|---|---|")
    for row in rows:
        print(f"| {row['k']} | {row['mmap_mb']} | {row['mmap_ratio']} | {row['plain_mb']} | "
              f"{row['plain_ratio']} |")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(record, indent=1) + "\n")
    print(f"\nwritten to {args.out}")


if __name__ == "__main__":
    main()
