"""
The four formulas' maps computed in Python the way their map.jinja files compute them
(formula_settings.mapdata over the parameter files and the pillar, then the formula's own
module), with the package's real modules cross-wired as Salt's loader wires them.

Fast enough to feed hundreds of pillars through (the mutation and property tests); the
render tests prove the same refusals through Salt itself.
"""

import copy
import functools
import pathlib

import yaml
from modloader import ROOT, load

MODULES = ("clustermap", "zookeeper_quorum", "storm_config", "storm_topology", "conda_env",
           "sklearn_model", "apache_dist", "formula_settings")
GRAINS = {"os_family": "Debian", "os": "Debian", "cpuarch": "x86_64", "osarch": "amd64"}
FORMULAS = ("zookeeper", "storm", "conda", "sklearn_model")


def _yaml(path):
    return copy.deepcopy(_read(str(path)))


@functools.cache
def _read(path):
    path = pathlib.Path(path)
    return yaml.safe_load(path.read_text()) if path.is_file() else None


def example():
    """pillar.example as a dict."""
    return yaml.safe_load((ROOT / "pillar.example").read_text())


def schema(formula):
    return _yaml(ROOT / formula / "parameters" / "schema.yaml")


class Render:
    """One minion's view of one pillar: ``Render(pillar, 'sup1').map('storm')``."""

    def __init__(self, pillar, minion="nimbus1"):
        self.pillar = pillar
        salt = {}
        opts = {"id": minion, "test": False}
        for name in MODULES:
            module = load("_modules", name, salt=salt, opts=opts)
            module.__pillar__ = pillar
            module.__grains__ = GRAINS
            for attr in dir(module):
                value = getattr(module, attr)
                if callable(value) and not attr.startswith("_") and \
                        getattr(value, "__module__", None) == module.__name__:
                    salt[f"{name}.{attr}"] = value
        self.salt = salt

    def settings(self, formula):
        """formula_settings.mapdata, as map.jinja calls it."""
        params = ROOT / formula / "parameters"
        pillar = self.pillar.get(formula, {}) if isinstance(self.pillar, dict) else {}
        return self.salt["formula_settings.mapdata"](
            formula, schema(formula), _yaml(params / "defaults.yaml"),
            _yaml(params / "os_family" / f"{GRAINS['os_family']}.yaml"),
            _yaml(params / "os" / f"{GRAINS['os']}.yaml"), pillar)

    def map(self, formula):
        """The formula's whole map, as its map.jinja leaves it."""
        settings = self.settings(formula)
        if formula == "zookeeper":
            return self.salt["zookeeper_quorum.resolve"](settings)
        if formula == "conda":
            return self.salt["conda_env.resolve"](settings)
        if formula == "sklearn_model":
            return self.salt["sklearn_model.resolve"](settings)
        releases = _yaml(ROOT / "storm/parameters/releases.yaml")
        release = self.salt["storm_config.release"](settings, releases)
        keys = _yaml(ROOT / f"storm/parameters/storm_keys/{release['keys']}.yaml")["keys"]
        resolved = self.salt["storm_config.resolve"](settings, keys, releases,
                                                     self.map("zookeeper"))
        resolved["topologies"] = self.salt["storm_topology.resolve"](
            resolved, keys, self.map("sklearn_model"))
        return resolved

    def maps(self):
        """Every formula's map (the orchestrate's view, on the master)."""
        return {formula: self.map(formula) for formula in FORMULAS}


def nested(changes):
    """``{'ports__client': 1}`` as the pillar mapping ``{'ports': {'client': 1}}``."""
    out = {}
    for key, value in changes.items():
        target = out
        *path, last = key.split("__")
        for part in path:
            target = target.setdefault(part, {})
        target[last] = value
    return out


def replaced(pillar, path, value):
    """A copy of ``pillar`` with the value at ``path`` (keys and list indexes) replaced."""
    out = copy.deepcopy(pillar)
    target = out
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = value
    return out
