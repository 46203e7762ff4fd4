"""The bounded waits: they succeed as soon as health is reached and fail, naming each
member's state, when the time is up."""

import pytest


def member(id_, host, mode=None, error=None):
    return {"id": id_, "host": host, "serving": mode is not None, "mode": mode, "error": error}


def verdict(*states):
    members = {f"zk{s['id']}": s for s in states}
    leaders = [m for m, s in members.items() if s["mode"] == "leader"]
    serving = [m for m, s in members.items() if s["serving"]]
    return {"expected": len(states), "members": members, "leaders": leaders,
            "serving": serving, "healthy": len(leaders) == 1 and len(serving) == len(states)}


ELECTING = verdict(member(1, "a", error="electing"), member(2, "b", error="electing"),
                   member(3, "c", error="electing"))
HEALTHY = verdict(member(1, "a", "follower"), member(2, "b", "leader"), member(3, "c", "follower"))
ONE_DOWN = verdict(member(1, "a", error="refused"), member(2, "b", "leader"),
                   member(3, "c", "follower"))


@pytest.fixture
def states(loader):
    def make(sequence, status=None, test=False):
        answers = list(sequence)
        salt = {"zookeeper_quorum.quorum": lambda port: answers.pop(0) if len(answers) > 1
                else answers[0],
                "zookeeper_quorum.status": status}
        return loader("_states", "zookeeper_quorum", salt=salt, opts={"test": test})
    return make


def test_ready_waits_until_healthy(states):
    ret = states([ELECTING, ELECTING, HEALTHY]).ready("q", timeout=5, interval=0.01)
    assert ret["result"] is True and ret["changes"] == {}
    assert "leader zk2" in ret["comment"]


def test_ready_times_out_naming_each_member(states):
    ret = states([ONE_DOWN]).ready("q", timeout=0.05, interval=0.01)
    assert ret["result"] is False
    assert "2 of 3 serving" in ret["comment"] and "zk1 (id 1): refused" in ret["comment"]


def test_node_serving_does_not_wait_on_first_start(states):
    def status(*args):
        raise AssertionError("must not poll when nothing else serves")
    ret = states([ELECTING], status=status).node_serving("n", address="a", timeout=5)
    assert ret["result"] is True and "first start" in ret["comment"]


def test_node_serving_waits_for_the_restarted_member(states):
    polls = [member(1, "a", error="electing"), member(1, "a", "follower")]
    ret = states([ONE_DOWN], status=lambda a, p: polls.pop(0)).node_serving(
        "n", address="a", timeout=5, interval=0.01)
    assert ret["result"] is True and "serving as follower" in ret["comment"]
    assert polls == []


def test_node_serving_fails_when_the_member_never_returns(states):
    ret = states([ONE_DOWN], status=lambda a, p: member(1, "a", error="refused")).node_serving(
        "n", address="a", timeout=0.05, interval=0.01)
    assert ret["result"] is False and "refused" in ret["comment"]
