"""
kitchen.yml checked against the repository, offline (no Docker, no Ruby here): every
suite's pillar files, state_top, verifier and checks must exist and agree, Salt must be
the version the test suite pins, and the copy filter must keep the formulas whole.
test/render/test_kitchen_render.py then compiles each suite with Salt itself.
"""

import importlib.util
import pathlib
import re

import pytest
import yaml

ROOT = pathlib.Path(__file__).resolve().parents[2]
TEXT = (ROOT / "kitchen.yml").read_text()
KITCHEN = yaml.safe_load(TEXT)
SUITES = {suite["name"]: suite for suite in KITCHEN["suites"]}
FORMULAS = sorted(p.parent.parent.name for p in ROOT.glob("*/parameters/defaults.yaml"))
# Mappings whose keys are the user's own (zoo.cfg/storm.yaml keys, environment names).
FREE_FORM = {("zookeeper", "properties"), ("storm", "config"), ("conda", "environments"),
             ("sklearn_model", "models")}


def provisioner(suite):
    return {**KITCHEN["provisioner"], **SUITES[suite].get("provisioner", {})}


def pillar_files(suite):
    return {name: ROOT / path for name, path in provisioner(suite)["pillars_from_files"].items()}


def pillar(suite):
    """The suite's pillar files, parsed (they are YAML with quoted Jinja expressions)."""
    return {name: yaml.safe_load(path.read_text()) for name, path in pillar_files(suite).items()}


def unknown_keys(given, defaults, path):
    for key, value in given.items():
        here = (*path, key)
        if key not in defaults:
            yield ":".join(here)
        elif isinstance(value, dict) and isinstance(defaults[key], dict) \
                and here not in FREE_FORM:
            yield from unknown_keys(value, defaults[key], here)


def test_plain_yaml_without_erb():
    assert "<%" not in TEXT, "kitchen.yml must stay plain YAML (the tests parse it)"
    assert SUITES and set(KITCHEN) >= {"driver", "platforms", "provisioner", "verifier"}


def test_containers_boot_systemd_and_salt_is_masterless_on_this_tree():
    driver, prov = KITCHEN["driver"], KITCHEN["provisioner"]
    assert driver["name"] == "docker" and driver["privileged"] is True
    assert driver["run_command"] == "/lib/systemd/systemd"
    assert prov["name"] == "salt_solo" and prov["is_file_root"] is True


def test_salt_is_the_version_the_tests_pin():
    pins = re.findall(r"^salt==(\S+)$", (ROOT / "test/requirements.txt").read_text(), re.M)
    assert len(pins) == 1, pins
    assert str(KITCHEN["provisioner"]["salt_version"]) == pins[0]
    for platform in KITCHEN["platforms"]:
        commands = " ".join(platform["driver"]["provision_command"])
        assert re.findall(r"\bsalt==(\S+)", commands) == pins, platform["name"]


def test_copy_filter_keeps_tests_out_and_the_formulas_whole():
    names = KITCHEN["provisioner"]["salt_copy_filter"]
    # kitchen-salt compares each name with basenames: a path would never match.
    assert all("/" not in name for name in names), names
    assert {".git", ".kitchen", ".ci", "__pycache__", "build", "test"} <= set(names)
    needed = [p for top in (*FORMULAS, "_modules", "_states") for p in (ROOT / top).rglob("*")
              if "__pycache__" not in p.parts]
    dropped = [p for p in needed if set(p.relative_to(ROOT).parts) & set(names)]
    assert not dropped, dropped


@pytest.mark.parametrize("suite", sorted(SUITES))
def test_pillar_files_exist_parse_and_are_the_suites_own(suite):
    own = ROOT / "test/kitchen/pillar" / suite
    for name, path in pillar_files(suite).items():
        assert path.is_file(), path
        assert path.parent == own, f"{name}: {path} is not under {own}"
        assert isinstance(yaml.safe_load(path.read_text()), dict), path


@pytest.mark.parametrize("suite", sorted(SUITES))
def test_pillar_top_names_exactly_the_suite_files(suite):
    top = provisioner(suite)["pillars"]["top.sls"]["base"]["*"]
    assert sorted(f"{name}.sls" for name in top) == sorted(pillar_files(suite))


@pytest.mark.parametrize("suite", sorted(SUITES))
def test_state_top_names_sls_that_exist(suite):
    for sls in provisioner(suite)["state_top"]["base"]["*"]:
        path = ROOT / sls.replace(".", "/")
        assert path.with_suffix(".sls").is_file() or (path / "init.sls").is_file(), sls


@pytest.mark.parametrize("suite", sorted(SUITES))
def test_pillar_keys_exist_in_the_formula_defaults(suite):
    for name, data in pillar(suite).items():
        for formula in set(data) & set(FORMULAS):
            defaults = yaml.safe_load(
                (ROOT / formula / "parameters/defaults.yaml").read_text())["values"]
            assert not list(unknown_keys(data[formula], defaults, (formula,))), name


@pytest.mark.parametrize("suite", sorted(SUITES))
def test_cluster_members_are_the_container_itself(suite):
    minion_id = provisioner(suite)["salt_minion_id"]
    cluster = next(data["cluster"] for data in pillar(suite).values() if "cluster" in data)
    roles = [role for role in ("zookeeper", "nimbus", "supervisor") if cluster.get(role)]
    assert "zookeeper" in roles
    assert {m["minion"] for role in roles for m in cluster[role]} == {minion_id}
    assert [m["id"] for m in cluster["zookeeper"]] == [1]
    wants_storm = "storm" in provisioner(suite)["state_top"]["base"]["*"]
    assert (roles == ["zookeeper", "nimbus", "supervisor"]) == wants_storm, roles


def test_verifier_runs_the_kitchen_tests_over_kitchens_ssh():
    command = KITCHEN["verifier"]["command"]
    assert KITCHEN["verifier"]["name"] == "shell"
    paths = re.findall(r"(?<!\S)(test/\S+)", command)
    assert paths and all((ROOT / p).exists() for p in paths), paths
    for needed in ("ssh://", "KITCHEN_HOSTNAME", "KITCHEN_PORT", "KITCHEN_SSH_KEY", "--sudo"):
        assert needed in command, needed
    assert all("verifier" not in suite for suite in SUITES.values()), "one verifier for all"


def kitchen_checks():
    """CHECKS of test/kitchen/test_kitchen_verifiers.py (its conftest first, for imports)."""
    module = None
    for name in ("conftest", "test_kitchen_verifiers"):
        spec = importlib.util.spec_from_file_location(
            f"kitchen_{name}", ROOT / "test/kitchen" / f"{name}.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    return module.CHECKS


@pytest.mark.parametrize("suite", sorted(SUITES))
def test_suite_has_checks_in_test_kitchen(suite):
    assert kitchen_checks().get(suite), f"test/kitchen has no checks for suite {suite}"
