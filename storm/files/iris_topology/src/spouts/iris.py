"""
IrisSpout: emits iris samples as (sample_id, features, label), reliably.

Two sources:

* by default scikit-learn's bundled iris data set (``load_iris``, nothing downloaded),
  cycled through like streamparse's word-count example cycles its words: sample ids
  ``iris-000`` .. ``iris-149``, the true class name as label.  With several spout tasks
  each emits its share of the rows (row % tasks == task index);
* with ``iris.source.dir``, the JSON-lines files in that directory, each line
  ``{"id": ..., "features": [4 numbers], "label": optional}``, read once and followed as
  they grow (irislib.tail keeps the offsets in ``iris.source.state.dir``); a bad line is
  reported with the multilang ``log`` command and skipped.

Every tuple carries a message id and stays pending until Storm acks it; a failed one is
emitted again (same id, same values) before anything new, at most
``iris.spout.max.replays`` times, then given up with an error in the log.  At most
``iris.spout.max.pending`` samples are in flight per task (on top of Storm's
``topology.max.spout.pending``), and ``iris.spout.rate`` caps the tuples per second.

Each task keeps its own ledger of what it did, exact where Storm's counters are sampled
(``topology.stats.sample.rate``) and bucketed: samples emitted for the first time,
replays, acks, fails, samples given up, and what is still pending.  It is written to
``iris.spout.counts.path`` (``{task}`` is the task id) at most once a second when it
changed, so that every sample can be accounted for from outside::

    {"topology": "iris-3-1767...", "task": 7, "emitted": 45, "replayed": 0, "acked": 45,
     "failed": 0, "given_up": 0, "pending": 0, "time": 1767...}
"""

import json
import math
import os
import time
from collections import OrderedDict, deque

from irislib import settings
from irislib.tail import DirectoryTail
from streamparse import Spout

BAD_LINES_LOGGED = 10  # per file, one by one; then every 100th
SKIP_PER_CALL = 1000   # blank or bad lines passed over in one `next` at most


class IrisSpout(Spout):
    outputs = ["sample_id", "features", "label"]

    @settings.report_startup_errors
    def initialize(self, storm_conf, context):
        self.settings = settings.read(storm_conf)
        self.index, self.count = settings.task_index(context)
        self.pending = OrderedDict()  # message id -> [values, replays]
        self.replays = deque()        # message ids failed and waiting to be emitted again
        self.replaying = set()        # the same, for lookups
        self.max_pending = self.settings["iris.spout.max.pending"]
        self.max_replays = self.settings["iris.spout.max.replays"]
        rate = self.settings["iris.spout.rate"]
        self.interval = 1.0 / rate if rate > 0 else 0.0
        self.next_emit = 0.0
        self.bad_lines = {}
        self.counts = dict.fromkeys(("emitted", "replayed", "acked", "failed", "given_up"), 0)
        path = self.settings["iris.spout.counts.path"]
        self.counts_path = path.replace("{task}", str(self.task_id)) if path else None
        self.topology_id = storm_conf.get("storm.id")
        self.counts_written = (None, 0.0)  # (what, when)
        self.tail = None
        source = self.settings["iris.source.dir"]
        if source:
            family = f"{storm_conf.get('topology.name') or 'iris'}-{self.component_name}"
            self.tail = DirectoryTail(
                source, self.settings["iris.source.pattern"],
                self.settings["iris.source.state.dir"],
                f"{family.replace('/', '_').replace('-', '_')}-{self.index}.json",
                shard=(self.index, self.count),
                poll=self.settings["iris.source.poll.ms"] / 1000.0,
                report=lambda level, message: self.log(message, level=level))
            where = f"tailing {os.path.join(source, self.settings['iris.source.pattern'])}" \
                    f" (offsets in {self.tail.state_path})"
        else:
            from sklearn.datasets import load_iris

            iris = load_iris()
            names = [str(n) for n in iris.target_names]
            chosen, which = self._dataset_rows(len(iris.data))
            self.rows = [(f"iris-{i:03d}", [float(v) for v in iris.data[i]],
                          names[int(iris.target[i])])
                         for n, i in enumerate(chosen) if n % self.count == self.index]
            self.position = 0
            self.cycle = 0
            self.cycles = self.settings["iris.spout.cycles"]
            where = f"cycling through {len(self.rows)} {which} of sklearn's iris data set"
        self.log(f"iris spout task {self.index + 1}/{self.count}: {where}; at most "
                 f"{self.max_pending} pending, rate "
                 f"{self.settings['iris.spout.rate'] or 'unlimited'}/s")

    # ------------------------------------------------------------------ sources

    def _dataset_rows(self, total):
        """The row indices to cycle through, and what they are: with iris.spout.rows
        `held_out`, the rows the model in use never saw (its model.json lists them)."""
        if self.settings["iris.spout.rows"] == "all":
            return list(range(total)), "rows (all)"
        path = os.path.join(self.settings["iris.model.root"], self.settings["iris.model.name"],
                            "current", "model.json")
        try:
            with open(path, encoding="utf-8") as handle:
                rows = json.load(handle)["held_out"]["rows"]
            if not rows or not all(isinstance(r, int) and 0 <= r < total for r in rows):
                raise ValueError(f"held_out.rows {rows!r} are not rows of the data set")
        except (OSError, ValueError, KeyError, TypeError) as exc:
            self.log(f"{path} lists no held-out rows ({type(exc).__name__}: {exc}); cycling "
                     "through all rows, some of them the model's training rows", level="warn")
            return list(range(total)), "rows (all: the model lists no held-out rows)"
        return sorted(rows), "held-out rows (the model never saw them)"

    def _from_dataset(self):
        if self.cycles and self.cycle >= self.cycles:
            return None
        sample_id, features, label = self.rows[self.position]
        message_id = f"{sample_id}:{self.cycle}"
        self.position += 1
        if self.position == len(self.rows):
            self.position = 0
            self.cycle += 1
        return message_id, [sample_id, features, label]

    def _bad_line(self, where, reason):
        name = where.rsplit("@", 1)[0]
        count = self.bad_lines[name] = self.bad_lines.get(name, 0) + 1
        if count <= BAD_LINES_LOGGED or count % 100 == 0:
            self.log(f"skipped bad line {where}: {reason} ({count} bad lines in {name})",
                     level="warn")

    def _from_source(self):
        for _skipped in range(SKIP_PER_CALL):  # never stay long in one `next`
            line = self.tail.next_line()
            if line is None:
                return None
            message_id, where, raw = line
            if not raw.strip():
                self.tail.done(message_id)
                continue
            values, reason = parse_line(raw, where)
            if values is None:
                self.tail.done(message_id)
                self._bad_line(where, reason)
                continue
            return message_id, values
        return None

    # ------------------------------------------------------------------ Storm

    def write_counts(self, force=False):
        """The ledger to iris.spout.counts.path (atomically), at most once a second, and
        only when it changed.  A failure to write is logged once a minute, never fatal:
        the ledger is a report, the stream matters more."""
        if self.counts_path is None:
            return
        current = dict(self.counts, pending=len(self.pending))
        last, when = self.counts_written
        now = time.monotonic()
        if current == last or (not force and now - when < 1.0):
            return
        record = dict(current, topology=self.topology_id, task=self.task_id, time=time.time())
        tmp = f"{self.counts_path}.tmp"
        try:
            with open(tmp, "w", encoding="utf-8") as handle:
                json.dump(record, handle, sort_keys=True)
            os.replace(tmp, self.counts_path)
        except OSError as exc:
            if getattr(self, "counts_error", -60.0) + 60.0 <= now:
                self.counts_error = now
                self.log(f"cannot write the spout's counts to {self.counts_path}: {exc}",
                         level="warn")
        self.counts_written = (current, now)

    def next_tuple(self):
        self.write_counts()
        now = time.monotonic() if self.interval else 0.0
        if now < self.next_emit:
            return  # iris.spout.rate
        while self.replays:
            message_id = self.replays.popleft()
            self.replaying.discard(message_id)
            entry = self.pending.get(message_id)
            if entry is not None:
                self.counts["replayed"] += 1
                self._emit(message_id, entry[0], now)
                return
        if self.tail is not None:
            self.tail.save()
        if len(self.pending) >= self.max_pending:
            return
        produced = self._from_source() if self.tail is not None else self._from_dataset()
        if produced is None:
            return
        message_id, values = produced
        self.pending[message_id] = [values, 0]
        self.counts["emitted"] += 1
        self._emit(message_id, values, now)

    def _emit(self, message_id, values, now):
        self.emit(values, tup_id=message_id)
        if self.interval:
            # One tuple per interval; after an idle spell at most one catches up.
            self.next_emit = max(self.next_emit, now - self.interval) + self.interval

    def _finished(self, message_id):
        self.pending.pop(message_id, None)
        if self.tail is not None:
            self.tail.done(message_id)
            self.tail.save()

    def ack(self, tup_id):
        if tup_id in self.pending:
            self.counts["acked"] += 1
        self._finished(tup_id)

    def fail(self, tup_id):
        entry = self.pending.get(tup_id)
        if entry is None or tup_id in self.replaying:
            return  # not ours any more (given up on, from before a restart), or queued
        self.counts["failed"] += 1
        entry[1] += 1
        if 0 <= self.max_replays < entry[1]:
            self.log(f"giving up on sample {entry[0][0]} (message {tup_id}): failed "
                     f"{entry[1]} times", level="error")
            self.counts["given_up"] += 1
            self._finished(tup_id)
            return
        self.replays.append(tup_id)
        self.replaying.add(tup_id)

    def deactivate(self):
        self.write_counts(force=True)
        if self.tail is not None:
            self.tail.save(force=True)


def parse_line(raw, where):
    """(values, None) for a good source line, (None, reason) for a bad one."""
    try:
        record = json.loads(raw)
    except (UnicodeDecodeError, ValueError) as exc:
        return None, f"not JSON ({exc})"
    if not isinstance(record, dict):
        return None, "not a JSON object"
    features = record.get("features")
    if not isinstance(features, list) or len(features) != 4:
        return None, "'features' must be a list of 4 numbers"
    try:
        numbers = [float(v) for v in features
                   if not isinstance(v, bool) and isinstance(v, int | float)]
    except OverflowError:
        numbers = []
    if len(numbers) != 4 or not all(math.isfinite(v) for v in numbers):
        return None, f"'features' must be 4 finite numbers, got {features!r}"[:200]
    sample_id = record.get("id", where)
    if isinstance(sample_id, bool) or not isinstance(sample_id, str | int):
        return None, f"'id' must be a string or an integer, got {sample_id!r}"
    label = record.get("label")
    if label is not None and not isinstance(label, str):
        return None, f"'label' must be a string or null, got {label!r}"
    return [str(sample_id), numbers, label], None
