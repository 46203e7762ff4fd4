"""storm_cluster's bounded waits against a scripted UI: a leader, supervisors with their
slots (and, after a restart, only a registration younger than the wait), a topology
ACTIVE; none of them reports changes."""

import pytest
from salt.exceptions import CommandExecutionError

UI = "http://10.0.0.21:8080"


@pytest.fixture
def make(loader):
    def build(answers, test=False):
        """answers: {path: [answer, answer, ...]}, one per call, the last one repeated."""
        calls = {}

        def get(ui_url, path, timeout=5):
            seen = calls.setdefault(path, 0)
            calls[path] = seen + 1
            script = answers[path]
            answer = script[min(seen, len(script) - 1)]
            if isinstance(answer, Exception):
                raise answer
            return answer
        return loader("_states", "storm_cluster", salt={"storm_ui.get": get,
                                                        "storm_ui.summary": None},
                      opts={"test": test})
    return build


def sup(host, slots=2, uptime=5):
    return {"host": host, "slotsTotal": slots, "uptimeSeconds": uptime}


def test_supervisors_wait_for_every_host_and_its_slots(make):
    state = make({"supervisor/summary": [
        CommandExecutionError("Storm UI: connection refused"),
        {"supervisors": [sup("10.0.0.31")]},
        {"supervisors": [sup("10.0.0.31"), sup("10.0.0.32", slots=1)]},
        {"supervisors": [sup("10.0.0.31"), sup("10.0.0.32")]}]})
    ret = state.supervisors_registered("s", UI, ["10.0.0.31", "10.0.0.32"], slots=2,
                                       timeout=5, interval=0.01)
    assert ret["result"] is True and ret["changes"] == {}
    assert ret["comment"] == "2 supervisors registered, 2 slots each"


def test_a_lingering_old_registration_does_not_count_after_a_restart(make):
    stale = {"supervisors": [sup("10.0.0.31", uptime=3600)]}
    state = make({"supervisor/summary": [stale]})
    ret = state.supervisors_registered("s", UI, ["10.0.0.31"], fresh=True, timeout=0.05,
                                       interval=0.01)
    assert ret["result"] is False and "not registered: 10.0.0.31" in ret["comment"]
    state = make({"supervisor/summary": [stale, {"supervisors": [sup("10.0.0.31", 2)]}]})
    ret = state.supervisors_registered("s", UI, ["10.0.0.31"], fresh=True, timeout=5,
                                       interval=0.01)
    assert ret["result"] is True
    # An entry without an uptime cannot prove it is new; nor may a stale duplicate hide
    # the fresh one.
    state = make({"supervisor/summary": [{"supervisors": [{"host": "10.0.0.31"}]}]})
    assert state.supervisors_registered("s", UI, ["10.0.0.31"], fresh=True, timeout=0.05,
                                        interval=0.01)["result"] is False
    both = {"supervisors": [sup("10.0.0.31", uptime=2), sup("10.0.0.31", uptime=3600)]}
    state = make({"supervisor/summary": [both]})
    assert state.supervisors_registered("s", UI, ["10.0.0.31"], fresh=True,
                                        timeout=0)["result"] is True
    # Without `fresh` the old entry is enough (the cluster-wide check).
    state = make({"supervisor/summary": [stale]})
    assert state.supervisors_registered("s", UI, ["10.0.0.31"], timeout=0)["result"] is True


def test_leader_needs_exactly_one(make):
    two = {"nimbuses": [{"host": "a", "port": 6627, "status": "Leader"},
                        {"host": "b", "port": 6627, "status": "Leader"}]}
    state = make({"nimbus/summary": [two]})
    ret = state.nimbus_leader("l", UI, timeout=0.05, interval=0.01)
    assert ret["result"] is False and "a:6627 Leader, b:6627 Leader" in ret["comment"]


def test_topology_active_and_test_mode(make):
    inactive = {"topologies": [{"name": "iris", "status": "INACTIVE"}]}
    active = {"topologies": [{"name": "iris", "status": "ACTIVE"}]}
    state = make({"topology/summary": [inactive, active]})
    ret = state.topology_active("iris", UI, timeout=5, interval=0.01)
    assert ret["result"] is True and ret["comment"] == "topology iris: ACTIVE"
    state = make({"topology/summary": [inactive]}, test=True)
    ret = state.topology_active("iris", UI, timeout=5, interval=0.01)
    assert ret["result"] is None and ret["comment"] == "would wait: topology iris: INACTIVE"
