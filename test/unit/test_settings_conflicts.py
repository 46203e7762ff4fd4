"""
Conflicts no single key shows, computed from membership: every port that will listen on a
host (ZooKeeper's, nimbus Thrift, UI, DRPC, the supervisor's Thrift, logviewer, every slot)
is distinct there, whichever formulas put it there; the same number on different hosts is
fine.  Refused on the master (the orchestrate's render) and on every minion alike.
"""

import copy

import pytest
from salt.exceptions import CommandExecutionError
from settings_harness import Render, example

# pillar.example's cluster with nimbus1 also a ZooKeeper host (one machine, two roles).
SHARED = copy.deepcopy(example())
SHARED["cluster"]["nimbus"] = [{"minion": "zk1", "address": "10.0.0.11"}]


def with_changes(base, **formulas):
    pillar = copy.deepcopy(base)
    for formula, settings in formulas.items():
        pillar[formula] = {**pillar.get(formula, {}), **settings}
    return pillar


@pytest.mark.parametrize("base,changes,message", [
    (example(), {"storm": {"config": {"ui.port": 6627}}},
     r"^storm:config:ui.port: port 6627 is also storm:config:nimbus.thrift.port; every port "
     r"that listens on nimbus1 must differ"),
    (example(), {"storm": {"slots_ports": [6700, 8000]}},
     r"^storm:slots_ports \(slot port 8000\): port 8000 is also storm:config:logviewer.port; "
     r"every port that listens on sup1 must differ"),
    (example(), {"storm": {"first_slot_port": 6626}},
     r"^storm:first_slot_port \(slot port 6628\): port 6628 is also "
     r"storm:config:supervisor.thrift.port"),
    (SHARED, {"zookeeper": {"ports": {"client": 6627, "quorum": 2888, "election": 3888}}},
     r"^storm:config:nimbus.thrift.port: port 6627 is also zookeeper:ports:client; every port "
     r"that listens on zk1"),
    (SHARED, {"zookeeper": {"properties": {"admin.enableServer": True}}},
     r"^storm:config:ui.port: port 8080 is also zookeeper:properties:admin.serverPort"),
    (example(), {"storm": {"daemons": {"drpc": True}, "config": {"drpc.port": 6627}}},
     r"^storm:config:drpc.port: port 6627 is also storm:config:nimbus.thrift.port"),
])
@pytest.mark.parametrize("minion", ["master", "nimbus1", "sup1", "zk1"])
def test_two_listeners_on_one_port_of_a_host_are_refused(base, changes, message, minion):
    with pytest.raises(CommandExecutionError, match=message):
        Render(with_changes(base, **changes), minion).maps()


def test_the_same_port_on_different_hosts_is_fine():
    # The UI on nimbus1 and a slot on each supervisor share a number, not a host.
    pillar = with_changes(example(), storm={"config": {"ui.port": 6700}})
    ports = Render(pillar, "sup1").map("storm")
    assert ports["storm_yaml"]["ui.port"] == 6700


def test_a_disabled_daemon_opens_no_port():
    pillar = with_changes(example(), storm={"daemons": {"ui": False},
                                             "config": {"ui.port": 6627}})
    Render(pillar, "nimbus1").maps()
    pillar["storm"]["daemons"]["ui"] = True
    with pytest.raises(CommandExecutionError, match=r"^storm:config:ui.port: port 6627"):
        Render(pillar, "nimbus1").maps()


def test_every_host_lists_what_will_listen_there():
    hosts = Render(SHARED, "master").salt["storm_config.host_ports"]
    storm = Render(SHARED, "master").map("storm")
    listening = hosts(storm["members"], storm["storm_yaml"], storm,
                      Render(SHARED, "master").map("zookeeper"))
    assert sorted(listening) == ["sup1", "sup2", "zk1", "zk2", "zk3"]
    zk1 = dict((port, key) for key, port in listening["zk1"])
    assert zk1 == {2181: "zookeeper:ports:client", 2888: "zookeeper:ports:quorum",
                   3888: "zookeeper:ports:election", 6627: "storm:config:nimbus.thrift.port",
                   8080: "storm:config:ui.port"}
    assert sorted(port for _, port in listening["sup1"]) == [6628, 6700, 6701, 6702, 6703,
                                                              8000]
