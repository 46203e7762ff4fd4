"""
SinkBolt: writes one JSON line per prediction to ``iris.results.path``.

Input (from the classifier, irislib.batches): ``shard``, ``results``, each result
``[sample_id, features, prediction, model_version, latency_ms, label, taken_ms]``.  Each
line::

    {"id": "iris-042", "features": [5.5, 2.3, 4.0, 1.3], "prediction": "versicolor",
     "label": "versicolor", "correct": true, "model_version": "2024.1",
     "latency_ms": 0.41, "end_to_end_ms": 3.2, "time": "2026-05-01T12:00:00.123+00:00"}

``latency_ms`` is the time the sample spent in the classifier; ``end_to_end_ms`` the
time from the spout taking it from its source (its first attempt's) to this write, by the
wall clocks of the two hosts.  ``label`` and ``correct`` are null when the sample came
without a true label.  A tuple's lines are written with one write and flushed to the
kernel, and only then is the tuple acked (a failed write fails the tuple, so the spout
replays its samples: at-least-once, a replayed sample can appear twice, in this file:
the grouping on the shard brings every attempt at a sample to the same task).  The file
rotates by size (``iris.results.max.bytes``, ``iris.results.keep`` old files as ``.1``,
``.2`` ...).  ``{task}`` in the path is replaced by the task id, for running several sink
tasks on one host; one file must have one writer.  Every ``iris.sink.report.secs`` the
bolt logs how many predictions it wrote and the accuracy on the labelled ones.
"""

import datetime
import json
import time

from irislib import batches, settings
from irislib.results import RotatingFile
from streamparse import Bolt

REPORT_EVERY = 30.0
UTC = datetime.timezone.utc  # noqa: UP017  (the workers' Python may predate datetime.UTC)


class SinkBolt(Bolt):
    auto_ack = False
    auto_anchor = False
    auto_fail = True  # an unexpected exception fails the tuple before the process exits

    @settings.report_startup_errors
    def initialize(self, storm_conf, context):
        self.settings = settings.read(storm_conf)
        path = self.settings["iris.results.path"].replace("{task}", str(self.task_id))
        self.out = RotatingFile(path, self.settings["iris.results.max.bytes"],
                                self.settings["iris.results.keep"])
        self.written = self.labelled = self.correct = 0
        self.report_every = self.settings["iris.sink.report.secs"]
        self.last_summary = time.monotonic()
        self.last_error = None
        self.log(f"sink: writing {path} (rotated at "
                 f"{self.settings['iris.results.max.bytes'] or 'never'} bytes, keeping "
                 f"{self.settings['iris.results.keep']})")

    def process_tick(self, tup):
        self.ack(tup)  # only with a topology-wide topology.tick.tuple.freq.secs

    def process(self, tup):
        results = batches.results_of(tup.values)
        if results is None:
            self.log(f"failed tuple {tup.id}: expected a shard and a list of [id, features, "
                     f"prediction, version, latency, label, time] results, got "
                     f"{list(tup.values)!r}"[:500], level="error")
            self.fail(tup)
            return
        now = datetime.datetime.now(UTC)
        now_ms = now.timestamp() * 1000.0
        stamp = now.isoformat(timespec="milliseconds")
        lines, labelled, correct_count = [], 0, 0
        for sample_id, features, prediction, version, latency, label, taken_ms in results:
            correct = None if label is None else prediction == label
            if correct is not None:
                labelled += 1
                correct_count += correct
            age = round(now_ms - taken_ms, 3) if isinstance(taken_ms, int | float) else None
            lines.append(json.dumps({
                "id": sample_id, "features": features, "prediction": prediction,
                "label": label, "correct": correct, "model_version": version,
                "latency_ms": latency, "end_to_end_ms": age, "time": stamp,
            }, separators=(", ", ": ")))
        data = ("\n".join(lines) + "\n").encode()
        try:
            self.out.write(data)
        except OSError as exc:
            self.fail(tup)
            now = time.monotonic()
            if self.last_error is None or now - self.last_error >= REPORT_EVERY:
                self.last_error = now
                message = f"sink: cannot write {self.out.path}: {exc}; failing tuples"
                self.send_message({"command": "error", "msg": message})
                self.log(message, level="error")
            self.out.close()  # reopened on the next write
            return
        self.ack(tup)
        self.written += len(lines)
        self.labelled += labelled
        self.correct += correct_count
        if self.report_every:
            now = time.monotonic()
            if now - self.last_summary >= self.report_every:
                self.last_summary = now
                accuracy = (f"{self.correct / self.labelled:.4f}" if self.labelled
                            else "n/a")
                self.log(f"sink: {self.written} predictions written, accuracy {accuracy} "
                         f"on {self.labelled} labelled, {self.out.rotations} rotations")
