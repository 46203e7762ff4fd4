"""
Every leaf of pillar.example through the mistakes operators make: a wrong type, a scalar
where a mapping belongs, a mapping where a scalar belongs, a misspelt key at each level,
a value out of range.  Each must be refused, naming its full key path and the value,
by the same code the renders run (the four maps, as their map.jinja files compute them).
"""

import copy
import json

import pytest
import yaml
from modloader import ROOT, load
from salt.exceptions import CommandExecutionError
from settings_harness import FORMULAS, Render, example, replaced, schema

STORM_KEYS = yaml.safe_load((ROOT / "storm/parameters/storm_keys/2.8.3.yaml").read_text())["keys"]
PORT_KEYS = {"nimbus.thrift.port", "ui.port", "logviewer.port", "drpc.port"}
SCHEMAS = {**{f: schema(f) for f in FORMULAS}, "cluster": load("_modules", "clustermap").SCHEMA}


def node_at(path):
    """The schema node of a pillar path (a tuple of keys and list indexes)."""
    node = SCHEMAS[path[0]]
    for step in path[1:]:
        if node is None:
            return None
        if node.get("type") == "tofs":
            return None
        if "any_of" in node:
            shape = "list" if isinstance(step, int) else "map"
            node = next((o for o in node["any_of"] if o.get("type") == shape), None)
            if node is None:
                return None
        if isinstance(step, int):
            node = node.get("items")
        else:
            node = (node.get("keys") or {}).get(step, node.get("values"))
    return node


def storm_key(path):
    """Storm's own key a leaf is, with its validators (storm:config and topology options)."""
    if path[:2] == ("storm", "config") and len(path) == 3:
        return path[2]
    if path[:2] == ("storm", "topologies") and len(path) == 5 and path[3] == "options":
        return path[4] if path[4] in STORM_KEYS else None
    return None


def wrong_type(node, path, value):
    key = storm_key(path)
    if key:
        names = {v if isinstance(v, str) else next(iter(v))
                 for v in STORM_KEYS[key].get("validators") or []}
        if names & {"IsInteger", "IsLong", "IsNumber", "IsPositiveNumber"}:
            return str(value)
        if "IsString" in names:
            return 12345
        if "IsBoolean" in names:
            return "false"
        if names & {"IsStringList", "IsStringOrStringList"}:
            return {"a": 1}
        return None
    kind = (node or {}).get("type", "any")
    if "any_of" in (node or {}):
        return 12345
    return {"int": "4", "number": "4", "port": "4", "bool": "false", "list": "x",
            "str": 12345, "path": 12345, "url": 12345, "address": 12345, "hash": 12345,
            "network": 12345, "version": 1.5, "scalar": [1]}.get(kind)


def out_of_range(node, path):
    key = storm_key(path)
    if key:
        if key in PORT_KEYS:
            return 70000
        names = {v if isinstance(v, str) else next(iter(v))
                 for v in STORM_KEYS[key].get("validators") or []}
        return -1 if "IsPositiveNumber" in names else None
    node = node or {}
    if "choices" in node:
        return "bogus"
    kind = node.get("type")
    if kind in ("int", "number", "port"):
        if node.get("max") is not None or kind == "port":
            return node.get("max", 65535) + 1
        if node.get("min") is not None:
            return node["min"] - 1
    return {"path": "relative/path", "url": "ftp://mirror/file", "address": "10.0.0.1:2181",
            "hash": "md5=0123456789abcdef0123456789abcdef", "network": "10.0.0.0/33",
            "str": "not valid!" if node.get("pattern") else None}.get(kind)


def leaves(value, path):
    if isinstance(value, dict) and value:
        for key, item in value.items():
            yield from leaves(item, (*path, key))
    elif isinstance(value, list) and value:
        for index, item in enumerate(value):
            yield from leaves(item, (*path, index))
    else:
        yield path, value


def rename_at(pillar, path, new):
    out = copy.deepcopy(pillar)
    target = out
    for step in path[:-1]:
        target = target[step]
    target[new] = target.pop(path[-1])
    return out


def typo(name):
    return name[:-1] + name[-1] * 2 if len(name) > 3 else name + "x"


def mutations():
    """(what, path refused, mutated pillar, value) for every leaf and level of the example."""
    pillar = example()
    seen = set()
    for path, value in leaves(pillar, ()):
        if path[0] not in SCHEMAS:
            continue
        node = node_at(path)
        for what, new in (("wrong type", wrong_type(node, path, value)),
                          ("mapping for scalar", {"a": 1}),
                          ("out of range", out_of_range(node, path))):
            if new is not None and (path, what) not in seen:
                seen.add((path, what))
                yield what, path, replaced(pillar, path, new), new
        for depth in range(1, len(path)):
            level = path[:depth]
            level_node = node_at(level)
            if (level, "scalar for mapping") not in seen and level_node is not None:
                seen.add((level, "scalar for mapping"))
                yield "scalar for mapping", level, replaced(pillar, level, 12345), 12345
        for depth in range(2, len(path) + 1):
            level, name = path[:depth], path[depth - 1]
            parent = node_at(path[:depth - 1])
            if isinstance(name, int) or (level, "misspelt") in seen or parent is None:
                continue
            closed = parent.get("type") == "map" and not parent.get("values")
            near = parent.get("type") == "map" and name in (parent.get("keys") or {})
            storm_config = level[:2] == ("storm", "config")
            if closed or near or storm_config:
                seen.add((level, "misspelt"))
                new = typo(name)
                yield "misspelt key", (*level[:-1], new), rename_at(pillar, level, new), None


CASES = list(mutations())


def render_all(pillar):
    # The orchestrate's view on the master and a supervisor's, which renders every map.
    for minion in ("master", "sup1"):
        Render(pillar, minion).maps()


def test_the_example_itself_renders():
    render_all(example())


@pytest.mark.parametrize("what,path,pillar,value", CASES,
                         ids=[f"{c[0]}:{':'.join(map(str, c[1]))}" for c in CASES])
def test_each_mutation_is_refused_naming_its_key_path(what, path, pillar, value):
    with pytest.raises(CommandExecutionError) as refused:
        render_all(pillar)
    message = str(refused.value)
    key = ":".join(map(str, path))
    assert message.startswith(f"{key}: "), message
    if what == "misspelt key":
        assert "did you mean" in message or "knows" in message, message
    elif (node_at(path) or {}).get("type") == "secret":
        # A secret's refusal never repeats what was given.
        assert "(the value is not shown)" in message, message
        assert repr(value) not in message and json.dumps(value) not in message, message
    else:
        shown = repr(value) if not isinstance(value, str) or len(value) < 60 else value[:20]
        assert shown in message or json.dumps(value) in message or "md5" in message, message


def test_the_mutations_cover_every_leaf_and_formula():
    paths = {c[1][0] for c in CASES}
    assert paths == {"cluster", *FORMULAS}
    kinds = {c[0] for c in CASES}
    assert kinds == {"wrong type", "mapping for scalar", "out of range",
                     "scalar for mapping", "misspelt key"}
    assert len(CASES) > 300
