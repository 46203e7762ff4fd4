"""
IrisSpout: emits iris samples, batched: each tuple carries up to ``iris.spout.batch.size``
samples (irislib.batches), reliably.

Two sources:

* by default scikit-learn's bundled iris data set (``load_iris``, nothing downloaded),
  cycled through like streamparse's word-count example cycles its words: sample ids
  ``iris-000`` .. ``iris-149``, the true class name as label.  With several spout tasks
  each emits its share of the rows (row % tasks == task index);
* with ``iris.source.dir``, the JSON-lines files in that directory, each line
  ``{"id": ..., "features": [4 numbers], "label": optional}``, read once and followed as
  they grow (irislib.tail keeps the offsets in ``iris.source.state.dir``); a bad line is
  reported with the multilang ``log`` command and skipped.

A batch is emitted when it holds ``iris.spout.batch.size`` samples or when its oldest
sample has waited ``iris.spout.batch.ms`` (Storm calls ``next`` about every millisecond
when the spout has nothing to emit), so a trickle is not held back; batch size 1 is one
sample per tuple.  Every tuple carries a message id and stays pending until Storm acks
it; a failed one is emitted again, exactly its samples under the same id, before
anything new, at most ``iris.spout.max.replays`` times (every sample of a tuple has been
tried as often as the tuple), then its samples are given up with an error in the log.
At most ``iris.spout.max.pending`` samples are in flight per task (on top of Storm's
``topology.max.spout.pending``, which counts tuples), and ``iris.spout.rate`` caps the
samples taken per second.

Each task keeps its own ledger of what it did, exact where Storm's counters are sampled
(``topology.stats.sample.rate``) and bucketed: samples emitted for the first time,
replayed, acked, failed, given up and still pending, and the same for tuples
(``tuples_*``: Storm's own counters count tuples).  It is written to
``iris.spout.counts.path`` (``{task}`` is the task id) at most once a second when it
changed, so that every sample can be accounted for from outside::

    {"topology": "iris-3-1767...", "task": 7, "emitted": 45, "replayed": 0, "acked": 45,
     "failed": 0, "given_up": 0, "pending": 0, "tuples_emitted": 1, "tuples_acked": 1,
     ..., "time": 1767...}
"""

import json
import math
import os
import time
from collections import OrderedDict, deque

from irislib import settings
from irislib.batches import SPOUT_FIELDS
from irislib.tail import DirectoryTail
from streamparse import Spout

COUNTS = ("emitted", "replayed", "acked", "failed", "given_up", "tuples_emitted",
          "tuples_replayed", "tuples_acked", "tuples_failed", "tuples_given_up")
BAD_LINES_LOGGED = 10  # per file, one by one; then every 100th
SKIP_PER_CALL = 1000   # blank or bad lines passed over in one `next` at most


class IrisSpout(Spout):
    outputs = SPOUT_FIELDS

    @settings.report_startup_errors
    def initialize(self, storm_conf, context):
        self.settings = settings.read(storm_conf)
        self.index, self.count = settings.task_index(context)
        self.pending = OrderedDict()  # message id -> Batch
        self.pending_samples = 0      # samples in the pending batches
        self.replays = deque()        # message ids failed and waiting to be emitted again
        self.replaying = set()        # the same, for lookups
        self.forming = []             # (source id, sample) taken, not emitted yet
        self.forming_since = 0.0      # when the oldest of them was taken (monotonic)
        self.batch_size = self.settings["iris.spout.batch.size"]
        self.batch_age = self.settings["iris.spout.batch.ms"] / 1000.0
        self.max_pending = self.settings["iris.spout.max.pending"]
        self.max_replays = self.settings["iris.spout.max.replays"]
        self.rate = self.settings["iris.spout.rate"]
        # Token bucket: samples may be taken at `rate` per second; after an idle spell at
        # most `burst` (50 ms worth, and at least one) are taken at once.
        self.burst = max(1.0, self.rate * 0.05)
        self.tokens, self.filled = self.burst, time.monotonic()
        self.sequence = 0
        self.id_prefix = f"{self.task_id}-{time.time_ns() // 1000000:x}"
        self.bad_lines = {}
        self.counts = dict.fromkeys(COUNTS, 0)
        path = self.settings["iris.spout.counts.path"]
        self.counts_path = path.replace("{task}", str(self.task_id)) if path else None
        self.topology_id = storm_conf.get("storm.id")
        self.counts_written = (None, 0.0)  # (what, when)
        self.counts_error = -60.0          # when a failure to write it was last logged
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
        self.log(f"iris spout task {self.index + 1}/{self.count}: {where}; batches of "
                 f"{self.batch_size} samples or {self.settings['iris.spout.batch.ms']} ms, "
                 f"at most {self.max_pending} samples pending, rate "
                 f"{self.settings['iris.spout.rate'] or 'unlimited'} samples/s")

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
        self.position += 1
        if self.position == len(self.rows):
            self.position = 0
            self.cycle += 1
        return None, [sample_id, features, label]

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
        current = dict(self.counts, pending=self.pending_samples,
                       tuples_pending=len(self.pending))
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
            if self.counts_error + 60.0 <= now:
                self.counts_error = now
                self.log(f"cannot write the spout's counts to {self.counts_path}: {exc}",
                         level="warn")
        self.counts_written = (current, now)

    def next_tuple(self):
        self.write_counts()
        while self.replays:
            message_id = self.replays.popleft()
            self.replaying.discard(message_id)
            batch = self.pending.get(message_id)
            if batch is not None:
                self.counts["replayed"] += len(batch.samples)
                self.counts["tuples_replayed"] += 1
                self.emit([batch.samples], tup_id=message_id)
                return
        if self.tail is not None:
            self.tail.save()
        now = time.monotonic()
        self._take(now)
        if self.forming and (len(self.forming) >= self.batch_size
                             or now - self.forming_since >= self.batch_age):
            self._emit_batch()

    def _take(self, now):
        """Take samples from the source into the batch being formed, as far as the batch
        size, iris.spout.max.pending and iris.spout.rate allow."""
        room = min(self.batch_size - len(self.forming),
                   self.max_pending - self.pending_samples - len(self.forming))
        if self.rate:
            self.tokens = min(self.burst, self.tokens + (now - self.filled) * self.rate)
            self.filled = now
            room = min(room, int(self.tokens))
        taken_ms = None
        for _ in range(max(room, 0)):
            produced = self._from_source() if self.tail is not None else self._from_dataset()
            if produced is None:
                break
            if not self.forming:
                self.forming_since = now
            if taken_ms is None:
                taken_ms = round(time.time() * 1000.0, 3)
            source_id, (sample_id, features, label) = produced
            self.forming.append((source_id, [sample_id, features, label, taken_ms]))
            if self.rate:
                self.tokens -= 1

    def _emit_batch(self):
        forming, self.forming = self.forming, []
        self.sequence += 1
        message_id = f"{self.id_prefix}-{self.sequence}"
        batch = Batch([sample for _source, sample in forming],
                      [source for source, _sample in forming if source is not None])
        self.pending[message_id] = batch
        self.pending_samples += len(batch.samples)
        self.counts["emitted"] += len(batch.samples)
        self.counts["tuples_emitted"] += 1
        self.emit([batch.samples], tup_id=message_id)

    def _finished(self, message_id):
        batch = self.pending.pop(message_id, None)
        if batch is None:
            return
        self.pending_samples -= len(batch.samples)
        if self.tail is not None:
            for source_id in batch.sources:
                self.tail.done(source_id)
            self.tail.save()
        # A paused spout gets no `next`, only its acks and fails: the ledger is written
        # here too, at once when nothing is left in flight, so it shows the drained state.
        self.write_counts(force=not self.pending)

    def ack(self, tup_id):
        batch = self.pending.get(tup_id)
        if batch is None:
            return  # not ours any more (given up on, from before a restart), or acked
        self.counts["acked"] += len(batch.samples)
        self.counts["tuples_acked"] += 1
        self._finished(tup_id)

    def fail(self, tup_id):
        batch = self.pending.get(tup_id)
        if batch is None or tup_id in self.replaying:
            return  # not ours any more (given up on, from before a restart), or queued
        self.counts["failed"] += len(batch.samples)
        self.counts["tuples_failed"] += 1
        batch.replays += 1
        if 0 <= self.max_replays < batch.replays:
            ids = [sample[0] for sample in batch.samples]
            shown = ", ".join(ids[:5]) + (f" and {len(ids) - 5} more" if len(ids) > 5 else "")
            self.log(f"giving up on {len(ids)} sample(s) {shown} (message {tup_id}): "
                     f"failed {batch.replays} times", level="error")
            self.counts["given_up"] += len(batch.samples)
            self.counts["tuples_given_up"] += 1
            self._finished(tup_id)
            return
        self.replays.append(tup_id)
        self.replaying.add(tup_id)

    def deactivate(self):
        self.write_counts(force=True)
        if self.tail is not None:
            self.tail.save(force=True)


class Batch:
    """A tuple's samples, the source ids behind them (tail offsets) and its replays."""

    __slots__ = ("samples", "sources", "replays")

    def __init__(self, samples, sources):
        self.samples = samples
        self.sources = sources
        self.replays = 0


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
