"""
ZooKeeper for the formulas: the validated, resolved configuration of a node (``resolve``,
called from ``zookeeper/map.jinja`` at render time) and its health from the four-letter
words (``status``, ``quorum``).

Only ``srvr``, ``mntr`` and ``ruok`` are used, which is why the formula's default
``4lw.commands.whitelist`` admits exactly those.
"""

import socket

from salt.exceptions import CommandExecutionError

__virtualname__ = "zookeeper_quorum"

# Keys the formula computes from membership and its own settings; setting them through
# ``zookeeper:properties`` would silently fight the formula, so they are refused.
COMPUTED = {
    "dataDir": "zookeeper:data_dir",
    "dataLogDir": "zookeeper:datalog_dir",
    "clientPort": "zookeeper:ports:client",
    "clientPortAddress": "zookeeper:client_on_member_address",
}
SERVING_MODES = ("leader", "follower", "standalone", "observer")


def __virtual__():
    return __virtualname__


def _fail(key, message):
    raise CommandExecutionError(f"zookeeper:{key}: {message}")


def listening(config):
    """The ports a member listens on, each with the key that sets it: client, quorum,
    election, and the AdminServer's when it is enabled (ZooKeeper's default 8080)."""
    props = config.get("properties") or {}
    ports = [(f"zookeeper:ports:{name}", port) for name, port in config["ports"].items()]
    admin = props.get("admin.enableServer", True)
    if admin is True or str(admin).lower() == "true":
        ports.append(("zookeeper:properties:admin.serverPort",
                      props.get("admin.serverPort", 8080)))
    return ports


def _archive(config):
    archive = dict(config["archive"])
    version = archive["version"]
    for key in ("source", "source_hash", "install_dir"):
        archive[key] = archive[key].replace("{version}", version)
    # Checked for its form only: the .sha512 file is fetched at apply time (the
    # apache_dist.checksum_file state), so rendering never reaches the network.
    archive["source_hash"] = __salt__["apache_dist.checked_hash"](
        archive["source"], archive.get("source_hash"), key="zookeeper:archive:source_hash"
    )
    install_dir = archive["install_dir"]
    archive["home"] = f"{install_dir.rstrip('/')}/apache-zookeeper-{version}-bin"
    archive["current"] = f"{install_dir.rstrip('/')}/current"
    archive["signature"] = __salt__["apache_dist.checked_signature"](
        archive.get("signature"), archive["source"], key="zookeeper:archive:signature",
        version=version)
    archive["hash_file"] = (f"{install_dir.rstrip('/')}/.checksums/"
                            f"{archive['source'].rstrip('/').split('/')[-1]}.sha512")
    return archive


def _properties(config, members, ports, me=None):
    given = config["properties"]
    props = {}
    for key, value in given.items():
        key = str(key)
        if key in COMPUTED:
            _fail(f"properties:{key}", f"is computed by the formula; set {COMPUTED[key]}")
        if key.startswith("server."):
            _fail(f"properties:{key}", "server lines come from cluster:zookeeper membership")
        if isinstance(value, bool):
            value = "true" if value else "false"
        props[key] = value
    props["dataDir"] = config["data_dir"]
    props["dataLogDir"] = config["datalog_dir"]
    props["clientPort"] = ports["client"]
    # Clients reach a member at its cluster address (what Storm's storm.zookeeper.servers
    # names); listening there only keeps the port off the host's other networks.
    if me and config["client_on_member_address"]:
        props["clientPortAddress"] = me["address"]
    if len(members) > 1:
        for member in members:
            props[f"server.{member['id']}"] = (
                f"{member['address']}:{ports['quorum']}:{ports['election']}"
            )
    return [[key, props[key]] for key in sorted(props, key=_property_order)]


def _property_order(key):
    # Settings first in name order, then the server lines in id order: stable output means a
    # re-render changes nothing and a diff shows only what really moved.
    if key.startswith("server."):
        return (1, int(key.split(".", 1)[1]), key)
    return (0, 0, key)


def resolve(config, minion_id=None):
    """
    Validate the merged formula map and add what is computed from membership:
    ``members`` (id, minion, address), ``myid`` (None when this minion is not a member),
    ``zoo_cfg`` (ordered key/value pairs), ``classpath``, ``home`` and, for archive installs,
    the resolved ``archive`` block.  Raises with the pillar key named on bad input.

    CLI Example:

    .. code-block:: bash

        salt zk1 zookeeper_quorum.resolve "$(salt-call --out=json ...)"
    """
    # Keys, types and ranges are the schema's (parameters/schema.yaml, checked by
    # formula_settings.mapdata before this runs); what is left is what one key alone
    # cannot say.
    config = dict(config)
    method, ports = config["install_method"], dict(config["ports"])
    for key in ("config_dir", "data_dir", "datalog_dir", "log_dir"):
        config[key] = config[key].rstrip("/") or "/"
    config["listening"] = listening(config)
    __utils__["formula_schema.distinct_ports"](config["listening"], "a ZooKeeper member")
    members = __salt__["clustermap.members"]()["zookeeper"]
    minion_id = minion_id or __opts__["id"]
    mine = [m for m in members if m["minion"] == minion_id]
    config["members"] = members
    config["myid"] = mine[0]["id"] if mine else None
    config["ports"] = ports
    config["zoo_cfg"] = _properties(config, members, ports, mine[0] if mine else None)
    if method == "archive":
        config["archive"] = _archive(config)
        config["home"] = config["archive"]["current"]
        config["classpath"] = [
            config["config_dir"],
            f"{config['home']}/conf",
            f"{config['home']}/lib/*",
        ]
    else:
        config["home"] = config["package"]["home"]
        config["classpath"] = [config["config_dir"]] + list(config["package"]["classpath"])
    return config


def four_letter(word, host="127.0.0.1", port=2181, timeout=2.0):
    """
    Send a ZooKeeper four-letter word and return the raw answer.

    CLI Example:

    .. code-block:: bash

        salt zk1 zookeeper_quorum.four_letter srvr
    """
    with socket.create_connection((host, int(port)), timeout=timeout) as conn:
        conn.sendall(word.encode("ascii"))
        chunks = []
        while True:
            chunk = conn.recv(4096)
            if not chunk:
                break
            chunks.append(chunk)
    return b"".join(chunks).decode("utf-8", "replace")


def parse_srvr(text):
    """The fields of a ``srvr`` answer as a dict, keys lower-cased ('mode', 'zxid', ...)."""
    fields = {}
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if sep:
            fields[key.strip().lower()] = value.strip()
    return fields


def status(host="127.0.0.1", port=2181, timeout=2.0):
    """
    One node's health: ``{'serving': bool, 'mode', 'zxid', 'version', 'error'}``;
    a node that answers but is not serving (still electing) has ``serving`` False.

    CLI Example:

    .. code-block:: bash

        salt zk1 zookeeper_quorum.status
    """
    result = {"host": host, "port": int(port), "serving": False, "mode": None,
              "zxid": None, "version": None, "error": None}
    try:
        text = four_letter("srvr", host, port, timeout)
    except OSError as exc:
        result["error"] = f"{type(exc).__name__}: {exc}"
        return result
    if "not currently serving" in text:
        result["error"] = "not serving requests (electing a leader or out of quorum)"
        return result
    if "not in the whitelist" in text:
        result["error"] = "srvr is not in 4lw.commands.whitelist"
        return result
    fields = parse_srvr(text)
    result["mode"] = fields.get("mode")
    result["zxid"] = fields.get("zxid")
    result["version"] = fields.get("zookeeper version")
    result["serving"] = result["mode"] in SERVING_MODES
    if not result["serving"]:
        result["error"] = f"unexpected answer: {text[:200]!r}"
    return result


def quorum(port=2181, timeout=2.0):
    """
    The ensemble as membership describes it, each member's status, and a verdict:
    ``healthy`` is True when every member serves and there is exactly one leader
    (or the single member runs standalone).

    CLI Example:

    .. code-block:: bash

        salt zk1 zookeeper_quorum.quorum
    """
    members = __salt__["clustermap.members"]()["zookeeper"]
    nodes = {}
    for member in members:
        state = status(member["address"], port, timeout)
        state["id"] = member["id"]
        nodes[member["minion"]] = state
    leaders = sorted(m for m, s in nodes.items() if s["mode"] == "leader")
    serving = sorted(m for m, s in nodes.items() if s["serving"])
    if len(members) == 1:
        healthy = serving == [members[0]["minion"]]
    else:
        healthy = len(leaders) == 1 and len(serving) == len(members)
    return {
        "expected": len(members),
        "serving": serving,
        "leaders": leaders,
        "writable": len(leaders) == 1 and len(serving) > len(members) // 2,
        "healthy": healthy,
        "members": nodes,
    }


def restart_order(port=2181, timeout=10):
    """
    The members' minion ids in the order a rolling restart takes them: followers first,
    the leader last, so that a config change costs one election, not one per restart
    (restarting the leader early elects a new one, which a later restart may take down
    again).  The orchestrate calls this on the master while it renders: the members are
    asked (through the master, each answering from its own host) who leads now.  When
    nobody can say (first start, modules not yet synced, a render outside the master),
    the order is membership's.

    CLI Example:

    .. code-block:: bash

        salt-call zookeeper_quorum.restart_order
    """
    minions = [m["minion"] for m in __salt__["clustermap.members"]()["zookeeper"]]
    if __opts__.get("__role") != "master" or len(minions) < 2:
        return minions
    try:
        answers = __salt__["saltutil.cmd"](
            tgt=minions, tgt_type="list", fun="zookeeper_quorum.quorum",
            kwarg={"port": port}, timeout=timeout)
    except Exception:  # noqa: BLE001 - no answer is an answer: membership's order
        answers = {}
    return leader_last(minions, answers)


def leader_last(minions, answers):
    """``minions`` with the members that any answer of ``quorum`` names as leader moved to
    the end (order otherwise kept); answers that are errors or not a quorum are ignored."""
    leaders = set()
    for answer in (answers or {}).values():
        ret = answer.get("ret") if isinstance(answer, dict) else None
        if isinstance(ret, dict) and isinstance(ret.get("leaders"), list):
            leaders.update(m for m in ret["leaders"] if m in minions)
    return [m for m in minions if m not in leaders] + [m for m in minions if m in leaders]
