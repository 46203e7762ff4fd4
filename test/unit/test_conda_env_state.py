"""conda_env.present: create when absent, nothing when as specified, update --prune when
the spec changed, only report in test mode; a conda failure fails the state."""

import pytest
from salt.exceptions import CommandExecutionError

SPEC = {"channels": [], "packages": ["python=3.11", "pip"], "pip": ["six==1.16.0"]}


@pytest.fixture
def make(loader, tmp_path):
    def build(test=False, fail=False):
        module = loader("_modules", "conda_env")
        calls = []

        def run(conda, args):
            calls.append(args)
            if fail:
                raise CommandExecutionError("PackagesNotFoundError: nosuchpkg")
            prefix = args[args.index("-p") + 1]
            (tmp_path / "env" / "conda-meta").mkdir(parents=True, exist_ok=True)
            return {"prefix": prefix}

        salt = {"conda_env.run": run, "conda_env.installed": lambda c, p: {"six": "1.16.0"},
                "conda_env.fingerprint": module.fingerprint,
                "conda_env.recorded": module.recorded, "conda_env.record": module.record,
                "conda_env.environment_yml": module.environment_yml}
        state = loader("_states", "conda_env", salt=salt, opts={"test": test})
        return state, calls
    return build


def test_create_then_nothing_then_update(make, tmp_path):
    prefix = str(tmp_path / "env")
    state, calls = make()
    created = state.present("w", "/opt/conda/bin/conda", prefix, SPEC)
    assert created["result"] is True and created["changes"]["create"] == prefix
    assert calls[-1][:2] == ["env", "create"]
    # The record must not look like a package record to conda (conda-meta/*.json).
    assert (tmp_path / "env" / "conda-meta" / "salt-spec").exists()
    assert not list((tmp_path / "env").glob("conda-meta/*.json"))
    again = state.present("w", "/opt/conda/bin/conda", prefix, SPEC)
    assert again["result"] is True and again["changes"] == {} and len(calls) == 1
    changed = dict(SPEC, pip=["six==1.17.0"])
    updated = state.present("w", "/opt/conda/bin/conda", prefix, changed)
    assert updated["changes"]["update"] == prefix
    assert calls[-1][:3] == ["env", "update", "--prune"]


def test_test_mode_only_reports(make, tmp_path):
    state, calls = make(test=True)
    ret = state.present("w", "/opt/conda/bin/conda", str(tmp_path / "env"), SPEC)
    assert ret["result"] is None and "would create" in ret["comment"] and calls == []


def test_conda_failure_fails_and_records_nothing(make, tmp_path):
    state, _ = make(fail=True)
    ret = state.present("w", "/opt/conda/bin/conda", str(tmp_path / "env"), SPEC)
    assert ret["result"] is False and "nosuchpkg" in ret["comment"]
    assert not (tmp_path / "env" / "conda-meta" / "salt-spec").exists()
    assert not list((tmp_path / "env").glob("conda-meta/*.json"))
