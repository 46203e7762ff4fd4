"""storm.orchestrate rendered for the pillar.example cluster: the steps, their targets from
membership, and the order the requisites impose."""

from saltrender import ROOT

PILLARS = ROOT / "test" / "pillar"


def steps(minion, pillar_dir):
    states = minion(pillar_dir, "master_master").show_sls("storm.orchestrate")
    result = {}
    for state_id, body in states.items():
        # salt.state steps, and the master's own steps (sklearn_model.published).
        (module, fun_args), = ((k, v) for k, v in body.items() if not k.startswith("__"))
        args = {k: v for arg in fun_args if isinstance(arg, dict) for k, v in arg.items()}
        args["state"] = f"{module}.{next(a for a in fun_args if isinstance(a, str))}"
        result[short(state_id)] = args
    return result


def short(state_id):
    return (state_id.replace("storm-orchestrate-", "").replace("-salt-state", "")
            .replace("-sklearn_model-published", ""))


def order(steps_by_id):
    """Step ids in an order that satisfies every require (each step requires one other)."""
    done, ordered = set(), []
    while len(ordered) < len(steps_by_id):
        for sid, args in steps_by_id.items():
            needs = [short(target) for r in args.get("require", []) for target in r.values()]
            if sid not in done and all(n in done for n in needs):
                done.add(sid)
                ordered.append(sid)
    return ordered


def test_example_cluster_steps_in_order(minion):
    found = steps(minion, PILLARS / "example")
    assert order(found) == [
        "sync", "zookeeper-install", "zookeeper-member-zk1", "zookeeper-member-zk2",
        "zookeeper-member-zk3", "zookeeper-quorum", "conda", "model-build", "model",
        "storm-install", "nimbus", "nimbus-leader", "supervisors",
        "supervisors-registered", "topology-submit", "topology-active", "predictions"]
    # One member at a time, each its own step (outside the master nobody is asked who
    # leads, so membership's order; the lab's drill sees the leader go last).
    assert [found[f"zookeeper-member-{m}"]["tgt"] for m in ("zk1", "zk2", "zk3")] == [
        "zk1", "zk2", "zk3"]
    assert not any("batch" in found[f"zookeeper-member-{m}"] for m in ("zk1", "zk2", "zk3"))
    # sparse submits from the topology's conda environment on the nimbus host.
    assert found["conda"]["tgt"] == "sup1,sup2,nimbus1"
    assert found["topology-submit"]["tgt"] == "nimbus1"
    assert found["predictions"]["tgt"] == "sup1,sup2"
    assert all(step["failhard"] is True for step in found.values())
    assert found["storm-install"]["tgt"] == "nimbus1,sup1,sup2"
    assert found["supervisors"]["batch"] == 1
    assert found["sync"]["tgt"] == "zk1,zk2,zk3,nimbus1,sup1,sup2"


def test_quorum_only_cluster_has_only_the_quorum_steps(minion):
    assert order(steps(minion, PILLARS / "zk3")) == [
        "sync", "zookeeper-install", "zookeeper-member-zk1", "zookeeper-member-zk2",
        "zookeeper-member-zk3", "zookeeper-quorum"]


def test_without_topologies_nimbus_gets_no_conda_and_nothing_is_submitted(minion, tmp_path):
    root = tmp_path / "pillar"
    root.mkdir()
    (root / "example.sls").write_text((PILLARS / "example" / "example.sls").read_text())
    (root / "notopo.sls").write_text("storm:\n  topologies:\n    iris:\n      enabled: false\n")
    (root / "top.sls").write_text("base:\n  '*':\n    - example\n    - notopo\n")
    found = steps(minion, root)
    assert order(found)[-1] == "supervisors-registered"
    assert found["conda"]["tgt"] == "sup1,sup2"


def test_a_built_model_is_published_by_the_master_before_the_workers_fetch_it(minion,
                                                                              tmp_path):
    root = tmp_path / "pillar"
    root.mkdir()
    (root / "example.sls").write_text((PILLARS / "example" / "example.sls").read_text())
    (root / "built.sls").write_text("sklearn_model:\n  models:\n    digits:\n      version: '4'"
                                    "\n      build: {minion: sup2}\n")
    (root / "top.sls").write_text("base:\n  '*':\n    - example\n    - built\n")
    found = steps(minion, root)
    ordered = order(found)
    assert ordered.index("model-build") < ordered.index("model-publish-digits") < ordered.index(
        "model")
    publish = found["model-publish-digits"]
    # On the master itself (no target), from the copy sup2 pushed.
    assert publish["state"] == "sklearn_model.published" and "tgt" not in publish
    assert (publish["minion"], publish["version"]) == ("sup2", "4")
    assert publish["path"] == "/var/cache/sklearn_model/build/digits-4.tar"
    assert "sup2" not in publish["others"] and {"zk1", "nimbus1", "sup1"} <= set(
        publish["others"])
    assert publish["strict"] is True and publish["failhard"] is True
    # The workers get the master's hash when their step runs, not at render time.
    assert found["model"]["pillar"] == {
        "sklearn_model": "__slot__:salt:sklearn_model.handoff(digits)"}
