"""
The schemas themselves: well formed, documented, agreeing with the defaults and with the
README's tables generated from them, and the bundled topology's declared options equal to
the ones the topology enforces.
"""

import importlib.util
import subprocess
import sys

import pytest
import yaml
from modloader import ROOT, load, load_util
from salt.exceptions import CommandExecutionError
from settings_harness import FORMULAS, schema

CHECKER = load_util("formula_schema")
SCHEMAS = {**{f: schema(f) for f in FORMULAS}, "cluster": load("_modules", "clustermap").SCHEMA}


@pytest.mark.parametrize("name", sorted(SCHEMAS))
def test_every_schema_is_well_formed_and_every_key_documented(name):
    assert CHECKER.schema_errors(SCHEMAS[name], name) == []
    rows = CHECKER.rows(SCHEMAS[name], name)
    assert rows, name
    assert [key for key, _, _, doc in rows if not doc] == []


@pytest.mark.parametrize("formula", FORMULAS)
def test_the_defaults_and_every_os_file_pass_their_schema(formula):
    params = ROOT / formula / "parameters"
    for path in [params / "defaults.yaml", *sorted(params.glob("os*/*.yaml"))]:
        values = yaml.safe_load(path.read_text())["values"]
        merged = CHECKER.merge([("defaults", yaml.safe_load(
            (params / "defaults.yaml").read_text())["values"]), (path.name, values)], formula)
        CHECKER.check(merged, SCHEMAS[formula], formula)


def test_a_stray_field_in_a_schema_is_found():
    # YAML's flow style makes `doc: a, b` two fields; the self-check says so.
    broken = yaml.safe_load("type: map\nkeys:\n  uid: {type: int, doc: Fixed uid, so}\n")
    assert CHECKER.schema_errors(broken, "x") == ["x:uid: unknown schema field 'so'"]


def test_the_readme_tables_are_generated_from_the_schemas():
    proc = subprocess.run([sys.executable, str(ROOT / "tools/settings_docs.py"), "--check"],
                          capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr
    readme = (ROOT / "README.md").read_text()
    for name in SCHEMAS:
        for key, _, _, _ in CHECKER.rows(SCHEMAS[name], name):
            assert f"| `{key}` |" in readme, key


def test_a_stale_table_is_caught(tmp_path, monkeypatch):
    spec = importlib.util.spec_from_file_location("settings_docs",
                                                  ROOT / "tools/settings_docs.py")
    docs = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(docs)
    readme = (ROOT / "README.md").read_text()
    stale = readme.replace("| `storm:slots` | integer 1–64 |", "| `storm:slots` | integer |")
    assert stale != readme
    assert docs.render(stale) == readme


def _irislib():
    path = ROOT / "storm/files/iris_topology/src/irislib/settings.py"
    spec = importlib.util.spec_from_file_location("irislib_settings", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_declared_iris_options_are_the_ones_the_topology_enforces():
    declared = SCHEMAS["storm"]["keys"]["topologies"]["values"]["keys"]["options"]["keys"]
    spec = _irislib().SPEC
    assert sorted(declared) == sorted(spec)
    kinds = {"path": "path", "optpath": "path", "name": "str", "str": "str", "int": "int",
             "number": "number", "choice": "str"}
    for key, (_default, kind, minimum) in spec.items():
        assert declared[key]["type"] == kinds[kind], key
        if kind == "choice":
            assert tuple(declared[key]["choices"]) == minimum, key
        else:
            assert declared[key].get("min") == minimum, key
        assert bool(declared[key].get("nullable")) == (kind == "optpath"), key


def test_hash_settings_take_sha256_and_sha512_only():
    assert CHECKER.hash_setting("SHA512=" + "A" * 128, "k") == "sha512=" + "a" * 128
    assert CHECKER.hash_setting("b" * 64, "k") == "sha256=" + "b" * 64
    assert CHECKER.hash_setting("/srv/x.sha512", "k") == "file:///srv/x.sha512"
    for bad, message in (("md5=" + "a" * 32, "'md5' is not a checksum the formulas accept"),
                         ("sha1=" + "a" * 40, "'sha1' is not a checksum"),
                         ("sha256=abc", "sha256 needs 64 hex digits"),
                         ("ftp://x/y.sha512", "is neither"), (None, "missing"),
                         (512, "(whole number) is not a checksum")):
        with pytest.raises(CommandExecutionError, match=r"^k: .*" + message.replace(
                "(", r"\(").replace(")", r"\)")):
            CHECKER.hash_setting(bad, "k")
    with pytest.raises(CommandExecutionError, match=r"^k: 'sha512' is not a checksum"):
        CHECKER.hash_setting("sha512=" + "a" * 128, "k", ("sha256",))
    with pytest.raises(CommandExecutionError, match=r"^k: .* is neither sha256="):
        CHECKER.hash_setting("https://x/y.sha256", "k", ("sha256",), urls=False)
