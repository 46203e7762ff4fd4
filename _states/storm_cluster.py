"""
Bounded waits on a Storm cluster's health as the leader nimbus reports it over its Thrift
API (the storm_nimbus module), for the formula and the orchestrate: a nimbus leader, every
supervisor registered with its slots, a topology ACTIVE.  They change nothing and report
no changes.  They run on a cluster host (the first nimbus, or the supervisor itself), so
Nimbus' Thrift port need only be reachable inside the cluster, not from the master.
"""

import time

from salt.exceptions import CommandExecutionError

__virtualname__ = "storm_cluster"
# Seconds a restarted daemon may have been up before the wait that follows its restart.
FRESH_SLACK = 15


def __virtual__():
    if "storm_nimbus.summary" in __salt__:
        return __virtualname__
    return (False, "the storm_nimbus execution module is not loaded (synced, with thriftpy2 "
            "in Salt's Python)")


def _wait(name, check, timeout, interval):
    """Poll check() -> (done, comment) until done or timeout; the state's return."""
    ret = {"name": name, "changes": {}, "result": None, "comment": ""}
    deadline = time.monotonic() + float(timeout)
    while True:
        try:
            done, comment = check()
        except CommandExecutionError as exc:
            done, comment = False, str(exc)
        if done or __opts__["test"]:
            ret["result"] = True if done else None
            ret["comment"] = comment if done else f"would wait: {comment}"
            return ret
        if time.monotonic() >= deadline:
            ret["result"] = False
            ret["comment"] = f"not after {timeout}s: {comment}"
            return ret
        time.sleep(float(interval))


def nimbus_leader(name, seeds, port=6627, timeout=180, interval=3):
    """
    Wait until exactly one nimbus is the leader.

    .. code-block:: yaml

        storm-leader:
          storm_cluster.nimbus_leader:
            - seeds: [10.0.0.21]
    """
    def check():
        nimbuses = __salt__["storm_nimbus.summary"](seeds, port)["nimbuses"]
        states = ", ".join(f"{n.get('host')}:{n.get('port')} "
                           f"{'leader' if n.get('is_leader') else 'not a leader'} "
                           f"(Storm {n.get('version')})"
                           for n in nimbuses) or "no nimbus registered"
        leaders = [n for n in nimbuses if n.get("is_leader")]
        return len(leaders) == 1, f"nimbuses: {states}"
    return _wait(name, check, timeout, interval)


def supervisors_registered(name, seeds, hosts, slots=None, fresh=False, port=6627,
                           timeout=180, interval=3):
    """
    Wait until a supervisor is registered for every address in ``hosts``, each with
    ``slots`` slots when given.  With ``fresh`` the registration must be younger than
    this wait (plus a little): after a restart, the old process' entry can linger in
    ZooKeeper until its session expires, and must not count.

    .. code-block:: yaml

        storm-supervisors:
          storm_cluster.supervisors_registered:
            - seeds: [10.0.0.21]
            - hosts: [10.0.0.31, 10.0.0.32]
            - slots: 4
    """
    started = time.monotonic()

    def check():
        entries = __salt__["storm_nimbus.summary"](seeds, port)["supervisors"]
        if fresh:
            # A lingering old entry must neither count nor hide the new one; an entry
            # without an uptime cannot show it is new.
            young = time.monotonic() - started + FRESH_SLACK
            entries = [s for s in entries if s.get("uptime_secs") is not None
                       and s["uptime_secs"] <= young]
        found = {s.get("host"): s for s in entries}
        missing = [h for h in hosts if h not in found]
        wrong = [f"{h} has {found[h].get('slots_total')} slots" for h in hosts
                 if h in found and slots is not None and found[h].get("slots_total") != slots]
        problems = ([f"not registered: {', '.join(missing)}"] if missing else []) + wrong
        if problems:
            return False, "; ".join(problems)
        return True, f"{len(hosts)} supervisors registered" + (
            f", {slots} slots each" if slots is not None else "")
    return _wait(name, check, timeout, interval)


def topology_active(name, seeds, port=6627, timeout=180, interval=3):
    """
    Wait until the topology ``name`` is ACTIVE.

    .. code-block:: yaml

        iris:
          storm_cluster.topology_active:
            - seeds: [10.0.0.21]
    """
    def check():
        topologies = __salt__["storm_nimbus.summary"](seeds, port)["topologies"]
        status = {t.get("name"): t.get("status") for t in topologies}
        return status.get(name) == "ACTIVE", f"topology {name}: {status.get(name, 'absent')}"
    return _wait(name, check, timeout, interval)


def znodes_absent(name, hosts, timeout=10, auth=None):
    """
    Remove the Storm cluster's znodes under ``name`` (storm.zookeeper.root) from the
    ensemble ``hosts`` (``h1:2181,h2:2181``); no change when they are already gone.

    .. code-block:: yaml

        /storm:
          storm_cluster.znodes_absent:
            - hosts: 10.0.0.11:2181,10.0.0.12:2181,10.0.0.13:2181

    ``auth`` is the daemons' digest payload (``user:password``) where Storm's znodes have
    ACLs (storm:zookeeper_auth).
    """
    ret = {"name": name, "changes": {}, "result": True, "comment": ""}
    if not __salt__["storm_znodes.exists"](hosts, name, timeout, auth):
        ret["comment"] = f"{name} is already absent"
        return ret
    if __opts__["test"]:
        ret["result"] = None
        ret["comment"] = f"would remove {name} and everything under it"
        ret["changes"] = {"removed": name}
        return ret
    __salt__["storm_znodes.remove"](hosts, name, timeout, auth)
    ret["comment"] = f"removed {name} and everything under it"
    ret["changes"] = {"removed": name}
    return ret
