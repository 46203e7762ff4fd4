"""
The ``iris.*`` settings of the topology: their defaults and their validation.

Every component reads its settings from the Storm topology configuration it gets in the
multilang handshake (``storm_conf`` in ``initialize(storm_conf, context)``); a key that is
absent takes the default below.  A bad value stops the component at start with a message
naming the key (Storm shows it as the component's last error).
"""

import os

# key: (default, kind, minimum; for a choice, the choices)
SPEC = {
    # The model: <root>/<name>/current -> <version>/model.joblib (see sklearn_model).
    "iris.model.root": ("/srv/models", "path", None),
    "iris.model.name": ("iris", "name", None),
    # How often the classifier looks at where `current` points (milliseconds).
    "iris.model.check.ms": (1000, "int", 100),
    # Spout: cycle through scikit-learn's bundled iris data set, or tail this directory.
    "iris.source.dir": (None, "optpath", None),
    "iris.source.pattern": ("*.jsonl", "str", None),
    "iris.source.state.dir": ("/var/lib/storm/iris/spout-state", "path", None),
    "iris.source.poll.ms": (1000, "int", 10),
    "iris.spout.rate": (0, "number", 0),          # samples/s per spout task, 0 = unlimited
    # Samples per tuple (1: one sample per tuple), and how long the oldest sample of a
    # batch may wait for the rest (milliseconds) before the batch goes as it is.
    "iris.spout.batch.size": (100, "int", 1),
    "iris.spout.batch.ms": (10, "int", 0),
    "iris.spout.max.pending": (1000, "int", 1),   # samples in flight per spout task
    "iris.spout.max.replays": (5, "int", -1),     # replays of one sample, -1 = forever
    "iris.spout.cycles": (0, "int", 0),           # passes over the data set, 0 = forever
    # Which rows of the data set: those the model in use never saw (the held-out rows its
    # model.json lists, so the accuracy reported is a held-out one), or all 150.
    "iris.spout.rows": ("held_out", "choice", ("held_out", "all")),
    # The spout's own ledger (emitted, replayed, acked, failed, given up, pending) as JSON;
    # `{task}` is the task id; null: none.
    "iris.spout.counts.path": ("/var/lib/storm/iris/spout-counts-{task}.json", "optpath", None),
    # Classifier: one predict() for the samples of the tuples waiting, up to this many; a
    # partial batch goes as soon as no input is waiting, or after the timeout.
    "iris.batch.size": (256, "int", 1),
    "iris.batch.timeout.ms": (50, "int", 0),
    # Sink: one JSON line per prediction.
    "iris.results.path": ("/var/lib/storm/iris/predictions.jsonl", "path", None),
    "iris.results.max.bytes": (64 * 1024 * 1024, "int", 0),  # 0 = never rotate
    "iris.results.keep": (5, "int", 1),
    "iris.sink.report.secs": (60, "int", 0),      # 0 = no periodic summary in the log
    # Parallelism (read by topologies/iris.py when the topology is submitted).
    "iris.parallelism.spout": (1, "int", 1),
    "iris.parallelism.classifier": (2, "int", 1),
    "iris.parallelism.sink": (1, "int", 1),
}

DEFAULTS = {key: spec[0] for key, spec in SPEC.items()}


class SettingsError(ValueError):
    """A setting has a value the components cannot work with."""


def _check(key, value):
    default, kind, minimum = SPEC[key]
    if value is None and kind == "optpath":
        return None
    if value is None:
        return default
    if kind == "choice":
        if value not in minimum:
            raise SettingsError(f"{key}: {value!r} is not one of {', '.join(minimum)}")
        return value
    if kind in ("int", "number"):
        if isinstance(value, str):
            try:
                value = int(value) if kind == "int" else float(value)
            except ValueError:
                raise SettingsError(f"{key}: {value!r} is not a number") from None
        if isinstance(value, bool) or not isinstance(value, int | float) or (
                kind == "int" and not float(value).is_integer()):
            raise SettingsError(f"{key}: {value!r} is not a whole number" if kind == "int"
                                else f"{key}: {value!r} is not a number")
        value = int(value) if kind == "int" else float(value)
        if minimum is not None and value < minimum:
            raise SettingsError(f"{key}: {value} is below the minimum {minimum}")
        return value
    if not isinstance(value, str) or not value:
        raise SettingsError(f"{key}: {value!r} is not a non-empty string")
    if kind in ("path", "optpath") and not os.path.isabs(value):
        raise SettingsError(f"{key}: {value!r} is not an absolute path")
    if kind == "name" and ("/" in value or value in (".", "..", "current")
                           or value.startswith(".")):
        raise SettingsError(f"{key}: {value!r} must be a plain directory name")
    return value


def read(conf):
    """All iris.* settings from a Storm configuration, validated, defaults filled in."""
    conf = conf or {}
    unknown = sorted(k for k in conf if k.startswith("iris.") and k not in SPEC)
    if unknown:
        raise SettingsError(f"unknown setting(s) {', '.join(unknown)}; known: "
                            f"{', '.join(sorted(SPEC))}")
    return {key: _check(key, conf.get(key, SPEC[key][0])) for key in SPEC}


def task_index(context):
    """(index, count) of this task among its component's tasks, from the handshake."""
    context = context or {}
    task = context.get("taskid")
    component = context.get("componentid")
    mapping = context.get("task->component") or {}
    if component is None:
        component = mapping.get(str(task))
    tasks = sorted(int(t) for t, c in mapping.items() if c == component)
    if task is None or int(task) not in tasks:
        return 0, 1
    return tasks.index(int(task)), len(tasks)


def report_startup_errors(initialize):
    """
    Decorate a component's ``initialize``: an exception there (a bad setting, a
    directory that cannot be created) is sent to Storm with the multilang ``error``
    command, so it shows as the component's last error, before the process exits.
    """
    import functools

    @functools.wraps(initialize)
    def wrapper(self, storm_conf, context):
        try:
            return initialize(self, storm_conf, context)
        except Exception as exc:
            message = f"{type(self).__name__} cannot start: {exc}"
            self.send_message({"command": "error", "msg": message})
            self.log(message, level="error")
            raise

    return wrapper
