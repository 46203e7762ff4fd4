"""storm_cluster's bounded waits against a scripted leader nimbus (storm_nimbus.summary):
a leader, supervisors with their slots (and, after a restart, only a registration younger
than the wait), a topology ACTIVE; none of them reports changes."""

import pytest
from salt.exceptions import CommandExecutionError

SEEDS = ["10.0.0.21"]


@pytest.fixture
def make(loader):
    def build(script, test=False):
        """script: one summary (or exception) per call, the last one repeated; each
        summary holds only the parts a test sets."""
        calls = []

        def summary(seeds, port=6627, timeout=5):
            assert seeds == SEEDS and port == 6627
            answer = script[min(len(calls), len(script) - 1)]
            calls.append(answer)
            if isinstance(answer, Exception):
                raise answer
            return {"leader": None, "nimbuses": [], "supervisors": [], "topologies": [],
                    **answer}
        return loader("_states", "storm_cluster", salt={"storm_nimbus.summary": summary},
                      opts={"test": test})
    return build


def sup(host, slots=2, uptime=5):
    return {"host": host, "slots_total": slots, "uptime_secs": uptime}


def test_supervisors_wait_for_every_host_and_its_slots(make):
    state = make([
        CommandExecutionError("nimbus 10.0.0.21:6627: connection refused"),
        {"supervisors": [sup("10.0.0.31")]},
        {"supervisors": [sup("10.0.0.31"), sup("10.0.0.32", slots=1)]},
        {"supervisors": [sup("10.0.0.31"), sup("10.0.0.32")]}])
    ret = state.supervisors_registered("s", SEEDS, ["10.0.0.31", "10.0.0.32"], slots=2,
                                       timeout=5, interval=0.01)
    assert ret["result"] is True and ret["changes"] == {}
    assert ret["comment"] == "2 supervisors registered, 2 slots each"


def test_supervisors_report_what_is_missing_and_wrong(make):
    state = make([{"supervisors": [sup("10.0.0.32", slots=1)]}])
    ret = state.supervisors_registered("s", SEEDS, ["10.0.0.31", "10.0.0.32"], slots=2,
                                       timeout=0.05, interval=0.01)
    assert ret["result"] is False
    assert ret["comment"] == ("not after 0.05s: not registered: 10.0.0.31; "
                              "10.0.0.32 has 1 slots")
    # An unreachable nimbus is said as such.
    state = make([CommandExecutionError("nimbus 10.0.0.21:6627: connection refused")])
    ret = state.supervisors_registered("s", SEEDS, ["10.0.0.31"], timeout=0, interval=0.01)
    assert ret["comment"] == "not after 0s: nimbus 10.0.0.21:6627: connection refused"


def test_a_lingering_old_registration_does_not_count_after_a_restart(make):
    stale = {"supervisors": [sup("10.0.0.31", uptime=3600)]}
    state = make([stale])
    ret = state.supervisors_registered("s", SEEDS, ["10.0.0.31"], fresh=True, timeout=0.05,
                                       interval=0.01)
    assert ret["result"] is False and "not registered: 10.0.0.31" in ret["comment"]
    state = make([stale, {"supervisors": [sup("10.0.0.31", 2)]}])
    ret = state.supervisors_registered("s", SEEDS, ["10.0.0.31"], fresh=True, timeout=5,
                                       interval=0.01)
    assert ret["result"] is True
    # An entry without an uptime cannot prove it is new; nor may a stale duplicate hide
    # the fresh one.
    state = make([{"supervisors": [{"host": "10.0.0.31", "slots_total": 2}]}])
    assert state.supervisors_registered("s", SEEDS, ["10.0.0.31"], fresh=True,
                                        timeout=0.05, interval=0.01)["result"] is False
    both = {"supervisors": [sup("10.0.0.31", uptime=2), sup("10.0.0.31", uptime=3600)]}
    state = make([both])
    assert state.supervisors_registered("s", SEEDS, ["10.0.0.31"], fresh=True,
                                        timeout=0)["result"] is True
    # Without `fresh` the old entry is enough (the cluster-wide check).
    state = make([stale])
    assert state.supervisors_registered("s", SEEDS, ["10.0.0.31"], timeout=0)["result"]


def nim(host, leader, version="2.8.3"):
    return {"host": host, "port": 6627, "is_leader": leader, "version": version}


def test_leader_needs_exactly_one(make):
    state = make([{"nimbuses": [nim("a", True), nim("b", True)]}])
    ret = state.nimbus_leader("l", SEEDS, timeout=0.05, interval=0.01)
    assert ret["result"] is False
    assert "a:6627 leader (Storm 2.8.3), b:6627 leader (Storm 2.8.3)" in ret["comment"]
    state = make([CommandExecutionError("nimbus 10.0.0.21:6627: no leader"),
                  {"nimbuses": [nim("a", False)]},
                  {"nimbuses": [nim("a", True), nim("b", False)]}])
    ret = state.nimbus_leader("l", SEEDS, timeout=5, interval=0.01)
    assert ret["result"] is True and ret["changes"] == {}
    assert ret["comment"] == ("nimbuses: a:6627 leader (Storm 2.8.3), "
                              "b:6627 not a leader (Storm 2.8.3)")


def test_topology_active_and_test_mode(make):
    inactive = {"topologies": [{"name": "iris", "status": "INACTIVE"}]}
    active = {"topologies": [{"name": "iris", "status": "ACTIVE"}]}
    state = make([inactive, active])
    ret = state.topology_active("iris", SEEDS, timeout=5, interval=0.01)
    assert ret["result"] is True and ret["comment"] == "topology iris: ACTIVE"
    state = make([inactive], test=True)
    ret = state.topology_active("iris", SEEDS, timeout=5, interval=0.01)
    assert ret["result"] is None and ret["comment"] == "would wait: topology iris: INACTIVE"
    state = make([{}])
    ret = state.topology_active("iris", SEEDS, timeout=0, interval=0.01)
    assert ret["result"] is False and ret["comment"] == "not after 0s: topology iris: absent"
