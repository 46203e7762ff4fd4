"""Membership: explicit pillar lists and mine discovery, and every refusal names its key."""

import pytest
from salt.exceptions import CommandExecutionError


def with_pillar(module, cluster):
    module.__pillar__ = {"cluster": cluster}
    return module


@pytest.fixture
def explicit(loader):
    def make(cluster, minion="zk1", role="minion"):
        return with_pillar(loader("_modules", "clustermap", opts={"id": minion, "__role": role}),
                           cluster)
    return make


ZK3 = [{"id": 3, "minion": "c", "address": "10.0.0.3"},
       {"id": 1, "minion": "a", "address": "10.0.0.1"},
       {"id": 2, "minion": "b"}]


def test_explicit_members_sorted_by_id_with_address_default(explicit):
    members = explicit({"zookeeper": ZK3, "nimbus": ["n1"], "supervisor": ["s2", "s1"]}).members()
    assert [(m["id"], m["minion"], m["address"]) for m in members["zookeeper"]] == [
        (1, "a", "10.0.0.1"), (2, "b", "b"), (3, "c", "10.0.0.3")]
    assert [m["minion"] for m in members["supervisor"]] == ["s1", "s2"]
    assert members["nimbus"] == [{"minion": "n1", "address": "n1"}]


def test_me_and_minions(explicit):
    mod = explicit({"zookeeper": ZK3}, minion="b")
    assert mod.me("zookeeper")["id"] == 2
    assert mod.me("nimbus") is None
    assert mod.minions("zookeeper") == ["a", "b", "c"]
    with pytest.raises(CommandExecutionError, match="role: unknown role 'zk'"):
        mod.minions("zk")


@pytest.mark.parametrize("cluster, message", [
    ({}, r"^cluster:zookeeper: no members"),
    ({"zookeeper": []}, r"^cluster:zookeeper: no members"),
    ({"zookeeper": ZK3[:2]}, r"^cluster:zookeeper: 2 members; a quorum needs an odd number"),
    ({"zookeeper": [{"id": 1, "minion": "a"}, {"id": 1, "minion": "b"},
                    {"id": 2, "minion": "c"}]},
     r"^cluster:zookeeper:1:id: id 1 is used by both a and b"),
    ({"zookeeper": [{"id": 0, "minion": "a"}]},
     r"^cluster:zookeeper:0:id: 0 is out of range: a ZooKeeper id from 1 to 255"),
    ({"zookeeper": [{"id": 256, "minion": "a"}]}, r"^cluster:zookeeper:0:id: 256 is out of range"),
    ({"zookeeper": [{"id": "one", "minion": "a"}]},
     r"^cluster:zookeeper:0:id: 'one' \(string\) is not a whole number"),
    ({"zookeeper": [{"id": True, "minion": "a"}]},
     r"^cluster:zookeeper:0:id: True \(true/false\) is not a whole number"),
    ({"zookeeper": [{"id": 1}]}, r"^cluster:zookeeper:0:minion: missing"),
    ({"zookeeper": [{"id": 1, "minion": "a"}, {"id": 2, "minion": "a"},
                    {"id": 3, "minion": "b"}]}, r"^cluster:zookeeper:1:minion: a is listed twice"),
    ({"zookeeper": "a,b,c"}, r"^cluster:zookeeper: 'a,b,c' \(string\) is not a list"),
    ({"discovery": "dns", "zookeeper": ZK3},
     r"^cluster:discovery: 'dns' is not one of pillar, mine"),
    ({"zookeeper": ZK3, "supervisor": ["s", "s"]}, r"^cluster:supervisor:1:minion: s is listed"),
    # Addresses are addresses: no port, no scheme; one per host, one host per address.
    ({"zookeeper": ZK3, "supervisor": [{"minion": "s", "address": "10.0.0.9:6700"}]},
     r"^cluster:supervisor:0:address: '10.0.0.9:6700' \(string\) is not an IP address or "
     r"host name \(no port, no scheme\)"),
    ({"zookeeper": ZK3, "nimbus": [{"minion": "n", "address": "http://n"}]},
     r"^cluster:nimbus:0:address: 'http://n' \(string\) is not an IP address"),
    ({"zookeeper": ZK3, "supervisor": [{"minion": "s1", "address": "10.0.0.9"},
                                       {"minion": "s2", "address": "10.0.0.9"}]},
     r"^cluster:supervisor:1:address: 10.0.0.9 is already s1's address "
     r"\(cluster:supervisor:0\); two hosts cannot share one"),
    ({"zookeeper": ZK3, "supervisor": [{"minion": "s1", "address": "10.0.0.1"}]},
     r"^cluster:supervisor:0:address: 10.0.0.1 is already a's address"),
    ({"zookeeper": ZK3, "nimbus": [{"minion": "n", "address": "10.0.0.8"}],
      "supervisor": [{"minion": "n", "address": "10.0.0.9"}]},
     r"^cluster:supervisor:0:address: 10.0.0.9, but n is at 10.0.0.8 as cluster:nimbus:0; a "
     r"host has one cluster address"),
    ({"zookeeper": ZK3, "supervisor": ["sup_1"]},
     r"^cluster:supervisor:0:address: missing, and the minion id 'sup_1' is not a host name"),
    ({"zookeeper": ZK3, "supervisors": ["s"]},
     r"^cluster:supervisors: is not a setting here \(did you mean supervisor\?\)"),
])
def test_bad_membership_is_refused_naming_the_key(explicit, cluster, message):
    with pytest.raises(CommandExecutionError, match=message):
        explicit(cluster).members()


MINE = {
    "zka": {"roles": ["zookeeper"], "zookeeper_id": 2, "address": "10.1.0.1"},
    "zkb": {"roles": ["zookeeper", "nimbus"], "zookeeper_id": 1, "address": "10.1.0.2"},
    "zkc": {"roles": ["zookeeper"], "zookeeper_id": 3, "address": "10.1.0.3"},
    "s1": {"roles": ["supervisor"], "zookeeper_id": None, "address": "10.1.0.9"},
}


def mine_module(loader, mine, role="minion"):
    calls = []

    def mine_get(tgt, fun, tgt_type):
        calls.append(("mine.get", tgt, fun, tgt_type))
        return mine

    def runner(name, **kwargs):
        calls.append((f"runner {name}", kwargs["tgt"], kwargs["fun"], kwargs["tgt_type"]))
        return mine

    salt = {"mine.get": mine_get, "saltutil.runner": runner}
    module = loader("_modules", "clustermap", salt=salt, opts={"id": "zka", "__role": role})
    return with_pillar(module, {"discovery": "mine"}), calls


@pytest.mark.parametrize("role, via", [("minion", "mine.get"), ("master", "runner mine.get")])
def test_mine_discovery(loader, role, via):
    mod, calls = mine_module(loader, MINE, role)
    members = mod.members()
    assert [(m["id"], m["minion"]) for m in members["zookeeper"]] == [
        (1, "zkb"), (2, "zka"), (3, "zkc")]
    assert [m["minion"] for m in members["nimbus"]] == ["zkb"]
    assert [m["address"] for m in members["supervisor"]] == ["10.1.0.9"]
    # On the master (orchestrate) the mine is read through the mine runner.
    assert calls[0] == (via, "*", "clustermap.node", "glob")


def test_mine_host_without_id_grain_is_refused(loader):
    mine = dict(MINE, zkd={"roles": ["zookeeper"], "zookeeper_id": None, "address": "10.1.0.4"})
    mod, _ = mine_module(loader, mine)
    with pytest.raises(CommandExecutionError,
                       match=r"^cluster:zookeeper: minion zkd has the zookeeper role but no "
                             r"'zookeeper_id' grain"):
        mod.members()


def test_node_picks_the_address_in_the_cluster_network(loader):
    grains = {"roles": ["zookeeper", "webserver"], "zookeeper_id": 2}
    salt = {
        "grains.get": lambda key, default=None: grains.get(key, default),
        "network.ip_addrs": lambda: ["192.0.2.2", "10.77.0.12"],
    }
    mod = with_pillar(loader("_modules", "clustermap", salt=salt),
                      {"discovery": "mine", "mine": {"network": "10.77.0.0/24"}})
    assert mod.node() == {"roles": ["zookeeper"], "zookeeper_id": 2, "address": "10.77.0.12"}
