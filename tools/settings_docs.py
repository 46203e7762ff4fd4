#!/usr/bin/env python3
"""
The README's settings tables, generated from the schemas: every key of ``cluster`` (the
clustermap module's schema) and of each formula (``<formula>/parameters/schema.yaml``),
with its type, its default (``parameters/defaults.yaml``) and its meaning.

    python tools/settings_docs.py           # rewrite the tables in README.md
    python tools/settings_docs.py --check   # exit 1 when README.md is not up to date

Each table sits between ``<!-- settings:NAME -->`` and ``<!-- /settings:NAME -->``.
"""

import argparse
import importlib.util
import json
import pathlib
import re
import sys

import yaml

ROOT = pathlib.Path(__file__).resolve().parents[1]
FORMULAS = ("zookeeper", "storm", "conda", "sklearn_model")


def _load(path, name):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def sources():
    """``{name: (schema, defaults, where the schema lives)}`` for cluster and each formula."""
    clustermap = _load(ROOT / "_modules" / "clustermap.py", "clustermap")
    found = {"cluster": (clustermap.SCHEMA, clustermap.DEFAULTS, "_modules/clustermap.py")}
    for formula in FORMULAS:
        params = ROOT / formula / "parameters"
        found[formula] = (yaml.safe_load((params / "schema.yaml").read_text()),
                          yaml.safe_load((params / "defaults.yaml").read_text())["values"],
                          f"{formula}/parameters/schema.yaml")
    return found


def _cell(text):
    return str(text).replace("|", "\\|").replace("\n", " ")


def _default(value):
    if value is None or value == {} or value == []:
        return ""
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=False)
    if len(text) > 70:
        text = text[:67] + "..."
    return f"`{_cell(text)}`"


def table(name, schema, defaults, where):
    rows = _load(ROOT / "_utils" / "formula_schema.py", "formula_schema").rows(
        schema, name, defaults)
    lines = [f"<!-- settings:{name} (generated from {where} by tools/settings_docs.py; "
             "do not edit) -->", "", "| key | type | default | meaning |", "|---|---|---|---|"]
    for key, kind, default, doc in rows:
        lines.append(f"| `{key}` | {kind} | {_default(default)} | {_cell(doc)} |")
    lines += ["", f"<!-- /settings:{name} -->"]
    return "\n".join(lines)


def render(readme):
    """README text with every settings table regenerated."""
    for name, (schema, defaults, where) in sources().items():
        pattern = re.compile(rf"<!-- settings:{name}[ >].*?<!-- /settings:{name} -->", re.S)
        if not pattern.search(readme):
            raise SystemExit(f"README.md has no <!-- settings:{name} --> table to fill")
        new = table(name, schema, defaults, where)
        readme = pattern.sub(lambda _match, new=new: new, readme)
    return readme


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="fail when README.md is stale")
    args = parser.parse_args(argv)
    path = ROOT / "README.md"
    current = path.read_text()
    fresh = render(current)
    if args.check:
        if fresh != current:
            print("README.md's settings tables are stale; run python tools/settings_docs.py",
                  file=sys.stderr)
            return 1
        return 0
    path.write_text(fresh)
    return 0


if __name__ == "__main__":
    sys.exit(main())
