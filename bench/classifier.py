#!/usr/bin/env python3
"""
Throughput and latency of the bundled topology's ClassifierBolt, driven as Storm drives it
(``python -m streamparse.run -s json bolts.classify.ClassifierBolt`` over the multilang
protocol on pipes, with test/unit/multilang_driver.py), reported as ratios against a
no-op bolt (bench/noop_bolt.py) driven the same way in the same run.

Measured in one run: four component processes are started and warmed up, then driven
one at a time in interleaved rounds (so a change in the machine's load hits every one
alike):

- ``noop``: the no-op bolt, one sample per tuple: what the protocol costs per tuple;
- ``per-sample``: the classifier with one sample per tuple and ``iris.batch.size`` 1, the
  original example's design (one predict per sample);
- ``batch16``: one sample per tuple, ``iris.batch.size`` 16 (the previous default: samples
  batched inside the bolt only);
- ``bundled``: ``--samples-per-tuple`` (100, the spout's ``iris.spout.batch.size``) samples
  per tuple, ``iris.batch.size`` 256: the bundled topology's defaults.

Per round and process:

- throughput: ``--tuples`` tuples (encoded before the clock starts) written as fast as the
  pipe takes them by a writer thread; samples/s until the last ack.  Each round's figure
  is divided by the no-op's and by the per-sample classifier's in the same round; the
  median of those ratios is reported, with their range;
- in-bolt latency p50/p99/max: the ``latency_ms`` of every result the classifier emits
  (from the moment it read the tuple to the end of the batch's ``predict``), pooled;
- CPU seconds per wall second of the bolt process and of this driver, to tell whether a
  figure is bound by the bolt or by the harness.

Then a trickle on the bundled process: ``--trickle-tuples`` one-sample tuples at
``--trickle-rate`` on a fixed schedule (at 100 samples/s the spout's 10 ms age limit gives
one-sample tuples too), with a tick every second as Storm sends one: in-bolt latency
p50/p99/max, the send->ack time the driver sees, and apart from those the "tail": tuples
still waiting when the stream stopped that only the next tick flushed.  The classifier
flushes a partial batch as soon as no input is waiting, so the tail should be empty.

The model is a real one: train_iris.py writes ``<tmp>/iris/bench-1/{model.joblib,
model.json}`` and ``current`` links to it, the layout sklearn_model deploys.

Every loop is bounded by a count and a wall-clock cap (``--cap`` per run, ``--budget``
before a new round, 60 s per component start, the trickle's length plus 7 s).  Results
are printed as a table and written to build/bench/classifier.json.  Run it with a Python
>= 3.11 (the driver side needs only the standard library); the components run in
``--python``.  See bench/README.md.
"""

import argparse
import datetime
import importlib.util
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
BENCH = REPO / "bench"
SRC = REPO / "storm/files/iris_topology/src"
TRAIN = REPO / "sklearn_model/files/default/train_iris.py"
DRIVER = REPO / "test/unit/multilang_driver.py"
VENV_PYTHON = REPO / "build/test-venvs/topology/bin/python"
OUT = REPO / "build/bench/classifier.json"

CLASSIFIER = "bolts.classify.ClassifierBolt"
NOOP = "noop_bolt.NoopBolt"
READY = {CLASSIFIER: "classifier: batches of", NOOP: "noop: ready"}
SPOUT_FIELDS = ["samples"]             # storm/files/iris_topology/src/irislib/batches.py
CLASSIFIER_FIELDS = ["shard", "results"]
LATENCY = 4                            # latency_ms's place in a result
# name -> (component, samples per tuple (None: --samples-per-tuple), bolt settings)
VARIANTS = {
    "noop": (NOOP, 1, {}),
    "per-sample": (CLASSIFIER, 1, {"iris.batch.size": 1}),
    "batch16": (CLASSIFIER, 1, {"iris.batch.size": 16}),
    "bundled": (CLASSIFIER, None, {"iris.batch.size": 256}),
}
MODEL_VERSION = "bench-1"
STARTUP_S = 60        # handshake and initialize() (imports scikit-learn), per component
TICK_S = 1.0          # Storm's tick period for this bolt (topology.tick.tuple.freq.secs)

VENV_HINT = (
    "The components run in the workers' environment the unit tests build: the session\n"
    "fixture `venv` of test/unit/test_iris_topology.py creates build/test-venvs/topology\n"
    "(streamparse 5.0.1, scikit-learn 1.9.1, numpy 2.4.6, joblib 1.6.0).  From the\n"
    "repository root, one test that uses it builds it:\n"
    "    /opt/storm-sklearn-lab/venv/bin/python -m pytest test/unit/test_iris_topology.py \\\n"
    "        -k test_topology_definition_and_overrides\n"
    "or pass --python PATH to a Python that has those packages.")
PINNED = {"streamparse": "5.0.1", "sklearn": "1.9.1", "numpy": "2.4.6", "joblib": "1.6.0"}
PROBE = ("import json, streamparse, sklearn, numpy, joblib; print(json.dumps({m.__name__: "
         "m.__version__ for m in (streamparse, sklearn, numpy, joblib)}))")
IRIS = ("import json; from sklearn.datasets import load_iris; d = load_iris(); "
        "print(json.dumps({'rows': d.data.tolist(), "
        "'labels': [str(d.target_names[t]) for t in d.target]}))")


def load_driver():
    """test/unit/multilang_driver.py, imported by path (it is not a package); no
    __pycache__ is written beside it."""
    sys.dont_write_bytecode = True
    spec = importlib.util.spec_from_file_location("multilang_driver", DRIVER)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def percentile(values, pct):
    """Nearest-rank percentile of ``values`` (None when empty)."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(pct / 100.0 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


def cpu_seconds(pid):
    """User + system CPU time of a process so far (Linux /proc), or None."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as handle:
            fields = handle.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run_python(python, argv, timeout):
    proc = subprocess.run([str(python), *map(str, argv)], capture_output=True, text=True,
                          check=False, timeout=timeout,
                          env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"})
    if proc.returncode != 0:
        raise SystemExit(f"bench: {python} {' '.join(map(str, argv))[:120]} failed:\n"
                         f"{proc.stderr[-2000:]}")
    return proc.stdout


class Driven:
    """One component process, with every message it sent read in order and timed."""

    def __init__(self, driver, python, target, conf, pid_dir):
        cwd = BENCH if target == NOOP else SRC
        self.comp = driver.Component(python, cwd, target, conf, "classifier",
                                     sources={"iris_spout": {"default": SPOUT_FIELDS}},
                                     outputs=CLASSIFIER_FIELDS, pid_dir=pid_dir)
        self.target = target
        self.position = 0     # messages consumed; transcript[position] is the next one

    def start(self):
        self.comp.start(timeout=STARTUP_S)
        self.position = 1     # start() read the handshake answer
        deadline = time.monotonic() + STARTUP_S
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"{self.target} not ready within {STARTUP_S} s")
            _when, message = self.read(left)
            if message.get("command") == "error":
                raise SystemExit(f"bench: {self.target} reports: {message['msg']}")
            if message.get("command") == "log" and \
                    message["msg"].startswith(READY[self.target]):
                return self

    def read(self, timeout):
        """(arrival time, message): the time the driver's reader thread got it."""
        message = self.comp.read(timeout)
        when, same = self.comp.transcript[self.position]
        self.position += 1
        if same is not message:  # cannot happen: one reader thread fills both in order
            when = time.monotonic()
        return when, message

    def close(self):
        self.comp.close()

    def kill(self):
        self.comp.kill()


def settle(driven, ids, deadline):
    """Read until every id is acked or failed, or the deadline; per-id figures (the
    latency_ms of each result emitted for the tuple)."""
    pending = set(ids)
    latency, settled_at, failed, errors = {}, {}, [], []
    while pending:
        left = deadline - time.monotonic()
        if left <= 0:
            break
        try:
            when, message = driven.read(left)
        except TimeoutError:
            break
        except RuntimeError as exc:  # the driver's ComponentDied: the bolt exited
            errors.append(str(exc)[-300:])
            break
        command = message.get("command")
        if command == "emit":
            latency.setdefault(message["anchors"][0], []).extend(
                result[LATENCY] for result in message["tuple"][1])
        elif command in ("ack", "fail") and message["id"] in pending:
            pending.discard(message["id"])
            settled_at[message["id"]] = when
            if command == "fail":
                failed.append(message["id"])
        elif command == "error":
            errors.append(message["msg"][:300])
    return latency, settled_at, failed, errors


class Bench:
    def __init__(self, driver, python, rows, labels, pid_dir, model_root):
        self.driver = driver
        self.python = python
        self.rows = rows
        self.labels = labels
        self.pid_dir = pid_dir
        self.model_root = model_root
        self.runs = 0

    def sample(self, i):
        """A sample as the spout emits it: [sample_id, features, label, taken_ms]."""
        row = i % len(self.rows)
        return [f"iris-{i}", self.rows[row], self.labels[row], int(time.time() * 1000)]

    def samples(self, first, count):
        return [[self.sample(first + j) for j in range(count)]]

    def component(self, target, **conf):
        if target == CLASSIFIER:
            conf = {"iris.model.root": str(self.model_root), "iris.batch.timeout.ms": 50,
                    "topology.tick.tuple.freq.secs": 1, **conf}
        driven = Driven(self.driver, self.python, target, conf, self.pid_dir)
        try:
            return driven.start()
        except BaseException:
            driven.kill()  # never leave a process behind
            raise

    def pump(self, driven, count, per_tuple, cap):
        """Send ``count`` tuples of ``per_tuple`` samples as fast as the pipe takes them
        (a writer thread; encoded beforehand), then a tick; samples/s until the last one
        was acked, and the latency_ms of every result."""
        self.runs += 1
        messages = [driven.comp.tuple_bytes(self.samples(i * per_tuple, per_tuple),
                                            tup_id=f"r{self.runs}-{i}")
                    for i in range(count)]
        ids = [tup_id for tup_id, _data in messages]
        cpu_before = cpu_seconds(driven.comp.proc.pid)
        driver_before = time.process_time()
        began = time.monotonic()
        deadline = began + cap
        stop = threading.Event()

        def writer():
            try:
                for _tup_id, data in messages:
                    if stop.is_set() or time.monotonic() > deadline:
                        return
                    driven.comp.send_raw(data)
                driven.comp.tick()  # as Storm would within a second
            except (OSError, ValueError):  # the component was killed at the cap
                pass

        thread = threading.Thread(target=writer, daemon=True)
        thread.start()
        latency, settled_at, failed, errors = settle(driven, ids, deadline)
        stop.set()
        thread.join(5)
        if thread.is_alive():  # blocked on a full pipe: the bolt stalled
            driven.kill()
            thread.join(5)
        last = max(settled_at.values(), default=time.monotonic())
        cpu_after = cpu_seconds(driven.comp.proc.pid)
        wall = max(time.monotonic() - began, 1e-9)
        driver_busy = round((time.process_time() - driver_before) / wall, 2)
        busy = None
        if cpu_before is not None and cpu_after is not None:
            busy = round((cpu_after - cpu_before) / wall, 2)
        values = [v for per_id in latency.values() for v in per_id]
        seconds = max(last - began, 1e-9)
        return values, {
            "tuples": count,
            "samples_per_tuple": per_tuple,
            "settled": len(settled_at),
            "failed": len(failed),
            "capped": len(settled_at) < count,
            "seconds": round(last - began, 3),
            "tuples_per_s": round(len(settled_at) / seconds, 1),
            "samples_per_s": round(len(settled_at) * per_tuple / seconds, 1),
            "bolt_cpu_per_wall_s": busy,
            "driver_cpu_per_wall_s": driver_busy,
            "errors": errors[:5],
        }

    def trickle(self, driven, count, rate, tick_phase):
        """``count`` tuples at ``rate``/s on a fixed schedule; a tick every TICK_S, the
        first ``tick_phase`` s after the first tuple (Storm's ticks are not in step with
        the stream)."""
        self.runs += 1
        ids = [f"r{self.runs}-{i}" for i in range(count)]
        cap = count / rate + 2 * TICK_S + 5
        began = time.monotonic()
        deadline = began + cap
        stop = threading.Event()
        sent, ticks, lag = {}, [], [0.0]

        def writer():
            try:
                for i, tup_id in enumerate(ids):
                    due = began + i / rate
                    if stop.wait(max(0.0, due - time.monotonic())) or \
                            time.monotonic() > deadline:
                        return
                    now = time.monotonic()
                    lag[0] = max(lag[0], now - due)
                    sent[tup_id] = now
                    driven.comp.tuple(self.samples(i, 1), tup_id=tup_id)
            except (OSError, ValueError):
                pass

        def ticker():
            try:
                for n in range(math.ceil(cap / TICK_S) + 1):
                    due = began + tick_phase + n * TICK_S
                    if stop.wait(max(0.0, due - time.monotonic())):
                        return
                    ticks.append(time.monotonic())
                    driven.comp.tick()
            except (OSError, ValueError):
                pass

        threads = [threading.Thread(target=t, daemon=True) for t in (writer, ticker)]
        for thread in threads:
            thread.start()
        latency, settled_at, failed, errors = settle(driven, ids, deadline)
        stop.set()
        for thread in threads:
            thread.join(5)
        if any(thread.is_alive() for thread in threads):
            driven.kill()
        # The tail: what was still waiting when the stream stopped, flushed by the next
        # tick (a multilang bolt only acts when Storm sends it something).
        last_sent = max(sent.values(), default=began)
        flush_tick = min((t for t in ticks if t > last_sent), default=math.inf)
        tick_gap = flush_tick - last_sent
        tail = {i for i in ids if settled_at.get(i, math.inf) > flush_tick
                and i in latency}
        steady = [v for i in ids if i in latency and i not in tail for v in latency[i]]
        send_to_ack = [(settled_at[i] - sent[i]) * 1000.0 for i in ids
                       if i in settled_at and i in sent and i not in tail]
        span = last_sent - min(sent.values(), default=began)
        return {
            "tuples": count,
            "rate_per_s": rate,
            "achieved_rate_per_s": round((len(sent) - 1) / span, 1) if span > 0 else None,
            "writer_max_lag_ms": round(lag[0] * 1000.0, 3),
            "batch_size": driven.comp.conf["iris.batch.size"],
            "batch_timeout_ms": driven.comp.conf["iris.batch.timeout.ms"],
            "settled": len(settled_at),
            "failed": len(failed),
            "capped": len(settled_at) < count,
            "in_bolt_latency_ms_p50": percentile(steady, 50),
            "in_bolt_latency_ms_p99": percentile(steady, 99),
            "in_bolt_latency_ms_max": max(steady, default=None),
            "send_to_ack_ms_p50": _round(percentile(send_to_ack, 50)),
            "send_to_ack_ms_max": _round(max(send_to_ack, default=None)),
            "tail_tuples": len(tail),
            "tail_in_bolt_latency_ms_max": max((v for i in tail for v in latency[i]),
                                               default=None),
            "tick_phase_s": tick_phase,
            "next_tick_after_last_tuple_ms": (round(tick_gap * 1000.0, 1)
                                              if math.isfinite(tick_gap) else None),
            "ticks_sent": len(ticks),
            "errors": errors[:5],
        }


def _round(value):
    return None if value is None else round(value, 3)


def ratio(a, b):
    return round(a / b, 3) if a and b else None


def fmt(value, digits=2):
    return "-" if value is None else f"{value:.{digits}f}"



def median(values):
    return round(statistics.median(values), 3) if values else None


def summarize(runs, latencies):
    """One component's throughput rounds: medians, and latencies pooled over the rounds."""
    return {
        "tuples_per_s": median([r["tuples_per_s"] for r in runs]),
        "samples_per_s": median([r["samples_per_s"] for r in runs]),
        "in_bolt_latency_ms_p50": percentile(latencies, 50),
        "in_bolt_latency_ms_p99": percentile(latencies, 99),
        "in_bolt_latency_ms_max": max(latencies, default=None),
        "bolt_cpu_per_wall_s": median([r["bolt_cpu_per_wall_s"] for r in runs
                                       if r["bolt_cpu_per_wall_s"] is not None]),
        "driver_cpu_per_wall_s": median([r["driver_cpu_per_wall_s"] for r in runs]),
        "capped": any(r["capped"] for r in runs),
        "failed": sum(r["failed"] for r in runs),
        "rounds": runs,
    }


def round_ratios(runs_a, runs_b):
    """samples/s of a over b within each round (same moment, same load): median, min,
    max."""
    values = [ratio(a["samples_per_s"], b["samples_per_s"])
              for a, b in zip(runs_a, runs_b, strict=False)]
    values = [v for v in values if v is not None]
    if not values:
        return {"median": None, "min": None, "max": None, "rounds": []}
    return {"median": median(values), "min": min(values), "max": max(values),
            "rounds": values}


def report(result):
    machine, args, ratios = result["machine"], result["args"], result["ratios"]
    lines = [
        f"ClassifierBolt over multilang pipes: {result['date']}, {machine['host']}, "
        f"{machine['cpus']} cpus, load {machine['loadavg_before']} -> "
        f"{machine['loadavg_after']}",
        f"{args['rounds_done']} round(s) of {args['tuples']} tuples per process, after "
        f"{args['warmup']} warm-up tuples each; samples/s = median of the rounds; x no-op, "
        "x per-sample = median of the per-round ratios [min-max];",
        "p50/p99/max = in-bolt latency_ms pooled over the rounds; bolt cpu / driver cpu = "
        "CPU s per wall s of the bolt process / of this driver",
        "",
        f"{'run':<12}{'per tuple':>10}{'samples/s':>11}  {'x no-op':<20}{'x per-sample':<20}"
        f"{'p50 ms':>8}{'p99 ms':>8}{'max ms':>8}{'bolt cpu':>10}{'driver cpu':>12}",
    ]
    for name in VARIANTS:
        fig = result["variants"][name]
        cells = []
        for base in ("noop", "per-sample"):
            rel = ratios.get(f"{name}_vs_{base}")
            cells.append("1" if name == base else "-" if rel is None else
                         f"{fmt(rel['median'])} [{fmt(rel['min'])}-{fmt(rel['max'])}]")
        lines.append(f"{name:<12}{fig['samples_per_tuple']:>10}{fig['samples_per_s']:>11.0f}  "
                     f"{cells[0]:<20}{cells[1]:<20}"
                     f"{fmt(fig['in_bolt_latency_ms_p50'], 3):>8}"
                     f"{fmt(fig['in_bolt_latency_ms_p99'], 3):>8}"
                     f"{fmt(fig['in_bolt_latency_ms_max'], 3):>8}"
                     f"{fmt(fig['bolt_cpu_per_wall_s']):>10}"
                     f"{fmt(fig['driver_cpu_per_wall_s']):>12}"
                     + ("  CAPPED" if fig["capped"] else ""))
    t = result["trickle"]
    lines += [
        "",
        f"no-op spread over the rounds (max/min): {fmt(ratios['noop_spread'])}",
        f"trickle {t['rate_per_s']:g}/s x {t['tuples']} one-sample tuples (achieved "
        f"{fmt(t['achieved_rate_per_s'], 1)}/s), bundled: batch {t['batch_size']}, timeout "
        f"{t['batch_timeout_ms']} ms, a tick every {TICK_S:g} s:",
        f"  in-bolt p50 {fmt(t['in_bolt_latency_ms_p50'], 3)} ms, p99 "
        f"{fmt(t['in_bolt_latency_ms_p99'], 3)} ms, max {fmt(t['in_bolt_latency_ms_max'], 3)}"
        f" ms; send->ack p50 {fmt(t['send_to_ack_ms_p50'], 3)} ms, max "
        f"{fmt(t['send_to_ack_ms_max'], 3)} ms",
        (f"  tail: {t['tail_tuples']} tuple(s) still waiting when the stream stopped, "
         f"flushed only by the next tick, {fmt(t['next_tick_after_last_tuple_ms'], 0)} ms "
         f"after the last tuple: max {fmt(t['tail_in_bolt_latency_ms_max'], 3)} ms"
         if t["tail_tuples"] else
         "  tail: none (every batch went without waiting for a tick)")
        + ("  CAPPED" if t["capped"] else ""),
    ]
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tuples", type=int, default=3000,
                        help="tuples per process per round (default 3000)")
    parser.add_argument("--samples-per-tuple", type=int, default=100,
                        help="samples per tuple of the bundled run (default 100, the "
                             "spout's iris.spout.batch.size)")
    parser.add_argument("--rounds", type=int, default=5,
                        help="rounds over all components, interleaved (default 5)")
    parser.add_argument("--python", type=Path, default=VENV_PYTHON,
                        help="the Python the components run in (default "
                             "build/test-venvs/topology/bin/python)")
    parser.add_argument("--cap", type=float, default=20.0,
                        help="wall-clock cap of each throughput run, seconds (default 20)")
    parser.add_argument("--budget", type=float, default=35.0,
                        help="no new round starts after this many seconds (default 35)")
    parser.add_argument("--trickle-tuples", type=int, default=300)
    parser.add_argument("--trickle-rate", type=float, default=100.0, help="tuples/s")
    parser.add_argument("--tick-phase", type=float, default=0.5,
                        help="seconds from the trickle's first tuple to its first tick, "
                             "then one every second (default 0.5)")
    parser.add_argument("--out", type=Path, default=OUT,
                        help="the JSON results (default build/bench/classifier.json)")
    args = parser.parse_args(argv)
    if min(args.tuples, args.rounds, args.samples_per_tuple) < 1 or \
            args.trickle_tuples < 2 or args.trickle_rate <= 0 or args.cap <= 0 or \
            not 0 <= args.tick_phase < TICK_S:
        parser.error("need --tuples, --rounds, --samples-per-tuple >= 1, --trickle-tuples "
                     ">= 2, --trickle-rate and --cap > 0, 0 <= --tick-phase < 1")
    if not args.python.exists():
        raise SystemExit(f"bench: {args.python} does not exist.\n{VENV_HINT}")
    try:
        versions = json.loads(run_python(args.python, ["-c", PROBE], 120))
    except SystemExit as exc:
        raise SystemExit(f"{exc}\n{VENV_HINT}") from None
    if versions != PINNED:
        print(f"bench: warning: {args.python} has {versions}, the tests pin {PINNED}",
              file=sys.stderr)
    warmup = max(50, min(500, args.tuples // 5))
    began = time.monotonic()
    loadavg_before = [round(x, 2) for x in os.getloadavg()]
    driver = load_driver()

    def progress(text):
        print(f"[{time.monotonic() - began:6.1f} s] {text}", file=sys.stderr, flush=True)

    names = list(VARIANTS)
    per_tuple = {name: VARIANTS[name][1] or args.samples_per_tuple for name in names}
    runs = {name: [] for name in names}
    latencies = {name: [] for name in names}
    components = {}
    with tempfile.TemporaryDirectory(prefix="bench-classifier-") as tmp:
        tmp = Path(tmp)
        models = tmp / "models"
        progress(f"training the iris model into {models}/iris/{MODEL_VERSION}")
        run_python(args.python, [TRAIN, "--out", models / "iris" / MODEL_VERSION,
                                 "--version", MODEL_VERSION], 300)
        os.symlink(MODEL_VERSION, models / "iris" / "current")
        iris = json.loads(run_python(args.python, ["-c", IRIS], 120))
        bench = Bench(driver, args.python, iris["rows"], iris["labels"], tmp / "pids",
                      models)
        try:
            for name in names:
                progress(f"starting and warming up {name}")
                target, _size, conf = VARIANTS[name]
                components[name] = bench.component(target, **conf)
                bench.pump(components[name], warmup, per_tuple[name], args.cap)
            stopped = None
            for number in range(args.rounds):
                if number and time.monotonic() - began > args.budget:
                    stopped = f"budget of {args.budget:g} s spent after {number} round(s)"
                    break
                progress(f"round {number + 1}/{args.rounds}")
                for name in names:
                    values, figures = bench.pump(components[name], args.tuples,
                                                 per_tuple[name], args.cap)
                    runs[name].append(figures)
                    latencies[name] += values
                if any(runs[name][-1]["capped"] for name in names):
                    stopped = "a run reached its wall-clock cap"
                    break
            if stopped:
                progress(f"stopped early: {stopped}")
            progress(f"trickle, {args.trickle_tuples} tuples at {args.trickle_rate:g}/s")
            trickle = bench.trickle(components["bundled"], args.trickle_tuples,
                                    args.trickle_rate, args.tick_phase)
        finally:
            for comp in components.values():
                comp.close()

    result = {
        "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": {"host": platform.node(), "cpus": os.cpu_count(),
                    "platform": platform.platform(),
                    "loadavg_before": loadavg_before,
                    "loadavg_after": [round(x, 2) for x in os.getloadavg()]},
        "versions": versions,
        "args": {"tuples": args.tuples, "rounds": args.rounds,
                 "rounds_done": len(runs["noop"]), "warmup": warmup, "cap_s": args.cap,
                 "budget_s": args.budget, "python": str(args.python),
                 "stopped_early": stopped},
        "variants": {name: {"samples_per_tuple": per_tuple[name],
                            "settings": VARIANTS[name][2],
                            **summarize(runs[name], latencies[name])} for name in names},
        "trickle": trickle,
        "ratios": {
            **{f"{name}_vs_{base}": round_ratios(runs[name], runs[base])
               for base in ("noop", "per-sample") for name in names
               if name not in ("noop", base)},
            "noop_spread": ratio(max(r["tuples_per_s"] for r in runs["noop"]),
                                 min(r["tuples_per_s"] for r in runs["noop"])),
        },
        "seconds": round(time.monotonic() - began, 1),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(report(result))
    print(f"\n{result['seconds']} s; written to {args.out}")
    capped = [name for name in names if any(r["capped"] for r in runs[name])]
    capped += ["trickle"] if trickle["capped"] else []
    if capped:
        print(f"bench: runs stopped at their wall-clock cap: {capped}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
