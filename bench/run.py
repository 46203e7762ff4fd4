#!/usr/bin/env python3
"""
`make bench`: every benchmark in one run, then build/bench/results.json and
build/bench/results.md (the table the README shows).

    bench/run.py [--skip-storm] [--readme]

Runs bench/classifier.py (one bolt over the multilang protocol), bench/model_memory.py
(the model's memory over K processes) and bench/storm.py (the lab's Storm: orchestration,
end-to-end samples/s and latency), each writing its own JSON in build/bench/, and collects
the figures the targets are about.  ``--readme`` copies the table into README.md between
its ``<!-- bench -->`` markers.  A figure that misses its target is shown as missed;
nothing here fails on a number (the exit code is the benches' own).
"""

import argparse
import datetime
import json
import os
import platform
import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
OUT = REPO / "build/bench"
START, END = "<!-- bench -->", "<!-- /bench -->"


def run(argv):
    print(f"bench: {' '.join(map(str, argv))}", file=sys.stderr, flush=True)
    return subprocess.run([sys.executable, *map(str, argv)], cwd=REPO, check=False).returncode


def load(name):
    path = OUT / name
    return json.loads(path.read_text()) if path.is_file() else None


def versions():
    found = {"python": platform.python_version()}
    try:
        java = subprocess.run(["java", "-version"], capture_output=True, text=True,
                              check=False).stderr.splitlines()
        found["java"] = java[0] if java else None
    except OSError:
        found["java"] = None
    classifier = load("classifier.json") or {}
    found.update(classifier.get("versions") or {})
    found["storm"] = os.environ.get("STORM_VERSION", "2.8.3")
    return found


def collect():
    storm = load("storm.json") or {}
    memory = load("memory.json") or {}
    classifier = load("classifier.json") or {}
    tops = storm.get("topologies") or {}

    def top(name, key):
        return (tops.get(name) or {}).get(key)

    checks = [t.get("check") or {} for t in tops.values()]
    orch = storm.get("orchestrate") or {}
    results = {
        "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": {"host": platform.node(), "cpus": os.cpu_count(),
                    "platform": platform.platform(),
                    "memory_gib": round(os.sysconf("SC_PAGE_SIZE")
                                        * os.sysconf("SC_PHYS_PAGES") / 2**30, 1)},
        "versions": versions(),
        "storm.per_tuple_sps": top("bench-per-tuple", "samples_per_s"),
        "storm.bundled_sps": top("bench-bundled", "samples_per_s"),
        "storm.bundled_vs_per_tuple": (storm.get("bundled_vs_per_tuple") or {}).get("median"),
        "storm.bundled_p50_ms_at_100": top("bench-bundled-100", "e2e_ms_p50"),
        "storm.bundled_p99_ms_at_100": top("bench-bundled-100", "e2e_ms_p99"),
        "storm.bundled_p50_ms_at_1000": top("bench-bundled-1000", "e2e_ms_p50"),
        "storm.bundled_p99_ms_at_1000": top("bench-bundled-1000", "e2e_ms_p99"),
        "storm.per_tuple_p99_ms": top("bench-per-tuple", "e2e_ms_p99"),
        "storm.acked": sum(c.get("nimbus_spout_acked_tuples", 0) for c in checks) or None,
        "storm.failed": (sum(c.get("nimbus_failed", 0) for c in checks) if checks else None),
        "storm.counts_agree": all(c.get("agree") for c in checks) if checks else None,
        "memory.mmap_pss_ratio_k8": memory.get("memory.mmap_pss_ratio_k8"),
        "memory.plain_pss_ratio_k8": memory.get("memory.plain_pss_ratio_k8"),
        "orchestrate.cold_s": orch.get("cold_s"),
        "orchestrate.critical_path_s": orch.get("critical_path_s"),
        "orchestrate.rerun_s": orch.get("rerun_s"),
        "orchestrate.rerun_changes": orch.get("rerun_changes"),
        "bolt.bundled_vs_per_sample": ((classifier.get("ratios") or {})
                                       .get("bundled_vs_per-sample") or {}).get("median"),
    }
    return results


def _ratio(a, b):
    return round(a / b, 2) if a is not None and b else None


def table(r):
    """The markdown table: figure, value, target, met."""
    def row(name, value, target, ok):
        met = "–" if ok is None else ("yes" if ok else "**missed**")
        return f"| {name} | {'–' if value is None else value} | {target} | {met} |"

    speedup = r["storm.bundled_vs_per_tuple"]
    p99 = r["storm.bundled_p99_ms_at_1000"]
    cold = _ratio(r["orchestrate.cold_s"], r["orchestrate.critical_path_s"])
    rerun = _ratio(r["orchestrate.rerun_s"], r["orchestrate.cold_s"])
    mmap = r["memory.mmap_pss_ratio_k8"]
    rows = [
        "| figure | value | target | met |",
        "|---|---|---|---|",
        row("end-to-end samples/s, per-tuple design (original example)",
            r["storm.per_tuple_sps"], "baseline", None),
        row("end-to-end samples/s, bundled topology", r["storm.bundled_sps"], "", None),
        row("bundled / per-tuple (median of per-round ratios)", speedup, ">= 15",
            None if speedup is None else speedup >= 15),
        row("end-to-end p50 / p99 ms at 100 samples/s",
            f"{r['storm.bundled_p50_ms_at_100']} / {r['storm.bundled_p99_ms_at_100']}", "",
            None),
        row("end-to-end p50 / p99 ms at 1,000 samples/s",
            f"{r['storm.bundled_p50_ms_at_1000']} / {p99}", "p99 < 50",
            None if p99 is None else p99 < 50),
        row("tuples acked / failed (Nimbus)", f"{r['storm.acked']} / {r['storm.failed']}",
            "0 failed", None if r["storm.failed"] is None else r["storm.failed"] == 0),
        row("sink lines = spout ledger = Nimbus's acked", r["storm.counts_agree"], "agree",
            r["storm.counts_agree"]),
        row("model memory at K = 8, mapped / loaded (x one copy)",
            f"{mmap} / {r['memory.plain_pss_ratio_k8']}", "mapped <= 1.1",
            None if mmap is None else mmap <= 1.1),
        row("cold orchestrate s / readiness critical path s",
            f"{r['orchestrate.cold_s']} / {r['orchestrate.critical_path_s']} ({cold}x)",
            "<= 1.5x", None if cold is None else cold <= 1.5),
        row("repeated orchestrate s (x cold), changes",
            f"{r['orchestrate.rerun_s']} ({rerun}x), {r['orchestrate.rerun_changes']}",
            "<= 0.25x, 0", None if rerun is None else
            rerun <= 0.25 and r["orchestrate.rerun_changes"] == 0),
    ]
    m, v = r["machine"], r["versions"]
    head = (f"{r['date']}, host `{m['host']}`: {m['cpus']} cpus, {m['memory_gib']} GiB, "
            f"{m['platform']}; Storm {v.get('storm')}, {v.get('java')}, Python "
            f"{v.get('python')}, scikit-learn {v.get('sklearn')}, streamparse "
            f"{v.get('streamparse')}")
    return head + "\n\n" + "\n".join(rows) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--skip-storm", action="store_true",
                        help="only the benches that need no lab")
    parser.add_argument("--readme", action="store_true",
                        help="copy the table into README.md")
    args = parser.parse_args(argv)
    codes = [run(["bench/classifier.py"]), run(["bench/model_memory.py"])]
    if not args.skip_storm:
        codes.append(run(["bench/storm.py"]))
    results = collect()
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "results.json").write_text(json.dumps(results, indent=1) + "\n")
    text = table(results)
    (OUT / "results.md").write_text(text)
    print(text)
    if args.readme:
        readme = REPO / "README.md"
        body = readme.read_text()
        if START not in body or END not in body:
            sys.exit(f"README.md has no {START} ... {END} markers")
        readme.write_text(re.sub(re.escape(START) + ".*?" + re.escape(END),
                                 lambda _: f"{START}\n{text}{END}", body, flags=re.S))
    print(f"written to {OUT / 'results.json'} and {OUT / 'results.md'}")
    return max(codes)


if __name__ == "__main__":
    sys.exit(main())
