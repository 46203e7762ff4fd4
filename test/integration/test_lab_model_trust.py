"""
Model trust on the six real hosts the orchestrate built (the `cluster` fixture): the master
fixes the sha256 of a built model from its own copy when it publishes it, and a worker
refuses an artifact the build host swapped afterwards, though that artifact's own .sha256
agrees with it (what the formula used to trust); the master's minionfs serves the build
host's pushed files and no other host's; the workers verify a model unprivileged.
"""

import json

import pytest
from lab import config

pytestmark = [pytest.mark.lab, pytest.mark.lab_topology("test/lab_topologies/cluster6.yaml")]
VERSION = "7"
OUTPUT = "/var/cache/sklearn_model/build"
ARTIFACT = f"{OUTPUT}/iris-{VERSION}.tar"
PYTHON = "/opt/conda/envs/storm-worker/bin/python"
OTHERS = ["zk1", "zk2", "zk3", "nimbus1", "sup2"]


def results(raw):
    """Every state result in a salt/salt-run JSON answer, however deeply nested."""
    if isinstance(raw, dict):
        if "result" in raw and "comment" in raw:
            return [raw]
        return [found for value in raw.values() for found in results(value)]
    return []


def build_on_sup1(cluster):
    pillar = json.dumps({"sklearn_model": {"models": {"iris": {"version": VERSION,
                                                                "build": {}}}}})
    return results(cluster.salt("sup1", "state.apply", "sklearn_model.build",
                                f"pillar={pillar}", timeout=600))


def publish(cluster):
    """The orchestrate's publish step, alone, on the master.  salt-run prints the step's
    progress event, then the result: the last JSON document is the answer."""
    proc = cluster.salt_run(
        "state.orchestrate_single", "sklearn_model.published", "iris", f"version={VERSION}",
        "minion=sup1", f"path={ARTIFACT}", f"others={json.dumps(OTHERS)}", "--out=json",
        json=False, timeout=120)
    decoder, text, at, documents = json.JSONDecoder(), proc.stdout, 0, []
    while text[at:].strip():
        at += len(text[at:]) - len(text[at:].lstrip())
        document, at = decoder.raw_decode(text, at)
        documents.append(document)
    assert documents, f"salt-run answered nothing: {proc.stderr[-2000:]}"
    return results(documents[-1])


def deploy_on_sup2(cluster, handoff):
    pillar = json.dumps({"sklearn_model": {"models": {"iris": {"version": VERSION,
                                                                "build": {}}},
                                           **handoff}})
    return results(cluster.salt("sup2", "state.apply", "sklearn_model", f"pillar={pillar}",
                                timeout=600))


def forget(cluster):
    """Leave no trace of version 7: the master's record and copy, the build host's files."""
    cache = config.MASTER_DIR / "cache"
    (cache / "sklearn_model/published/iris" / f"{VERSION}.json").unlink(missing_ok=True)
    (cache / "minions/sup1/files" / ARTIFACT.lstrip("/")).unlink(missing_ok=True)
    cluster.exec("sup1", f"rm -f {ARTIFACT} {ARTIFACT}.sha256")
    cluster.exec("sup2", f"rm -rf /srv/models/iris/{VERSION}")


def test_the_master_fixes_the_hash_and_a_swapped_artifact_is_refused(cluster):
    forget(cluster)
    current = cluster.exec("sup2", "readlink /srv/models/iris/current").stdout.strip()
    try:
        built = build_on_sup1(cluster)
        assert built and all(r["result"] is True for r in built), built
        fixed = publish(cluster)
        assert [r["result"] for r in fixed] == [True], fixed
        record = json.loads((config.MASTER_DIR / "cache/sklearn_model/published/iris"
                             / f"{VERSION}.json").read_text())
        served = cluster.exec("sup1", f"sha256sum {ARTIFACT}").stdout.split()[0]
        assert record["sha256"] == served
        handoff = cluster.salt_run("salt.cmd", "sklearn_model.handoff", "iris")
        handoff = handoff.get("return", handoff)
        assert handoff["published"]["iris"][VERSION] == served

        # The build host retrains the same version and pushes it again: a self-consistent
        # artifact (its .sha256 beside it agrees), which the master never fixed.
        cluster.exec("sup1", f"rm -f {ARTIFACT} {ARTIFACT}.sha256")
        rebuilt = build_on_sup1(cluster)
        assert rebuilt and all(r["result"] is True for r in rebuilt), rebuilt
        swapped = cluster.exec("sup1", f"sha256sum {ARTIFACT}").stdout.split()[0]
        own = cluster.exec("sup1", f"cat {ARTIFACT}.sha256").stdout.split()[0]
        assert swapped != served and own == swapped

        applied = deploy_on_sup2(cluster, handoff)
        refused = [r for r in applied if r["result"] is not True]
        assert len(applied) == 2 and len(refused) == 1, applied
        assert served in refused[0]["comment"], refused
        assert f"current stays {current}" in refused[0]["comment"], refused
        assert cluster.exec("sup2", "readlink /srv/models/iris/current").stdout.strip() == \
            current
        assert cluster.exec("sup2", f"test -e /srv/models/iris/{VERSION}",
                            check=False).returncode != 0
        # Publishing it again is refused too: a version is never rebuilt.
        again = publish(cluster)
        assert [r["result"] for r in again] == [False] and "never rebuilt" in again[0][
            "comment"]
    finally:
        forget(cluster)


def test_minionfs_serves_the_build_host_alone(cluster):
    pushed = "/etc/machine-id"
    assert cluster.salt("sup2", "cp.push", pushed)["sup2"] is True
    try:
        asked = cluster.salt("sup1", "cp.hash_file", f"salt://sup2{pushed}")["sup1"]
        assert not asked, f"minionfs serves sup2's pushed {pushed}: {asked}"
        own = cluster.salt("sup2", "cp.hash_file",
                           f"salt://sup1{OUTPUT}/iris-1.tar")["sup2"]
        assert own and own.get("hsum"), own
    finally:
        (config.MASTER_DIR / "cache/minions/sup2/files" / pushed.lstrip("/")).unlink(
            missing_ok=True)


def test_the_workers_verify_their_model_unprivileged(cluster):
    rendered = cluster.salt("sup2", "state.show_sls", "sklearn_model")["sup2"]
    args = {k: v for arg in rendered["sklearn_model-deploy-iris-sklearn_model-deployed"][
        "sklearn_model"] if isinstance(arg, dict) for k, v in arg.items()}
    assert args["verify_user"] == "nobody"
    nobody = int(cluster.exec("sup2", "id -u nobody").stdout)
    checked = cluster.salt("sup2", "sklearn_model.verify", "/srv/models/iris/1", PYTHON,
                           "user=nobody")["sup2"]
    assert checked["load_uid"] == nobody and checked["samples_ok"] is True, checked
