"""storm.orchestrate rendered for the pillar.example cluster: the steps, their targets from
membership, and the order the requisites impose."""

from saltrender import ROOT

PILLARS = ROOT / "test" / "pillar"


def steps(minion, pillar_dir):
    states = minion(pillar_dir, "master_master").show_sls("storm.orchestrate")
    result = {}
    for state_id, body in states.items():
        args = {k: v for arg in body["salt"] if isinstance(arg, dict) for k, v in arg.items()}
        result[state_id.replace("storm-orchestrate-", "").replace("-salt-state", "")] = args
    return result


def order(steps_by_id):
    """Step ids in an order that satisfies every require (each step requires one other)."""
    done, ordered = set(), []
    while len(ordered) < len(steps_by_id):
        for sid, args in steps_by_id.items():
            needs = [r["salt"].replace("storm-orchestrate-", "").replace("-salt-state", "")
                     for r in args.get("require", [])]
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
