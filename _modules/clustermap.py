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
# ZooKeeper reads myid as a number from 1 to 255.
MYID_MIN, MYID_MAX = 1, 255
_MINION = {"type": "str", "required": True, "nonempty": True, "doc": "The host's minion id"}
_ADDRESS = {"type": "address",
            "doc": "Its cluster address, no port (default: the minion id, which must then "
                   "resolve on every host)"}
_HOST = {"any_of": [{"type": "str", "nonempty": True},
                    {"type": "map", "keys": {"minion": _MINION, "address": _ADDRESS}}]}
# pillar `cluster`, declared like the formulas' parameters/schema.yaml and checked by the
# same checker (_utils/formula_schema.py); the README's table is generated from it.
SCHEMA = {
    "type": "map",
    "keys": {
        "discovery": {"type": "str", "choices": ["pillar", "mine"],
                      "doc": "`pillar`: the lists below; `mine`: role grains and the Salt "
                             "mine"},
        "zookeeper": {"type": "list", "doc": "ZooKeeper hosts (an odd number), with stable "
                                             "ids", "items": {"type": "map", "keys": {
            "id": {"type": "int", "required": True, "min": MYID_MIN, "max": MYID_MAX,
                   "range_doc": "a ZooKeeper id", "doc": "Its myid, 1-255, never renumbered"},
            "minion": _MINION, "address": _ADDRESS}}},
        "nimbus": {"type": "list", "items": _HOST,
                   "doc": "Nimbus hosts: minion ids, or {minion, address}"},
        "supervisor": {"type": "list", "items": _HOST,
                       "doc": "Supervisor hosts: minion ids, or {minion, address}"},
        "mine": {"type": "map", "doc": "With `discovery: mine`", "keys": {
            "target": {"type": "str", "nonempty": True, "doc": "Which minions' records"},
            "tgt_type": {"type": "str", "choices": [
                "glob", "pcre", "list", "grain", "grain_pcre", "pillar", "pillar_pcre",
                "nodegroup", "range", "compound", "ipcidr"], "doc": "How target matches"},
            "function": {"type": "str", "nonempty": True,
                         "doc": "The mine function that publishes a host's record"},
            "roles_grain": {"type": "str", "nonempty": True,
                            "doc": "The grain listing a host's roles"},
            "zookeeper_id_grain": {"type": "str", "nonempty": True,
                                   "doc": "The grain holding a ZooKeeper host's id"},
            "network": {"type": "network", "nullable": True,
                        "doc": "The cluster network each host's address is taken from"},
        }},
    },
}
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


def __virtual__():
    return __virtualname__


def _fail(key, message):
    raise CommandExecutionError(f"cluster:{key}: {message}")


def _settings():
    # __pillar__, not pillar.get: since Salt 3008 pillar.get called outside a template
    # returns masked values ('**********'), which would make every value look invalid.
    pillar = __pillar__.get("cluster")
    pillar = {} if pillar is None else pillar
    settings = __utils__["formula_schema.merge"]([("", DEFAULTS), ("", pillar)], "cluster")
    return __utils__["formula_schema.check"](settings, SCHEMA, "cluster")


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
        # Shapes and types are the schema's (checked in _settings).
        normalised = []
        for index, entry in enumerate(settings.get(role) or []):
            entry = {"minion": entry} if isinstance(entry, str) else dict(entry)
            # Without an explicit address the minion id must resolve on every host.
            if entry.get("address") is None:
                if not __utils__["formula_schema.is_address"](entry["minion"]):
                    _fail(f"{role}:{index}:address", f"missing, and the minion id "
                          f"{entry['minion']!r} is not a host name; give the address")
                entry["address"] = entry["minion"]
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


def _check_addresses(found):
    """One cluster address per host, and no two hosts at one address: storm.local.hostname,
    nimbus.seeds and the server lines of zoo.cfg all name hosts by it."""
    owner, address_of = {}, {}
    for role in ROLES:
        for index, entry in enumerate(found[role]):
            where = f"{role}:{index}"
            address, minion = entry["address"], entry["minion"]
            if minion in address_of and address_of[minion][0] != address:
                _fail(f"{where}:address", f"{address}, but {minion} is at "
                      f"{address_of[minion][0]} as cluster:{address_of[minion][1]}; a host "
                      "has one cluster address")
            if address in owner and owner[address][0] != minion:
                _fail(f"{where}:address", f"{address} is already {owner[address][0]}'s "
                      f"address (cluster:{owner[address][1]}); two hosts cannot share one")
            address_of.setdefault(minion, (address, where))
            owner.setdefault(address, (minion, where))


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
    _check_addresses(found)
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
