"""The sklearn_model formula rendered by Salt, and its refusals naming the key."""

import re

import pytest
from saltrender import ROOT, RenderError

PILLARS = ROOT / "test" / "pillar"
HASH = "sha256=" + "1" * 64


def test_every_sls_renders_from_the_example(minion):
    host = minion(PILLARS / "example", "sup1")
    for sls in ("sklearn_model", "sklearn_model.deploy", "sklearn_model.clean",
                "sklearn_model._mapdata"):
        assert host.show_sls(sls), sls
    states = host.show_sls("sklearn_model")
    body = states["sklearn_model-deploy-iris-sklearn_model-deployed"]["sklearn_model"]
    args = {k: v for arg in body if isinstance(arg, dict) for k, v in arg.items()}
    assert args["version"] == "1" and args["root"] == "/srv/models"
    assert args["python"] == "/opt/conda/envs/storm-worker/bin/python"


@pytest.mark.parametrize("model, message", [
    ({"version": "1", "source": "salt://m/iris-1.tar"},
     "sklearn_model:models:iris:source_hash: missing"),
    ({"version": "1", "source": "s3://bucket/iris-1.tar", "source_hash": HASH},
     "sklearn_model:models:iris:source: 's3://bucket/iris-1.tar' (string) is not a URL "
     "(salt://, https://, http://, file://)"),
    ({"version": 1.1, "source": "salt://m/iris.tar", "source_hash": HASH},
     "sklearn_model:models:iris:version: 1.1 (number) is not a version (a quoted string "
     "such as '1.2') (YAML reads 1.10 as the number 1.1)"),
    ({"version": "1", "source": "salt://m/iris.tar", "source_hash": "md5=abc"},
     "sklearn_model:models:iris:source_hash: 'md5' is not a checksum the formulas accept; "
     "give sha256="),
])
def test_bad_model_fails_at_render(minion, pillar, model, message):
    with pytest.raises(RenderError) as failure:
        minion(pillar({"sklearn_model": {"models": {"iris": model}}}), "sup1").show_sls(
            "sklearn_model")
    assert message in str(failure.value)


def test_build_mode_trains_on_one_worker_and_deploys_from_the_master(minion, pillar):
    data = {"cluster": {"zookeeper": [{"id": 1, "minion": "zk1"}], "nimbus": ["n1"],
                        "supervisor": ["sup1", "sup2"]},
            "sklearn_model": {"models": {"iris": {"version": "2", "build": {}}}}}
    build = minion(pillar(data), "sup1").show_sls("sklearn_model.build")
    body = build["sklearn_model-build-iris-sklearn_model-built"]["sklearn_model"]
    args = {k: v for arg in body if isinstance(arg, dict) for k, v in arg.items()}
    assert args["script"] == "salt://sklearn_model/files/default/train_iris.py"
    assert args["output"] == "/var/cache/sklearn_model/build"
    other = minion(pillar(data), "sup2").show_sls("sklearn_model.build")
    assert list(other) == ["sklearn_model-build-nothing-test-nop"]
    deploy = minion(pillar(data), "sup2").show_sls("sklearn_model")
    body = deploy["sklearn_model-deploy-iris-sklearn_model-deployed"]["sklearn_model"]
    args = {k: v for arg in body if isinstance(arg, dict) for k, v in arg.items()}
    assert args["source"] == "salt://sup1/var/cache/sklearn_model/build/iris-2.tar"
    # Nothing beside the artifact vouches for it: without the master's hand-over the
    # deploy has no hash (and refuses a new version), and verification is unprivileged.
    assert args["source_hash"] is None
    assert args["verify_user"] == "nobody"


def test_a_built_model_is_checked_against_the_hash_the_master_handed_over(minion, pillar):
    digest = "ab" * 32
    data = {"cluster": {"zookeeper": [{"id": 1, "minion": "zk1"}], "nimbus": ["n1"],
                        "supervisor": ["sup1", "sup2"]},
            "sklearn_model": {"models": {"iris": {"version": "2", "build": {}}},
                              # what sklearn_model.handoff gives: other versions too
                              "published": {"iris": {"1": "cd" * 32, "2": digest}}}}
    deploy = minion(pillar(data), "sup2").show_sls("sklearn_model")
    body = deploy["sklearn_model-deploy-iris-sklearn_model-deployed"]["sklearn_model"]
    args = {k: v for arg in body if isinstance(arg, dict) for k, v in arg.items()}
    assert args["source_hash"] == f"sha256={digest}"


@pytest.mark.parametrize("published, key", [
    ({"iris": {"2": "AB" * 32}}, "sklearn_model:published:iris:2"),
    ({"iris": "ab" * 32}, "sklearn_model:published:iris"),
])
def test_a_malformed_hand_over_is_refused_naming_the_key(minion, pillar, published, key):
    data = {"cluster": {"supervisor": ["sup1"]},
            "sklearn_model": {"models": {"iris": {"version": "2", "build": {}}},
                              "published": published}}
    with pytest.raises(RenderError, match=re.escape(key)):
        minion(pillar(data), "sup1").show_sls("sklearn_model")
