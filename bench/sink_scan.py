"""
Run on a supervisor host by bench/storm.py (``python -c <this file> ...``, standard
library only): the sink lines of one topology written in a time window.

    sink_scan.py PATTERN STATE T0 T1 CAP

PATTERN is the topology's ``iris.results.path`` with ``{task}`` as ``*``; STATE a JSON
file of the offsets read so far (so each call reads only what was appended since the
last); lines whose ``time`` (the sink's write time) falls in [T0, T1) (epoch seconds) are
counted.  Prints ``{"count", "lines_read", "step", "e2e_ms"}``: ``e2e_ms`` holds every
``step``-th ``end_to_end_ms`` of the counted lines, at most CAP of them.
"""

import datetime
import glob
import json
import os
import sys


def scan(pattern, state, t0, t1, cap):
    offsets = {}
    if os.path.exists(state):
        with open(state, encoding="utf-8") as handle:
            offsets = json.load(handle)
    count = read = 0
    values = []
    for path in sorted(glob.glob(pattern)):
        start = offsets.get(path, 0)
        if os.path.getsize(path) < start:  # replaced by a new file of the same name
            start = 0
        with open(path, "rb") as handle:
            handle.seek(start)
            for line in handle:
                if not line.endswith(b"\n"):  # being written: read it next time
                    break
                start += len(line)
                read += 1
                record = json.loads(line)
                when = datetime.datetime.fromisoformat(record["time"]).timestamp()
                if t0 <= when < t1:
                    count += 1
                    values.append(record["end_to_end_ms"])
        offsets[path] = start
    with open(state, "w", encoding="utf-8") as handle:
        json.dump(offsets, handle)
    step = max(1, -(-len(values) // cap))
    return {"count": count, "lines_read": read, "step": step, "e2e_ms": values[::step]}


if __name__ == "__main__":
    pattern, state, t0, t1, cap = sys.argv[1:6]
    print(json.dumps(scan(pattern, state, float(t0), float(t1), int(cap))))
