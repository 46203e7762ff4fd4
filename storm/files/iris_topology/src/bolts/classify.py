"""
ClassifierBolt: classifies iris samples in batches with the scikit-learn model.

Input (from the spout): (sample_id, features, label).
Output: (sample_id, features, prediction, model_version, latency_ms, label), one tuple
per input, anchored to it; the input is acked right after its output was emitted.

The model is ``<iris.model.root>/<iris.model.name>/current/model.joblib``, loaded once
per process with ``joblib.load(path, mmap_mode='r')``: its arrays are mapped from the
page cache, one copy for every worker process on the host.  ``current`` is read at most
once per ``iris.model.check.ms`` (1 s); when it points at another version, that version
is loaded and checked (sha256 against model.json, its recorded samples predicted) and
only then used, without restarting anything.  A version that does not load is reported
with Storm's ``error`` command and the model in use stays; with no usable model at all
every tuple is failed (the spout replays it) until one appears.

Batching: tuples are collected and predicted with one ``predict`` call when
``iris.batch.size`` are waiting, or when the oldest has waited ``iris.batch.timeout.ms``
and anything arrives from Storm: the next tuple, the heartbeat Storm sends a ShellBolt
every second, or a tick tuple (``topology.tick.tuple.freq.secs``, whole seconds, set to
1 for this bolt by the topology).  So a tuple waits at most
``iris.batch.timeout.ms`` plus the gap to the next tuple under load and about one second
when the stream trickles (a multilang bolt cannot wake up by itself: it only acts when
Storm sends it something).
"""

import math
import time
import traceback

from irislib import settings
from irislib.model import ModelHolder
from pystorm.exceptions import StormWentAwayError
from streamparse import Bolt

REPORT_EVERY = 30.0  # seconds between repeats of the same error report


class ClassifierBolt(Bolt):
    outputs = ["sample_id", "features", "prediction", "model_version", "latency_ms", "label"]
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
        self.batch = []          # (tuple, arrival time)
        self.reported = {}       # report key -> time of the last report
        self.processed = 0
        self.holder = ModelHolder(self.settings["iris.model.root"],
                                  self.settings["iris.model.name"],
                                  check=self.settings["iris.model.check.ms"] / 1000.0)
        self._refresh(force=True)
        self.log(f"classifier: batches of {self.batch_size}, or after "
                 f"{self.settings['iris.batch.timeout.ms']} ms (checked on every tuple, "
                 f"heartbeat and tick); model link {self.holder.link}")

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
        batch, self.batch = self.batch, []
        if not batch:
            return
        self._refresh()
        model = self.holder.model
        if model is None:
            for tup, _arrived in batch:
                self.fail(tup)
            self._report("nomodel", f"no model in use ({self.holder.error}): failed "
                                    f"{len(batch)} tuple(s)")
            return
        good, rows = [], []
        for tup, arrived in batch:
            features = _features(tup.values)
            if features is None:
                self.fail(tup)
                self._report("input", f"failed tuple {tup.id} from {tup.component}: "
                                      f"bad features in {list(tup.values)!r}"[:500])
                continue
            good.append((tup, arrived, features))
            rows.append(features)
        if not good:
            return
        try:
            predictions = model.predict(self.numpy.asarray(rows, dtype=self.numpy.float64))
            if len(predictions) != len(good):
                raise ValueError(f"{len(predictions)} predictions for {len(good)} rows")
        except Exception as exc:
            for tup, _arrived, _row in good:
                self.fail(tup)
            self._report(f"predict:{type(exc).__name__}",
                         f"model {model.version}: predict failed for {len(good)} tuple(s), "
                         f"failed them: {type(exc).__name__}: {exc}\n"
                         f"{traceback.format_exc(limit=4)}")
            return
        done = time.monotonic()
        version = model.version
        messages = []
        for (tup, arrived, features), prediction in zip(good, predictions, strict=True):
            values = tup.values
            label = values[2] if len(values) > 2 else None
            latency = round((done - arrived) * 1000.0, 3)
            # Exactly what Bolt.emit and Bolt.ack send, each ack right after its emit.
            messages.append({"command": "emit", "anchors": [tup.id], "need_task_ids": False,
                             "tuple": [values[0], features, str(prediction), version,
                                       latency, label]})
            messages.append({"command": "ack", "id": tup.id})
        self._send_all(messages)
        self.processed += len(good)

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
            if self.batch and now - self.batch[0][1] >= self.timeout:
                self._flush()
            self.send_message({"command": "sync"})
        elif self.is_tick(tup):
            self.ack(tup)
            if self.batch:
                self._flush()
            else:
                self._refresh()  # notice a new or repaired model even when idle
        else:
            self.batch.append((tup, now))
            if len(self.batch) >= self.batch_size or now - self.batch[0][1] >= self.timeout:
                self._flush()
        self._current_tups = []

    def _handle_run_exception(self, exc):
        """Something unexpected: report it and fail what is waiting before exiting."""
        self.raise_exception(exc, self._current_tups[0] if self._current_tups else None)
        failed = set()
        for tup in [t for t, _arrived in self.batch] + list(self._current_tups):
            if tup.id not in failed and not self.is_heartbeat(tup):
                failed.add(tup.id)
                self.fail(tup)
        self.batch = []


def _features(values):
    """The 4 features of an input tuple as floats, or None when they are not that."""
    if len(values) < 2 or not isinstance(values[1], list | tuple) or len(values[1]) != 4:
        return None
    try:
        features = [float(v) for v in values[1]
                    if not isinstance(v, bool) and isinstance(v, int | float)]
    except OverflowError:
        return None
    if len(features) != 4 or not all(math.isfinite(v) for v in features):
        return None
    return features
