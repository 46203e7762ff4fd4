"""
What the iris topology's tuples carry, defined once for the three components.

Samples travel in batches: a tuple carries a list of them, so the multilang round trips
and the acker's bookkeeping (the cost of a tuple, whatever it carries) are paid once per
batch instead of once per sample.

* spout -> classifier, field ``samples``: ``[[sample_id, features, label, taken_ms], ...]``
  where ``taken_ms`` is the wall-clock time (ms since the epoch) the spout took the sample
  from its source; a replay carries the time of the first attempt.
* classifier -> sink, fields ``shard``, ``results``: ``[[sample_id, features, prediction,
  model_version, latency_ms, label, taken_ms], ...]``, all of one shard.

The sink is reached by a fields grouping on ``shard``, a function of the sample id alone
(``shard_of``): every attempt at a sample, and every later sample with the same id,
reaches the same sink task, as a fields grouping on the sample id would route it.  With
as many shards as sink tasks, each shard maps to its own task (Storm picks
``hash([shard]) mod tasks``, and an integer list hashes to 31 + shard), so a classifier's
batch costs at most one tuple per sink task.
"""

import zlib

SPOUT_FIELDS = ["samples"]
CLASSIFIER_FIELDS = ["shard", "results"]
SINK_COMPONENT = "sink"  # the topology's name for the sink (topologies/iris.py)


def shard_of(sample_id, shards):
    """The shard of a sample id: stable across processes, hosts and Python versions
    (crc32, not hash(), which is salted per process)."""
    return zlib.crc32(str(sample_id).encode("utf-8")) % shards if shards > 1 else 0


def sink_shards(context, fallback):
    """How many tasks the sink component has, from the multilang handshake's
    ``task->component`` map; ``fallback`` (iris.parallelism.sink) without one."""
    mapping = (context or {}).get("task->component") or {}
    tasks = sum(1 for component in mapping.values() if component == SINK_COMPONENT)
    return tasks or fallback


def _rows(values, fields, width):
    """The last field of a tuple of ``fields`` fields when it is a non-empty list of lists
    of ``width`` items each, else None."""
    if len(values) != fields or not isinstance(values[-1], list) or not values[-1]:
        return None
    rows = values[-1]
    return rows if all(isinstance(r, list) and len(r) == width for r in rows) else None


def samples_of(values):
    """The samples of a spout tuple as a list, or None when the tuple is not one."""
    return _rows(values, len(SPOUT_FIELDS), 4)


def results_of(values):
    """The results of a classifier tuple as a list, or None when the tuple is not one."""
    return _rows(values, len(CLASSIFIER_FIELDS), 7)
