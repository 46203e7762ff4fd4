"""
The iris topology: IrisSpout -> ClassifierBolt (shuffle) -> SinkBolt (fields: shard).

Tuples carry batches of samples (irislib.batches); the shard a sample goes to is a
function of its id, so the fields grouping on it routes every attempt at a sample to the
same sink task, as a grouping on the sample id would.

Submitted with streamparse (``sparse submit -n iris -e prod -j iris.jar``).  Its Storm
configuration is the ``iris.*`` defaults of ``src/irislib/settings.py`` plus a few
``topology.*`` keys, overridden by the environment's ``options`` in config.json and then
by ``-o key=value`` on the sparse command line.  The parallelism of each component is
part of that configuration (``iris.parallelism.spout|classifier|sink``): it is read here,
when sparse imports this file, so it follows the same overrides.
"""

import argparse
import json
import os
import sys

from bolts.classify import ClassifierBolt
from bolts.sink import SinkBolt
from irislib.batches import SINK_COMPONENT
from irislib.settings import DEFAULTS
from spouts.iris import IrisSpout
from streamparse import Grouping, Topology

TOPOLOGY_DEFAULTS = {
    "topology.message.timeout.secs": 30,
    # Tuples per spout task (each up to iris.spout.batch.size samples; the spout's own
    # iris.spout.max.pending bounds the samples).
    "topology.max.spout.pending": 256,
    # Storm counts one tuple in 20 by default and scales up; count every one, so that the
    # acked and failed counts Nimbus reports are exact and can be held against the
    # spout's ledger and the sink's lines.  Next to a multilang round trip per tuple the
    # extra counting is noise.
    "topology.stats.sample.rate": 1.0,
}
CLASSIFIER_CONF = {"topology.tick.tuple.freq.secs": 1}


def _value(text):
    """A -o value as sparse reads it (YAML), falling back to JSON, then the string."""
    try:
        from ruamel import yaml

        return yaml.YAML(typ="safe", pure=True).load(text)
    except Exception:
        try:
            return json.loads(text)
        except ValueError:
            return text


def resolve(argv=None, cwd="."):
    """
    The topology's configuration: defaults, then ``envs.<env>.options`` of the project's
    config.json, then ``-o key=value`` from a sparse command line ``argv`` (the
    environment from ``-e``, or the only one).  Without config.json only the defaults.
    """
    conf = {**DEFAULTS, **TOPOLOGY_DEFAULTS}
    parser = argparse.ArgumentParser(add_help=False, allow_abbrev=False, exit_on_error=False)
    parser.add_argument("-e", "--environment")
    parser.add_argument("-c", "--config")
    parser.add_argument("-o", "--option", action="append", default=[])
    try:
        args, _rest = parser.parse_known_args(list(argv or [])[1:])
    except argparse.ArgumentError:
        args = parser.parse_args([])
    path = args.config or os.path.join(cwd, "config.json")
    if os.path.exists(path):
        with open(path, encoding="utf-8") as handle:
            envs = json.load(handle).get("envs") or {}
        name = args.environment or (next(iter(envs)) if len(envs) == 1 else None)
        conf.update((envs.get(name) or {}).get("options") or {})
    for option in args.option:
        key, sep, text = option.partition("=")
        if sep:
            conf[key] = _value(text)
    for key in ("iris.parallelism.spout", "iris.parallelism.classifier",
                "iris.parallelism.sink"):
        if isinstance(conf[key], bool) or not isinstance(conf[key], int) or conf[key] < 1:
            raise ValueError(f"{key}: {conf[key]!r} is not a whole number >= 1")
    return conf


def _run_by_sparse():
    return os.path.basename(sys.argv[0]).startswith("sparse") or \
        sys.argv[0].endswith(os.path.join("streamparse", "cli", "sparse.py"))


CONF = resolve(sys.argv if _run_by_sparse() else None, os.getcwd())


class Iris(Topology):
    config = CONF
    iris_spout = IrisSpout.spec(name="iris_spout", par=CONF["iris.parallelism.spout"])
    classifier = ClassifierBolt.spec(name="classifier", inputs={iris_spout: Grouping.SHUFFLE},
                                     par=CONF["iris.parallelism.classifier"],
                                     config=CLASSIFIER_CONF)
    sink = SinkBolt.spec(name=SINK_COMPONENT, inputs={classifier: Grouping.fields("shard")},
                         par=CONF["iris.parallelism.sink"])
