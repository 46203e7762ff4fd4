"""
Cluster membership: the one place that decides which hosts run ZooKeeper, Storm nimbus and
Storm supervisors, and at which addresses.

Every formula of the package (zoo.cfg server lines and ``myid``, ``storm.zookeeper.servers``,
``nimbus.seeds``, the orchestrate targets) reads membership through this module, so they can
never disagree.  Two ways to describe a cluster are supported, chosen by
``cluster:discovery``:

``pillar`` (default)
    explicit lists in pillar, ``cluster:zookeeper`` with stable 1-based ids.

``mine``
    every host says what it is through a grain (``roles`` by default, a list such as
    ``[zookeeper, supervisor]``) and its ZooKeeper id through another grain
    (``zookeeper_id``); addresses come from the Salt mine (this module's :func:`node`,
    published as a mine function).

Input that cannot describe a healthy cluster raises ``CommandExecutionError`` with a message
naming the pillar key, so a state that renders membership fails before it changes anything.
"""

import ipaddress
import logging

from salt.exceptions import CommandExecutionError

log = logging.getLogger(__name__)

__virtualname__ = "clustermap"

ROLES = ("zookeeper", "nimbus", "supervisor")
DEFAULTS = {
    "discovery": "pillar",
    "mine": {
        "target": "*",
        "tgt_type": "glob",
        "function": "clustermap.node",
        "roles_grain": "roles",
        "zookeeper_id_grain": "zookeeper_id",
        "network": None,
    },
}
# ZooKeeper reads myid as a number from 1 to 255.
MYID_MIN, MYID_MAX = 1, 255


def __virtual__():
    return __virtualname__


def _fail(key, message):
    raise CommandExecutionError(f"cluster:{key}: {message}")


def _settings():
    settings = dict(DEFAULTS)
    # __pillar__, not pillar.get: since Salt 3008 pillar.get called outside a template
    # returns masked values ('**********'), which would make every value look invalid.
    pillar = __pillar__.get("cluster", {}) or {}
    if not isinstance(pillar, dict):
        _fail("", "must be a mapping")
    settings.update({k: v for k, v in pillar.items() if k != "mine"})
    mine = dict(DEFAULTS["mine"])
    mine.update(pillar.get("mine") or {})
    settings["mine"] = mine
    if settings["discovery"] not in ("pillar", "mine"):
        _fail("discovery", f"unknown value {settings['discovery']!r}; use 'pillar' or 'mine'")
    return settings


def _address_in(addresses, network):
    if not network:
        return addresses[0] if addresses else None
    try:
        net = ipaddress.ip_network(network, strict=False)
    except ValueError as exc:
        _fail("mine:network", f"not a network: {exc}")
    for address in addresses:
        if ipaddress.ip_address(address) in net:
            return address
    return None


def node():
    """
    What this host contributes to membership; published through the Salt mine.

    CLI Example:

    .. code-block:: bash

        salt '*' clustermap.node
    """
    settings = _settings()["mine"]
    roles = __salt__["grains.get"](settings["roles_grain"], [])
    if isinstance(roles, str):
        roles = [roles]
    addresses = __salt__["network.ip_addrs"]()
    return {
        "roles": sorted(r for r in roles if r in ROLES),
        "zookeeper_id": __salt__["grains.get"](settings["zookeeper_id_grain"], None),
        "address": _address_in(addresses, settings["network"]),
    }


def _mine_nodes(settings):
    mine = settings["mine"]
    args = {"tgt": mine["target"], "fun": mine["function"], "tgt_type": mine["tgt_type"]}
    if __opts__.get("__role") == "master":
        # Master-side rendering (the orchestrate) has no minion mine; ask the mine runner.
        return __salt__["saltutil.runner"]("mine.get", **args) or {}
    return __salt__["mine.get"](**args) or {}


def _from_mine(settings):
    nodes = _mine_nodes(settings)
    id_grain = settings["mine"]["zookeeper_id_grain"]
    members = {role: [] for role in ROLES}
    for minion, data in sorted(nodes.items()):
        if not isinstance(data, dict):
            continue
        for role in data.get("roles") or []:
            entry = {"minion": minion, "address": data.get("address")}
            if role == "zookeeper":
                if data.get("zookeeper_id") in (None, ""):
                    _fail(
                        "zookeeper",
                        f"minion {minion} has the zookeeper role but no '{id_grain}' grain; "
                        "ids must be stable, so set it on every ZooKeeper host",
                    )
                entry["id"] = data["zookeeper_id"]
            if not entry["address"]:
                _fail(
                    "mine:network",
                    f"minion {minion} published no address in the cluster network",
                )
            members[role].append(entry)
    return members


def _from_pillar(settings):
    members = {}
    for role in ROLES:
        entries = settings.get(role) or []
        if not isinstance(entries, list):
            _fail(role, "must be a list of hosts")
        normalised = []
        for index, entry in enumerate(entries):
            if isinstance(entry, str):
                entry = {"minion": entry}
            if not isinstance(entry, dict) or not entry.get("minion"):
                _fail(f"{role}:{index}", "each host needs a 'minion' (its minion id)")
            entry = dict(entry)
            # Without an explicit address the minion id must resolve on every host.
            entry.setdefault("address", entry["minion"])
            normalised.append(entry)
        members[role] = normalised
    return members


def _check_zookeeper(entries):
    if not entries:
        _fail("zookeeper", "no members; a ZooKeeper quorum needs 1, 3, 5 ... hosts")
    if len(entries) % 2 == 0:
        _fail(
            "zookeeper",
            f"{len(entries)} members; a quorum needs an odd number of hosts (1, 3, 5 ...), "
            "an even one tolerates no more failures than one host less",
        )
    seen_ids, seen_minions = {}, set()
    for index, entry in enumerate(entries):
        raw = entry.get("id")
        try:
            myid = int(raw)
        except (TypeError, ValueError):
            _fail(f"zookeeper:{index}:id", f"{raw!r} is not a number from 1 to 255")
        if str(raw).strip() != str(myid) or not MYID_MIN <= myid <= MYID_MAX:
            _fail(f"zookeeper:{index}:id", f"{raw!r} is not a number from 1 to 255")
        if myid in seen_ids:
            _fail(
                f"zookeeper:{index}:id",
                f"id {myid} is used by both {seen_ids[myid]} and {entry['minion']}",
            )
        if entry["minion"] in seen_minions:
            _fail(f"zookeeper:{index}:minion", f"{entry['minion']} is listed twice")
        seen_ids[myid] = entry["minion"]
        seen_minions.add(entry["minion"])
        entry["id"] = myid
    return sorted(entries, key=lambda e: e["id"])


def _check_unique(role, entries):
    seen = set()
    for index, entry in enumerate(entries):
        if entry["minion"] in seen:
            _fail(f"{role}:{index}:minion", f"{entry['minion']} is listed twice")
        seen.add(entry["minion"])
    return sorted(entries, key=lambda e: e["minion"])


def members():
    """
    The whole cluster: ``{'discovery': ..., 'zookeeper': [{id, minion, address}, ...],
    'nimbus': [{minion, address}], 'supervisor': [...]}``, validated.

    CLI Example:

    .. code-block:: bash

        salt '*' clustermap.members
    """
    settings = _settings()
    if settings["discovery"] == "mine":
        found = _from_mine(settings)
    else:
        found = _from_pillar(settings)
    result = {"discovery": settings["discovery"]}
    result["zookeeper"] = _check_zookeeper(found["zookeeper"])
    for role in ("nimbus", "supervisor"):
        result[role] = _check_unique(role, found[role])
    return result


def minions(role):
    """
    Minion ids that have ``role`` (zookeeper, nimbus or supervisor), for targeting.

    CLI Example:

    .. code-block:: bash

        salt-run salt.cmd clustermap.minions zookeeper
    """
    if role not in ROLES:
        raise CommandExecutionError(f"role: unknown role {role!r}; one of {', '.join(ROLES)}")
    return [entry["minion"] for entry in members()[role]]


def me(role, minion_id=None):
    """
    This minion's entry for ``role``, or None when it does not have that role.

    CLI Example:

    .. code-block:: bash

        salt zk1 clustermap.me zookeeper
    """
    minion_id = minion_id or __opts__["id"]
    for entry in members()[role]:
        if entry["minion"] == minion_id:
            return entry
    return None
