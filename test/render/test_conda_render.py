"""The conda formula rendered by Salt: installer verified before it runs, the worker
environment from defaults and pillar, and refusals naming the key."""

import pytest
from saltrender import ROOT, RenderError

PILLARS = ROOT / "test" / "pillar"
SLS = ["conda", "conda.installer", "conda.config", "conda.environments", "conda.clean",
       "conda._mapdata"]


def test_every_sls_renders(minion):
    host = minion(PILLARS / "example", "sup1")
    for sls in SLS:
        states = host.show_sls(sls)
        assert states and all(s.startswith("conda-") for s in states), sls


def args_of(states, state_id):
    body = next(v for k, v in states[state_id].items() if not k.startswith("__"))
    return {k: v for arg in body if isinstance(arg, dict) for k, v in arg.items()}


def test_installer_is_verified_then_run_once(minion):
    states = minion(PILLARS / "example", "sup1").show_sls("conda")
    download = args_of(states, "conda-installer-install-file-managed")
    assert download["source_hash"].endswith(".sh.sha256")
    run = args_of(states, "conda-installer-install-cmd-run")
    assert run["name"].startswith("bash /var/cache/salt-conda/Miniforge3-")
    assert " -b -p /opt/conda" in run["name"]
    assert "salt-installer-version" in run["unless"]
    assert {"file": "conda-installer-install-file-managed"} in run["require"]


def test_worker_environment_spec(minion):
    states = minion(PILLARS / "example", "sup1").show_sls("conda.environments")
    env = args_of(states, "conda-environments-present-storm-worker-conda_env-present")
    assert env["prefix"] == "/opt/conda/envs/storm-worker"
    assert "scikit-learn=1.9.1" in env["spec"]["packages"]
    assert "streamparse==5.0.1" in env["spec"]["pip"]


@pytest.mark.parametrize("conda, message", [
    ({"environments": {"worker": {"packages": []}}},
     "conda:environments:worker:packages: no packages"),
    ({"installer": {"source_hash": ""}}, "conda:installer:source_hash: missing"),
])
def test_bad_pillar_fails_at_render(minion, pillar, conda, message):
    with pytest.raises(RenderError) as failure:
        minion(pillar({"conda": conda}), "sup1").show_sls("conda")
    assert message in str(failure.value)
