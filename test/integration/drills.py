"""What the lab's drills share: pillar changes as an operator makes them (a JSON document
the lab's pillar, test/pillar/lab_cluster6/overrides.sls, merges over the rest, present
only inside the ``with`` block; the real orchestrate then applies it like any pillar
edit), bounded waits, and the drills' figures (build/drills.md)."""

import contextlib
import json
import time


def wait(what, check, timeout=90, interval=2):
    """Poll ``check`` until it returns something true, at most ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        found = check()
        if found or time.monotonic() > deadline:
            assert found, f"not after {timeout}s: {what}"
            return found
        time.sleep(interval)


@contextlib.contextmanager
def pillar_overrides(data):
    from lab import config
    path = config.STATE_DIR / "pillar-overrides.json"
    path.write_text(json.dumps(data))
    try:
        yield path
    finally:
        path.unlink(missing_ok=True)


# Samples, and the tuples that carried them (each up to iris.spout.batch.size samples;
# Storm's own counters count tuples).
LEDGER_KEYS = ("emitted", "replayed", "acked", "failed", "given_up", "pending",
               "tuples_emitted", "tuples_replayed", "tuples_acked", "tuples_failed",
               "tuples_given_up", "tuples_pending")


def spout_ledger(lab, hosts, topology_id, pattern="/var/lib/storm/iris/spout-counts-*.json"):
    """The spout tasks' own counts (iris.spout.counts.path) for one topology, summed over
    its tasks wherever they run."""
    total = dict.fromkeys(LEDGER_KEYS, 0)
    tasks = 0
    for host in hosts:
        out = lab.exec(host, f'for f in {pattern}; do [ -f "$f" ] && cat "$f" && echo; '
                             "done; true").stdout
        for text in filter(None, out.splitlines()):
            ledger = json.loads(text)
            if ledger.get("topology") == topology_id:
                tasks += 1
                for key in LEDGER_KEYS:
                    total[key] += ledger[key]
    return dict(total, tasks=tasks)


def record_drill(name, **figures):
    """Keep one drill's figures in build/drills/<name>.json; build/drills.md is written from
    them at the end of the session (conftest.py), never asserted."""
    from lab import config
    out = config.REPO_ROOT / "build" / "drills"
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{name}.json").write_text(json.dumps(figures, indent=1, sort_keys=True) + "\n")


# The drills in the order: (name recorded, title, what must hold).
DRILLS = [
    ("zookeeper_leader_stopped", "1. ZooKeeper leader stopped under a bounded writer",
     "every acknowledged write readable on every member; the re-run heals"),
    ("zookeeper_rolling_restart", "2. ZooKeeper rolling restart by the orchestrate",
     "one member at a time, each serving before the next, the leader last, one election"),
    ("nimbus_killed", "3. Nimbus killed (kill -9)",
     "systemd brings it back, same topology ACTIVE, classification goes on"),
    ("supervisor_host_powered_off", "4. A supervisor host powered off",
     "Storm moves its worker, the stream goes on, no sample given up; a re-run absorbs "
     "its return"),
    ("supervisors_rolling_restart", "5. Supervisors' rolling restart by the orchestrate",
     "one at a time, worker processes kept, no tuple failed"),
    ("corrupt_model", "6. A corrupt model pushed to every worker",
     "refused on each, `current` kept, classifiers go on; a good one followed without "
     "resubmission"),
    ("host_down_mid_orchestrate", "7. A host down in the middle of the orchestrate",
     "the run stops naming step and host, daemons run what their disk says; a re-run "
     "converges"),
    ("idle_stream_rerun", "8. A re-run with an idle stream",
     "zero changes, passes; every sample emitted, acked and written once"),
    ("conda_spec_change", "9. A package added to the conda spec",
     "updated once, the package imports, the next run changes nothing"),
]
# Columns: title, how the figures fill it ("all": each key, " / " between; "first": the
# first key the drill recorded), and the keys.
COLUMNS = [
    ("writes attempted / acked / lost", "all",
     ("writes_attempted", "writes_acknowledged", "acknowledged_writes_lost")),
    ("s without leader / elections", "all", ("seconds_without_leader", "elections")),
    ("samples classified during", "first", ("samples_classified_meanwhile",
                                            "samples_classified_after_refusal")),
    ("tuples failed / replayed / lost", "all", ("tuples_failed", "tuples_replayed",
                                                "samples_given_up")),
    ("recovered in s", "first", ("seconds_until_nimbus_answers", "seconds_until_worker_moved",
                                 "rerun_s", "orchestrate_s", "good_version_followed_s",
                                 "update_s")),
]


def _cell(figures, mode, keys, used):
    present = [k for k in keys if k in figures]
    if not present:
        return "–"
    if mode == "first":
        present = present[:1]
        used.update(present)
        return str(figures[present[0]])
    used.update(present)
    return " / ".join(str(figures.get(k, "–")) for k in keys)


def write_drills_table():
    """build/drills.md: one row per drill recorded in this or an earlier run, in the
    issue's order, with the figures each recorded."""
    from lab import config
    out = config.REPO_ROOT / "build" / "drills"
    recorded = {p.stem: json.loads(p.read_text()) for p in sorted(out.glob("*.json"))}
    if not recorded:
        return None
    head = ["drill", "what held"] + [title for title, _, _ in COLUMNS] + ["other figures"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for name, title, held in DRILLS + [(n, n, "") for n in recorded if n not in
                                       {d[0] for d in DRILLS}]:
        if name not in recorded:
            continue
        figures, used = recorded[name], set()
        cells = [_cell(figures, mode, keys, used) for _, mode, keys in COLUMNS]
        rest = ", ".join(f"{k} {v}" for k, v in sorted(figures.items()) if k not in used)
        lines.append("| " + " | ".join([title, held, *cells, rest or "–"]) + " |")
    table = config.REPO_ROOT / "build" / "drills.md"
    table.write_text("# Drills (written by the lab tests; figures, never thresholds)\n\n"
                     + "\n".join(lines) + "\n")
    return table
