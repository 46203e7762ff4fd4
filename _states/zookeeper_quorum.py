"""
Bounded waits on ZooKeeper health, for the formula and the orchestrate.

``ready``          the ensemble has every expected member serving and one leader.
``node_serving``   after a restart, this node is serving again (used between the one-at-a-time
                   restarts of a rolling config change).

Neither changes anything, so both report no changes; in test mode they only report.
"""

import time

__virtualname__ = "zookeeper_quorum"


def __virtual__():
    if "zookeeper_quorum.quorum" in __salt__:
        return __virtualname__
    return (False, "the zookeeper_quorum execution module is not synced")


def _describe(quorum):
    parts = []
    for minion, state in sorted(quorum["members"].items()):
        what = state["mode"] if state["serving"] else (state["error"] or "not serving")
        parts.append(f"{minion} (id {state['id']}): {what}")
    return "; ".join(parts)


def ready(name, port=2181, timeout=120, interval=2):
    """
    Wait (at most ``timeout`` seconds) until every member of ``cluster:zookeeper`` serves
    and the ensemble has exactly one leader.

    .. code-block:: yaml

        zookeeper-quorum-ready:
          zookeeper_quorum.ready:
            - port: 2181
            - timeout: 120
    """
    ret = {"name": name, "changes": {}, "result": None, "comment": ""}
    if __opts__["test"]:
        quorum = __salt__["zookeeper_quorum.quorum"](port=port)
        ret["result"] = True if quorum["healthy"] else None
        ret["comment"] = f"would wait for the quorum; now: {_describe(quorum)}"
        return ret
    deadline = time.monotonic() + float(timeout)
    while True:
        quorum = __salt__["zookeeper_quorum.quorum"](port=port)
        if quorum["healthy"]:
            ret["result"] = True
            ret["comment"] = (
                f"quorum of {quorum['expected']} healthy, leader "
                f"{', '.join(quorum['leaders']) or 'standalone'}: {_describe(quorum)}"
            )
            return ret
        if time.monotonic() >= deadline:
            ret["result"] = False
            ret["comment"] = (
                f"quorum not healthy after {timeout}s ({len(quorum['serving'])} of "
                f"{quorum['expected']} serving, leaders: {quorum['leaders'] or 'none'}): "
                f"{_describe(quorum)}"
            )
            return ret
        time.sleep(float(interval))


def node_serving(name, address="127.0.0.1", port=2181, timeout=120, interval=2):
    """
    Wait until the local node serves again after a restart, so that a rolling restart never
    takes a second node down while the first is still rejoining.  When no other member is
    serving there is no ensemble to rejoin yet (first start) and it does not wait.

    .. code-block:: yaml

        zookeeper-rejoined:
          zookeeper_quorum.node_serving:
            - address: 10.0.0.11
            - port: 2181
            - onchanges:
              - service: zookeeper
    """
    ret = {"name": name, "changes": {}, "result": None, "comment": ""}
    quorum = __salt__["zookeeper_quorum.quorum"](port=port)
    me = [m for m, s in quorum["members"].items() if s["host"] == address]
    others = [m for m in quorum["serving"] if m not in me]
    if quorum["expected"] > 1 and not others:
        ret["result"] = True
        ret["comment"] = "no other member serving yet (first start): nothing to rejoin"
        return ret
    if __opts__["test"]:
        ret["comment"] = f"would wait for {address}:{port} to serve"
        return ret
    deadline = time.monotonic() + float(timeout)
    while True:
        state = __salt__["zookeeper_quorum.status"](address, port)
        if state["serving"]:
            ret["result"] = True
            ret["comment"] = f"{address}:{port} serving as {state['mode']}"
            return ret
        if time.monotonic() >= deadline:
            ret["result"] = False
            ret["comment"] = (
                f"{address}:{port} not serving {timeout}s after the restart: {state['error']}"
            )
            return ret
        time.sleep(float(interval))
