#!/usr/bin/env python3
"""
The iris topology end to end through real Apache Storm, in the lab's six-host cluster
(test/lab_topologies/cluster6.yaml: three ZooKeeper hosts, nimbus, two supervisors, each
its own systemd host), brought up by the real orchestrate.

1. Orchestration: the cold orchestrate on fresh hosts, timed per step, against the
   services' readiness critical path (the steps that only wait for services the previous
   steps started: the ZooKeeper quorum, the nimbus leader, the supervisors registered,
   the topology ACTIVE, its first predictions); then a repeated run, its time and the
   states it changed.
2. Four topologies from the bundled project, submitted by the orchestrate from a pillar
   change (the lab's overrides, as the drills make them), one worker each:
   ``bench-per-tuple`` (the original example's design: one sample per tuple, one predict
   per sample: ``iris.spout.batch.size`` 1, ``iris.batch.size`` 1), ``bench-bundled``
   (the bundled defaults), both with the spout unthrottled, and ``bench-bundled-100``,
   ``bench-bundled-1000`` (the bundled defaults at 100 and 1,000 samples/s offered).
   All are deactivated, then resumed one at a time for a window (``--ramp`` s, then
   ``--window`` s measured), in interleaved rounds, so that the machine's noise falls on
   every design alike.  Per window: samples/s counted at the sink (lines whose write time
   is in the window), the sink's ``end_to_end_ms`` p50/p99 (spout taking the sample to
   the sink's write), and the cores each group of processes used.
3. The cross-check: with everything paused and drained, per topology the sink's lines,
   the spout's ledger and Nimbus's acked and failed counts (getTopologyInfo).

Needs the lab (root, systemd-nspawn; `make setup`), and the machine to itself: `lab up`
removes a running lab first.  Writes build/bench/storm.json; the lab is left up with the
bench topologies paused (`make down` removes it).  bench/run.py runs this with the other
benches and writes build/bench/results.json.
"""

import argparse
import datetime
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO / "test"), str(REPO / "test/integration"), str(REPO / "bench")]

import lab_cpu  # noqa: E402
import orchestrate  # noqa: E402
from cluster_setup import prepare  # noqa: E402
from drills import LEDGER_KEYS, pillar_overrides, spout_ledger, wait  # noqa: E402
from lab import Lab  # noqa: E402

TOPOLOGY = REPO / "test/lab_topologies/cluster6.yaml"
OUT = REPO / "build/bench/storm.json"
NIMBUS, NIMBUS_PORT = "10.77.0.21", 6627
SUPERVISORS = ("sup1", "sup2")
PYTHON = "/opt/conda/envs/storm-worker/bin/python"
READINESS = ("zookeeper-quorum", "nimbus-leader", "supervisors-registered",
             "topology-active", "predictions")
BENCH_DIR = "/var/lib/storm/bench"
PER_TUPLE = {"iris.spout.batch.size": 1, "iris.spout.batch.ms": 0, "iris.batch.size": 1}
# name -> (the design, iris.spout.rate: samples/s offered, 0 = unthrottled)
DESIGNS = {
    "bench-per-tuple": (PER_TUPLE, 0),
    "bench-bundled": ({}, 0),
    "bench-bundled-100": ({}, 100),
    "bench-bundled-1000": ({}, 1000),
}
E2E_CAP = 50000  # end_to_end_ms values a host returns per window (evenly thinned)


def progress(began, text):
    print(f"[bench storm {time.monotonic() - began:6.0f} s] {text}", file=sys.stderr,
          flush=True)


def bench_pillar():
    """The pillar change: iris off, the four bench topologies on, one worker each, each
    writing (never rotating) its own files."""
    topologies = {"iris": {"enabled": False}}
    for name, (design, rate) in DESIGNS.items():
        where = f"{BENCH_DIR}/{name}"
        topologies[name] = {
            "enabled": True, "project": "salt://storm/files/iris_topology",
            "definition": "iris", "virtualenv": "/opt/conda/envs/storm-worker",
            "model": "iris", "workers": 1,
            "kill_wait": 2,
            "worker_dirs": [where],
            "options": {"iris.model.root": "/srv/models", "iris.model.name": "iris",
                        "iris.results.path": f"{where}/predictions-{{task}}.jsonl",
                        "iris.results.max.bytes": 0,
                        "iris.spout.counts.path": f"{where}/spout-counts-{{task}}.json",
                        "iris.spout.rate": rate, "iris.sink.report.secs": 0,
                        "iris.parallelism.spout": 1, "iris.parallelism.classifier": 2,
                        "iris.parallelism.sink": 2, **design}}
    return {"storm": {"topologies": topologies}}


class Bench:
    def __init__(self, lab, began):
        self.lab = lab
        self.began = began
        self.scan = (REPO / "bench/sink_scan.py").read_text()
        self.ctl = (REPO / "bench/nimbus_ctl.py").read_text()

    def nimbus(self, op, *names):
        out = self.lab.exec("nimbus1", [PYTHON, "-c", self.ctl, NIMBUS, str(NIMBUS_PORT),
                                        op, *names]).stdout
        return json.loads(out)

    def topology(self, name):
        found = self.lab.salt("nimbus1", "storm_nimbus.topology", NIMBUS, name,
                              timeout=60)
        return (found or {}).get("nimbus1")

    def sink_lines(self, name, t0, t1):
        """{count, values, weights} of the sink lines written in [t0, t1) on both hosts."""
        count, values = 0, []
        for host in SUPERVISORS:
            out = self.lab.exec(host, [PYTHON, "-c", self.scan,
                                       f"{BENCH_DIR}/{name}/predictions-*.jsonl",
                                       f"/tmp/bench-scan-{name}.json", str(t0), str(t1),
                                       str(E2E_CAP)], timeout=300).stdout
            found = json.loads(out)
            count += found["count"]
            values += [(v, found["step"]) for v in found["e2e_ms"]]
        return count, values

    def window(self, name, ramp, seconds, drain):
        self.nimbus("activate", name)
        time.sleep(ramp)
        t0, cpu0 = time.time(), lab_cpu.snapshot()
        time.sleep(seconds)
        t1, cpu1 = time.time(), lab_cpu.snapshot()
        self.nimbus("deactivate", name)
        time.sleep(drain)
        count, values = self.sink_lines(name, t0, t1)
        return {
            "seconds": round(t1 - t0, 2),
            "samples": count,
            "samples_per_s": round(count / (t1 - t0), 1),
            "e2e_ms_p50": weighted_percentile(values, 50),
            "e2e_ms_p99": weighted_percentile(values, 99),
            "e2e_ms_max": max((v for v, _w in values), default=None),
            "cores": lab_cpu.cores(cpu0, cpu1, t1 - t0, self.ids[name]),
        }

    def snapshot(self, name, timeout, floor=0):
        """Sink lines, the spout's ledger and Nimbus's counts of a paused topology once its
        ledger shows nothing pending; Nimbus's counts are polled until they reach the
        ledger's tuples acked (its metrics lag), at most ``timeout`` s; not at all when the
        ledger has acked no more tuples than ``floor`` (the baseline's: nothing new)."""
        topology_id = self.ids[name]
        pattern = f"{BENCH_DIR}/{name}/spout-counts-*.json"
        ledger = wait(f"{name}: nothing pending",
                      lambda: (lambda led: led if led["pending"] == 0 else None)(
                          spout_ledger(self.lab, SUPERVISORS, topology_id, pattern)),
                      timeout=120, interval=3)
        lines = sum(int(self.lab.exec(h, f"cat {BENCH_DIR}/{name}/predictions-*.jsonl "
                                         "2>/dev/null | wc -l").stdout) for h in SUPERVISORS)
        deadline = time.monotonic() + timeout
        while True:
            info = self.topology(name) or {}
            acked = {c: info.get("components", {}).get(c, {}).get("acked", 0)
                     for c in ("iris_spout", "sink")}
            failed = sum(c.get("failed", 0) for c in info.get("components", {}).values())
            if acked["iris_spout"] >= ledger["tuples_acked"] or \
                    ledger["tuples_acked"] <= floor or time.monotonic() > deadline:
                break
            time.sleep(5)
        found = {"sink_lines": lines, "ledger": {k: ledger[k] for k in LEDGER_KEYS},
                 "nimbus_spout_acked_tuples": acked["iris_spout"],
                 "nimbus_sink_acked_tuples": acked["sink"], "nimbus_failed": failed,
                 "executors_uptime_s": min((e["uptime_secs"] for e in
                                            info.get("executors", [])), default=None)}
        return found

    def cross_check(self, name, baseline, timeout):
        """What the windows added, from the baseline taken when all were first paused (a
        worker Storm relaunched before that starts its counts anew while the sink's file
        keeps the old lines): lines = samples acked, Nimbus's spout acked = the ledger's
        tuples acked, nothing failed.  A relaunch during the windows shows as a smaller
        executors_uptime_s and a disagreement."""
        after = self.snapshot(name, timeout, baseline["ledger"]["tuples_acked"])
        delta = {"sink_lines": after["sink_lines"] - baseline["sink_lines"],
                 "samples_acked": after["ledger"]["acked"] - baseline["ledger"]["acked"],
                 "tuples_acked": (after["ledger"]["tuples_acked"]
                                  - baseline["ledger"]["tuples_acked"]),
                 "nimbus_spout_acked_tuples": (after["nimbus_spout_acked_tuples"]
                                               - baseline["nimbus_spout_acked_tuples"]),
                 "failed": (after["nimbus_failed"] + after["ledger"]["failed"]
                            - baseline["nimbus_failed"] - baseline["ledger"]["failed"])}
        agree = (delta["sink_lines"] == delta["samples_acked"]
                 and delta["nimbus_spout_acked_tuples"] == delta["tuples_acked"]
                 and delta["failed"] == 0)
        return dict(after, baseline=baseline, windows_added=delta, agree=agree)


def weighted_percentile(pairs, pct):
    """Nearest-rank percentile of (value, weight) pairs, or None."""
    if not pairs:
        return None
    ordered = sorted(pairs)
    total = sum(w for _v, w in ordered)
    rank, seen = pct / 100.0 * total, 0
    for value, weight in ordered:
        seen += weight
        if seen >= rank:
            return round(value, 1)
    return round(ordered[-1][0], 1)


def orchestrate_figures(lab, began):
    progress(began, "cold orchestrate (fresh hosts)")
    cold = orchestrate.run(lab, timeout=1800)
    if not cold.ok:
        raise SystemExit(f"bench: the cold orchestrate failed:\n{cold.describe()[-4000:]}")
    wall = json.loads(sorted((REPO / "build/timings").glob("orchestrate-*.json"))[-1]
                      .read_text())["wall_s"]
    steps = cold.durations()
    ready = {s: v for s, v in steps.items() if any(k in s for k in READINESS)}
    progress(began, f"cold orchestrate {wall} s; repeating it")
    started = time.monotonic()
    rerun = orchestrate.run(lab, timeout=1800)
    rerun_s = round(time.monotonic() - started, 1)
    if not rerun.ok:
        raise SystemExit(f"bench: the repeated orchestrate failed:\n{rerun.describe()[-4000:]}")
    critical = round(sum(ready.values()), 1)
    return {"cold_s": wall, "steps_s": steps, "readiness_steps_s": ready,
            "critical_path_s": critical,
            "cold_vs_critical_path": round(wall / critical, 2) if critical else None,
            "rerun_s": rerun_s, "rerun_changes": len(rerun.changed_states()),
            "rerun_changed": [list(map(str, c)) for c in rerun.changed_states()][:20],
            "rerun_vs_cold": round(rerun_s / wall, 2)}


def median_ratio(windows_a, windows_b):
    values = [round(a["samples_per_s"] / b["samples_per_s"], 2)
              for a, b in zip(windows_a, windows_b, strict=False) if b["samples_per_s"]]
    return {"median": round(statistics.median(values), 2) if values else None,
            "min": min(values, default=None), "max": max(values, default=None),
            "rounds": values}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--window", type=float, default=20.0, help="seconds measured")
    parser.add_argument("--ramp", type=float, default=10.0,
                        help="seconds after resuming a topology before its window")
    parser.add_argument("--drain", type=float, default=3.0,
                        help="seconds after pausing one before the next is resumed")
    parser.add_argument("--reuse", action="store_true",
                        help="use the running six-host lab (no orchestration figures)")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    if args.rounds < 1 or args.window <= 0 or args.ramp < 0 or args.drain < 0:
        parser.error("need --rounds >= 1, --window > 0, --ramp and --drain >= 0")
    if os.geteuid() != 0:
        raise SystemExit("bench: the lab needs root (systemd-nspawn)")
    began = time.monotonic()
    loadavg_before = [round(x, 2) for x in os.getloadavg()]
    if args.reuse:
        lab = Lab.from_state()
        figures = None
    else:
        progress(began, "bringing the six-host lab up (fresh hosts)")
        lab = Lab(str(TOPOLOGY)).up()
        prepare(lab)
        figures = orchestrate_figures(lab, began)
    bench = Bench(lab, began)
    names = list(DESIGNS)
    with pillar_overrides(bench_pillar()):
        if (bench.topology("iris") or {}).get("id"):
            progress(began, "killing iris (its slots go to the bench topologies)")
            bench.nimbus("kill", "iris")
            wait("iris gone", lambda: bench.topology("iris") is None, timeout=120)
        # A paused topology fails the submit state (paused on purpose, it says), and
        # resuming them all at once, unthrottled, starves the orchestrate of CPU: a reused
        # lab's bench topologies are killed instead, and the orchestrate submits them anew.
        left = [n for n in names if bench.topology(n)]
        if left:
            progress(began, f"killing {', '.join(left)} (left by an earlier run)")
            bench.nimbus("kill", *left)
            wait("bench topologies gone", lambda: not any(bench.topology(n) for n in left),
                 timeout=180)
        progress(began, "orchestrate with the bench pillar: four topologies, one worker each")
        submit = orchestrate.run(lab, timeout=1800)
        if not submit.ok:
            raise SystemExit(f"bench: the orchestrate failed:\n{submit.describe()[-4000:]}")
    bench.nimbus("deactivate", *names)
    bench.ids = {name: bench.topology(name)["id"] for name in names}
    progress(began, "paused; counting what is there before the windows")
    baselines = {name: bench.snapshot(name, timeout=150) for name in names}
    windows = {name: [] for name in names}
    try:
        for number in range(args.rounds):
            for name in names:
                progress(began, f"round {number + 1}/{args.rounds}: {name}")
                windows[name].append(bench.window(name, args.ramp, args.window, args.drain))
                w = windows[name][-1]
                progress(began, f"  {w['samples_per_s']:.0f} samples/s, e2e p50 "
                                f"{w['e2e_ms_p50']} p99 {w['e2e_ms_p99']} ms, {w['cores']}")
    finally:
        bench.nimbus("deactivate", *names)
    progress(began, "cross-check: sink lines, spout ledgers, Nimbus's counts")
    checks = {name: bench.cross_check(name, baselines[name], timeout=150) for name in names}

    def summary(name):
        ws = windows[name]
        return {"samples_per_s": statistics.median(w["samples_per_s"] for w in ws),
                "e2e_ms_p50": statistics.median(w["e2e_ms_p50"] for w in ws
                                                if w["e2e_ms_p50"] is not None),
                "e2e_ms_p99": max(w["e2e_ms_p99"] for w in ws
                                  if w["e2e_ms_p99"] is not None),
                "windows": ws, "check": checks[name]}

    per = {name: summary(name) for name in names}
    ratio = median_ratio(windows["bench-bundled"], windows["bench-per-tuple"])
    result = {
        "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": {"host": platform.node(), "cpus": os.cpu_count(),
                    "platform": platform.platform(), "loadavg_before": loadavg_before,
                    "loadavg_after": [round(x, 2) for x in os.getloadavg()]},
        "args": {"rounds": args.rounds, "window_s": args.window, "ramp_s": args.ramp,
                 "drain_s": args.drain, "reuse": args.reuse},
        "designs": {name: {"settings": design, "offered_per_s": rate or None}
                    for name, (design, rate) in DESIGNS.items()},
        "topologies": per,
        "bundled_vs_per_tuple": ratio,
        "orchestrate": figures,
        "seconds": round(time.monotonic() - began, 1),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1) + "\n")
    for name in names:
        p = per[name]
        print(f"{name:<20} {p['samples_per_s']:>9.0f} samples/s  e2e p50 {p['e2e_ms_p50']} "
              f"p99 {p['e2e_ms_p99']} ms  agree {p['check']['agree']}")
    print(f"bundled vs per-tuple: {ratio}")
    if figures:
        print(f"orchestrate: cold {figures['cold_s']} s, critical path "
              f"{figures['critical_path_s']} s, rerun {figures['rerun_s']} s with "
              f"{figures['rerun_changes']} change(s)")
    print(f"written to {args.out}")
    return 0 if all(c["agree"] for c in checks.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
