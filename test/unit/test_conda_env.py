"""conda_env: settings validation, the environment.yml it writes, conda's JSON errors,
and the recorded spec that makes a converged environment report no change."""

import json
import stat

import pytest
import yaml
from modloader import ROOT
from salt.exceptions import CommandExecutionError
from settings_harness import Render, example

DEFAULTS = yaml.safe_load((ROOT / "conda/parameters/defaults.yaml").read_text())["values"]


@pytest.fixture
def mod(loader):
    module = loader("_modules", "conda_env")
    module.__grains__ = {"cpuarch": "x86_64"}
    return module


def settings(**changes):
    data = json.loads(json.dumps(DEFAULTS))
    data.update(changes)
    return data


def test_defaults_resolve(mod):
    resolved = mod.resolve(settings())
    assert resolved["conda"] == "/opt/conda/bin/conda"
    assert resolved["installer"]["source"].endswith(
        "/24.11.3-0/Miniforge3-24.11.3-0-Linux-x86_64.sh")
    assert resolved["installer"]["source_hash"].endswith(".sh.sha256")
    worker = resolved["envs"]["storm-worker"]
    assert worker["prefix"] == "/opt/conda/envs/storm-worker"
    assert "streamparse==5.0.1" in worker["spec"]["pip"]
    assert "setuptools<81" in worker["spec"]["pip"]


@pytest.mark.parametrize("changes, message", [
    ({"environments": {"w": {"packages": []}}}, r"^conda:environments:w:packages: no packages"),
    ({"environments": {"w": {}}}, r"^conda:environments:w:packages: no packages"),
    ({"environments": {"w": {"packages": ["python"], "pip": ["x"]}}},
     r"^conda:environments:w:packages: a pip section needs 'pip'"),
    ({"environments": {"base": {"packages": ["python"]}}},
     r"^conda:environments:base: 'base' is the installation itself"),
    ({"environments": {"w": {"packages": ["python"], "pakages": []}}},
     r"^conda:environments:w:pakages: is not a setting here \(did you mean packages\?\)"),
    ({"environments": {"w": {"packages": ["num py"]}}}, r"is not a package spec"),
    ({"installer": {"version": "24.11.3-0", "source": "https://x/y.sh", "source_hash": ""}},
     r"^conda:installer:source_hash: missing"),
    ({"installer": {"version": "1", "source": "https://x/y.sh", "source_hash": "md5=abc"}},
     r"^conda:installer:source_hash: 'md5' is not a checksum the formulas accept; give sha256="),
    ({"prefix": "opt/conda"}, r"^conda:prefix: 'opt/conda' \(string\) is not an absolute"),
])
def test_bad_settings_name_the_key(changes, message):
    # Through the map as map.jinja computes it: schema, then conda_env.resolve.
    with pytest.raises(CommandExecutionError, match=message):
        Render({"cluster": example()["cluster"], "conda": changes}, "sup1").map("conda")


def test_environment_yml_carries_pins_and_pip(mod):
    spec = mod.spec_of("w", {"packages": ["python=3.11", "pip"], "pip": ["six==1.16.0"],
                             "channels": ["conda-forge"]})
    doc = yaml.safe_load(mod.environment_yml("w", spec))
    assert doc == {"name": "w", "channels": ["conda-forge"],
                   "dependencies": ["python=3.11", "pip", {"pip": ["six==1.16.0"]}]}


def fake_conda(tmp_path, stdout, code):
    script = tmp_path / "conda"
    script.write_text(f"#!/bin/sh\ncat <<'EOF'\n{stdout}\nEOF\nexit {code}\n")
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return str(script)


def test_conda_errors_carry_condas_message(mod, tmp_path):
    error = json.dumps({"exception_name": "PackagesNotFoundError",
                        "message": "The following packages are not available: nosuchpkg"})
    with pytest.raises(CommandExecutionError, match="not available: nosuchpkg"):
        mod.run(fake_conda(tmp_path, error, 1), ["create", "-n", "x", "nosuchpkg"])


def test_installed_reads_conda_list_json(mod, tmp_path):
    listing = json.dumps([{"name": "numpy", "version": "2.4.6"},
                          {"name": "python", "version": "3.11.2"}])
    assert mod.installed(fake_conda(tmp_path, listing, 0), "/p") == {
        "numpy": "2.4.6", "python": "3.11.2"}


def test_recorded_spec_round_trip(mod, tmp_path):
    (tmp_path / "conda-meta").mkdir()
    spec = {"channels": [], "packages": ["python=3.11"], "pip": []}
    assert mod.recorded(str(tmp_path)) is None
    written = mod.record(str(tmp_path), spec)
    assert mod.recorded(str(tmp_path)) == written == mod.fingerprint(spec)
    assert mod.fingerprint(dict(spec, pip=["six"])) != written
