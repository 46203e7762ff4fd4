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


def record_drill(name, **figures):
    """Keep one drill's figures in build/drills/<name>.json; build/drills.md is written from
    them at the end of the session (conftest.py), never asserted."""
    from lab import config
    out = config.REPO_ROOT / "build" / "drills"
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{name}.json").write_text(json.dumps(figures, indent=1, sort_keys=True) + "\n")


def write_drills_table():
    """build/drills.md: one row per drill recorded in this or an earlier run."""
    from lab import config
    found = sorted((config.REPO_ROOT / "build" / "drills").glob("*.json"))
    if not found:
        return None
    lines = ["| drill | figures |", "|---|---|"]
    for path in found:
        figures = json.loads(path.read_text())
        cells = ", ".join(f"{key} {value}" for key, value in sorted(figures.items()))
        lines.append(f"| {path.stem.replace('_', ' ')} | {cells} |")
    table = config.REPO_ROOT / "build" / "drills.md"
    table.write_text("# Drills (written by the lab tests; figures, never thresholds)\n\n"
                     + "\n".join(lines) + "\n")
    return table
