"""
ClassifierBolt: classifies batches of iris samples with the scikit-learn model.

Input (from the spout, irislib.batches): ``samples``, a list of
``[sample_id, features, label, taken_ms]``.
Output: ``shard``, ``results``: for every input tuple, one tuple per sink shard its
samples fall in, each result ``[sample_id, features, prediction, model_version,
latency_ms, label, taken_ms]``, anchored to the input; the input is acked right after its
outputs were emitted.  A tuple with a sample that is not 4 finite numbers is failed as a
whole (the spout validates what it emits, so this is another producer's bug; the spout
replays it and gives it up after its replay limit), and reported.

The model is ``<iris.model.root>/<iris.model.name>/current/model.joblib``, loaded once
per process with ``joblib.load(path, mmap_mode='r')``: its arrays are mapped from the
page cache, one copy for every worker process on the host.  ``current`` is read at most
once per ``iris.model.check.ms`` (1 s); when it points at another version, that version
is loaded and checked (sha256 against model.json, its recorded samples predicted) and
only then used, without restarting anything.  A version that does not load is reported
with Storm's ``error`` command and the model in use stays; with no usable model at all
every tuple is failed (the spout replays it) until one appears.

Batching: the samples of the tuples waiting are predicted with one ``predict`` call.  A
batch goes when it holds ``iris.batch.size`` samples, or as soon as no more input is
waiting in the pipe from Storm (irislib.pipe), so a lone tuple is not held back, or when
its oldest tuple has waited ``iris.batch.timeout.ms`` while input kept coming.  A tuple's
samples are never split between two predict calls.  The tick tuple
(``topology.tick.tuple.freq.secs`` 1, set for this bolt by the topology) lets an idle
bolt notice a new model.
"""

import math
import time
import traceback

from irislib import batches, pipe, settings
from irislib.model import ModelHolder
from pystorm.exceptions import StormWentAwayError
from streamparse import Bolt

REPORT_EVERY = 30.0  # seconds between repeats of the same error report


class ClassifierBolt(Bolt):
    outputs = batches.CLASSIFIER_FIELDS
    auto_ack = False
    auto_anchor = False
    auto_fail = False

    @settings.report_startup_errors
    def initialize(self, storm_conf, context):
        import numpy

        self.numpy = numpy
        self.settings = settings.read(storm_conf)
        self.batch_size = self.settings["iris.batch.size"]
        self.timeout = self.settings["iris.batch.timeout.ms"] / 1000.0
        self.batch = []          # (tuple, arrival time, its samples' features)
        self.waiting = 0         # samples in self.batch
        self.shards = batches.sink_shards(context, self.settings["iris.parallelism.sink"])
        self.reader = pipe.install(self)
        self.reported = {}       # report key -> time of the last report
        self.processed = 0
        self.holder = ModelHolder(self.settings["iris.model.root"],
                                  self.settings["iris.model.name"],
                                  check=self.settings["iris.model.check.ms"] / 1000.0)
        self._refresh(force=True)
        idle = ("as soon as no input is waiting" if self.reader else
                "on the next tick (the input pipe cannot be watched)")
        self.log(f"classifier: batches of {self.batch_size} samples, or {idle}, or after "
                 f"{self.settings['iris.batch.timeout.ms']} ms; {self.shards} sink "
                 f"shard(s); model link {self.holder.link}")

    # ------------------------------------------------------------------ reporting

    def _report(self, key, message, now=None):
        """Send ``message`` as a Storm error (and a log line), at most every REPORT_EVERY
        seconds per key."""
        now = time.monotonic() if now is None else now
        last = self.reported.get(key)
        if last is not None and now - last < REPORT_EVERY:
            return
        self.reported[key] = now
        self.send_message({"command": "error", "msg": message})
        self.log(message, level="error")

    def _refresh(self, force=False):
        event, detail = self.holder.refresh(force)
        if event == "loaded":
            self.reported.pop("model", None)
            mapped = ", ".join(detail.mapped) or "nothing"
            self.log(f"model {detail.version} in use: {detail.path} (memory-mapped: {mapped})")
            if not detail.mapped:
                self.log(f"model {detail.version} is not memory-mapped (compressed dump?): "
                         "each worker process holds its own copy", level="warn")
            for warning in detail.warnings:
                self.log(f"model {detail.version}: {warning}", level="warn")
        elif event == "failed":
            keep = (f"; still using {self.holder.model.version}" if self.holder.model
                    else "; no model in use, failing tuples")
            self.reported.pop("model", None)
            self._report("model", detail + keep)

    # ------------------------------------------------------------------ batches

    def _flush(self):
        batch, self.batch, self.waiting = self.batch, [], 0
        if not batch:
            return
        self._refresh()
        model = self.holder.model
        if model is None:
            for tup, _arrived, _rows in batch:
                self.fail(tup)
            self._report("nomodel", f"no model in use ({self.holder.error}): failed "
                                    f"{len(batch)} tuple(s)")
            return
        rows = [row for _tup, _arrived, features in batch for row in features]
        try:
            predictions = model.predict(self.numpy.asarray(rows, dtype=self.numpy.float64))
            if len(predictions) != len(rows):
                raise ValueError(f"{len(predictions)} predictions for {len(rows)} rows")
        except Exception as exc:
            for tup, _arrived, _rows in batch:
                self.fail(tup)
            self._report(f"predict:{type(exc).__name__}",
                         f"model {model.version}: predict failed for {len(rows)} sample(s) "
                         f"of {len(batch)} tuple(s), failed them: {type(exc).__name__}: "
                         f"{exc}\n{traceback.format_exc(limit=4)}")
            return
        done = time.monotonic()
        version = model.version
        messages = []
        position = 0
        for tup, arrived, features in batch:
            latency = round((done - arrived) * 1000.0, 3)
            shards = {}
            for sample, row in zip(tup.values[0], features, strict=True):
                prediction = str(predictions[position])
                position += 1
                shards.setdefault(batches.shard_of(sample[0], self.shards), []).append(
                    [sample[0], row, prediction, version, latency, sample[2], sample[3]])
            # Exactly what Bolt.emit and Bolt.ack send, the ack right after the emits.
            for shard, results in shards.items():
                messages.append({"command": "emit", "anchors": [tup.id],
                                 "need_task_ids": False, "tuple": [shard, results]})
            messages.append({"command": "ack", "id": tup.id})
        self._send_all(messages)
        self.processed += len(rows)

    def _send_all(self, messages):
        """Send messages with one write (pystorm flushes after every message)."""
        serializer = self.serializer
        try:
            text = "".join(serializer.serialize_dict(m) for m in messages)
            lock, stream = serializer._writer_lock, serializer.output_stream
        except AttributeError:  # another pystorm: the one-by-one way
            for message in messages:
                self.send_message(message)
            return
        with lock:
            try:
                stream.write(text)
                stream.flush()
            except OSError as exc:
                raise StormWentAwayError() from exc

    def _run(self):
        tup = self.read_tuple()
        self._current_tups = [tup]
        now = time.monotonic()
        if self.is_heartbeat(tup):
            self.send_message({"command": "sync"})
        elif self.is_tick(tup):
            self.ack(tup)
            if not self.batch:
                self._refresh()  # notice a new or repaired model even when idle
        else:
            self._take(tup, now)
        if self.batch and (self.waiting >= self.batch_size
                           or now - self.batch[0][1] >= self.timeout
                           or not self._input_waiting()):
            self._flush()
        self._current_tups = []

    def _take(self, tup, now):
        """Add an input tuple to the batch, or fail it when it is not a batch of samples
        with 4 finite features each."""
        samples = batches.samples_of(tup.values)
        features = None if samples is None else [_features(s[1]) for s in samples]
        if features is None or None in features:
            self.fail(tup)
            self._report("input", f"failed tuple {tup.id} from {tup.component}: not a list "
                                  f"of [id, 4 numbers, label, time] samples: "
                                  f"{list(tup.values)!r}"[:500])
            return
        self.batch.append((tup, now, features))
        self.waiting += len(features)

    def _input_waiting(self):
        """Whether Storm has sent more that is not read yet.  Without a PipeReader it
        cannot be seen: then a partial batch waits for its timeout or the next tick."""
        if self._pending_commands:
            return True
        return self.reader.pending() if self.reader is not None else \
            time.monotonic() - self.batch[0][1] < self.timeout

    def _handle_run_exception(self, exc):
        """Something unexpected: report it and fail what is waiting before exiting."""
        self.raise_exception(exc, self._current_tups[0] if self._current_tups else None)
        failed = set()
        for tup in [t for t, _arrived, _rows in self.batch] + list(self._current_tups):
            if tup.id not in failed and not self.is_heartbeat(tup):
                failed.add(tup.id)
                self.fail(tup)
        self.batch, self.waiting = [], 0


def _features(values):
    """4 features as floats, or None when they are not 4 finite numbers."""
    if not isinstance(values, list | tuple) or len(values) != 4:
        return None
    try:
        features = [float(v) for v in values
                    if not isinstance(v, bool) and isinstance(v, int | float)]
    except OverflowError:
        return None
    if len(features) != 4 or not all(math.isfinite(v) for v in features):
        return None
    return features
