"""
Apache Storm for the formula: the validated, resolved settings of one host, called from
``storm/map.jinja`` at render time.

It computes from cluster membership (clustermap) what must agree across the cluster:
``storm.zookeeper.servers`` and ``storm.zookeeper.port`` (the same hosts and port as
zoo.cfg), ``nimbus.seeds``, this host's ``storm.local.hostname`` and roles, and
``supervisor.slots.ports``.  It refuses keys Storm does not know (Storm itself silently
ignores them, so a typo such as ``supervisor.slot.ports`` would go unnoticed) and Java 8
GC flags that stop Java 17 JVMs from starting.
"""

import difflib
import re

from salt.exceptions import CommandExecutionError

__virtualname__ = "storm_config"

# storm.yaml keys the formula computes; pillar sets them through the formula's own keys.
COMPUTED = {
    "storm.zookeeper.servers": "cluster:zookeeper",
    "storm.zookeeper.port": "zookeeper:ports:client",
    "nimbus.seeds": "cluster:nimbus",
    "storm.local.dir": "storm:local_dir",
    "storm.local.hostname": "the host's address in cluster:nimbus or cluster:supervisor",
    "supervisor.slots.ports": "storm:slots or storm:slots_ports",
    "storm.log.dir": "storm:log_dir",
}
PORT_KEYS = ("nimbus.thrift.port", "ui.port", "logviewer.port", "drpc.port")
CHILDOPTS = ("worker.childopts", "nimbus.childopts", "supervisor.childopts", "ui.childopts",
             "logviewer.childopts", "drpc.childopts", "topology.worker.childopts")
# Java 8 GC logging flags; Java 9 and later refuse to start with them.
JAVA8_FLAGS = re.compile(r"-XX:\+Print(GC\w*|Tenuring\w*)|-Xloggc:|-XX:\+UseGCLogFileRotation"
                         r"|-XX:NumberOfGCLogFiles|-XX:GCLogFileSize|-XX:\+UseConcMarkSweepGC")
MAX_SLOTS = 64


def __virtual__():
    return __virtualname__


def _fail(key, message):
    raise CommandExecutionError(f"storm:{key}: {message}")


def _is_port(value):
    return isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= 65535


def _positive(value, minimum=1):
    return isinstance(value, int) and not isinstance(value, bool) and value >= minimum


def slot_ports(config):
    """The supervisor's worker ports: ``slots_ports`` when given, else ``slots`` ports from
    ``first_slot_port`` up."""
    ports = config.get("slots_ports") or []
    if ports:
        if not isinstance(ports, list):
            _fail("slots_ports", "must be a list of ports")
        for port in ports:
            if not _is_port(port) or port < 1024:
                _fail("slots_ports", f"{port!r} is not a port from 1024 to 65535")
        if len(set(ports)) != len(ports):
            _fail("slots_ports", f"ports repeat: {ports}")
        if len(ports) > MAX_SLOTS:
            _fail("slots_ports", f"{len(ports)} slots; at most {MAX_SLOTS}")
        return sorted(ports)
    count, first = config.get("slots"), config.get("first_slot_port")
    if not _positive(count) or count > MAX_SLOTS:
        _fail("slots", f"{count!r} is not a slot count from 1 to {MAX_SLOTS}")
    if not _is_port(first) or first < 1024 or first + count - 1 > 65535:
        _fail("first_slot_port", f"{first!r} cannot start {count} slot ports below 65536")
    return list(range(first, first + count))


def _check_key(key, known, allowed):
    if key in known or key in allowed:
        return
    close = difflib.get_close_matches(key, sorted(known), n=3, cutoff=0.85)
    hint = f" (did you mean {', '.join(close)}?)" if close else ""
    _fail(f"config:{key}", f"is not a key Storm 2.8 knows, and Storm would silently ignore "
          f"it{hint}; list it in storm:allowed_keys if it is your own")


def checked_config(config, known, allowed):
    """The pillar's storm.yaml keys, each known (or allowed), sane, and not computed."""
    given = config.get("config") or {}
    if not isinstance(given, dict):
        _fail("config", "must be a mapping of Storm's dotted keys to values")
    for key, value in given.items():
        if key in COMPUTED:
            _fail(f"config:{key}", f"is computed by the formula; set {COMPUTED[key]}")
        _check_key(key, known, allowed)
        if key in PORT_KEYS and not _is_port(value):
            _fail(f"config:{key}", f"{value!r} is not a TCP port (1-65535)")
        if key in CHILDOPTS:
            opts = " ".join(map(str, value)) if isinstance(value, list) else str(value)
            found = JAVA8_FLAGS.search(opts)
            if found and "-XX:+IgnoreUnrecognizedVMOptions" not in opts:
                _fail(f"config:{key}", f"has the Java 8 GC flag {found.group(0)}, which stops "
                      "Java 17 JVMs from starting; log GC with -Xlog:gc* instead")
    return dict(given)


def _archive(config, version):
    archive = dict(config.get("archive") or {})
    for key in ("source", "source_hash", "install_dir"):
        if isinstance(archive.get(key), str):
            archive[key] = archive[key].replace("{version}", version)
    if not archive.get("source"):
        _fail("archive:source", "missing")
    archive["source_hash"] = __salt__["apache_dist.source_hash"](
        archive["source"], archive.get("source_hash"), key="storm:archive:source_hash")
    install_dir = str(archive.get("install_dir") or "")
    if not install_dir.startswith("/"):
        _fail("archive:install_dir", f"{install_dir!r} is not an absolute path")
    archive["home"] = f"{install_dir.rstrip('/')}/apache-storm-{version}"
    archive["current"] = f"{install_dir.rstrip('/')}/current"
    return archive


def _daemons(config, roles):
    switches = config.get("daemons") or {}
    here = []
    if "nimbus" in roles:
        here.append("nimbus")
        here += [d for d in ("ui", "drpc") if switches.get(d)]
    if "supervisor" in roles:
        here.append("supervisor")
        here += [d for d in ("logviewer",) if switches.get(d)]
    return here


def resolve(config, known_keys, minion_id=None):
    """
    Validate the merged formula map and add: ``members`` (zookeeper, nimbus, supervisor),
    this minion's ``roles`` and ``address`` (its storm.local.hostname), ``storm_yaml`` (the
    whole storm.yaml as a mapping), ``archive`` (resolved source, checksum and paths),
    ``home``, ``daemons_here`` (the daemons this host runs) and ``ui_url``.  Raises with the
    pillar key named on bad input.

    CLI Example:

    .. code-block:: bash

        salt nimbus1 state.apply storm._mapdata
    """
    if not isinstance(config, dict):
        raise CommandExecutionError("storm: must be a mapping")
    config = dict(config)
    known = set(known_keys or [])
    allowed = config.get("allowed_keys") or []
    if not isinstance(allowed, list):
        _fail("allowed_keys", "must be a list of storm.yaml keys")
    for key in ("config_dir", "local_dir", "log_dir"):
        value = config.get(key)
        if not isinstance(value, str) or not value.startswith("/"):
            _fail(key, f"{value!r} is not an absolute path")
    for key in ("uid", "gid"):
        if not _positive((config.get("user") or {}).get(key)):
            _fail(f"user:{key}", f"{config['user'].get(key)!r} is not a fixed numeric id")
    for daemon, value in (config.get("heap_mb") or {}).items():
        if not _positive(value, 64):
            _fail(f"heap_mb:{daemon}", f"{value!r} is not a heap size in MB (64 or more)")
    version = str(config.get("version") or "").strip()
    if not re.fullmatch(r"\d+\.\d+\.\d+(-[\w.]+)?", version):
        _fail("version", f"{version!r} is not a Storm version such as 2.8.8")

    members = __salt__["clustermap.members"]()
    if not members["nimbus"]:
        raise CommandExecutionError(
            "cluster:nimbus: no nimbus host; Storm needs at least one (nimbus.seeds)")
    minion_id = minion_id or __opts__["id"]
    roles = [r for r in ("nimbus", "supervisor")
             if any(m["minion"] == minion_id for m in members[r])]
    address = next((m["address"] for r in roles for m in members[r]
                    if m["minion"] == minion_id), None)
    # The port ZooKeeper serves on is the zookeeper formula's setting: read, not repeated.
    zk_port = ((__pillar__.get("zookeeper") or {}).get("ports") or {}).get("client", 2181)
    if not _is_port(zk_port):
        raise CommandExecutionError(f"zookeeper:ports:client: {zk_port!r} is not a TCP port")

    storm_yaml = checked_config(config, known, allowed)
    storm_yaml.update({
        "storm.zookeeper.servers": [m["address"] for m in members["zookeeper"]],
        "storm.zookeeper.port": zk_port,
        "nimbus.seeds": [m["address"] for m in members["nimbus"]],
        "storm.local.dir": config["local_dir"],
        "storm.log.dir": config["log_dir"],
        "supervisor.slots.ports": slot_ports(config),
    })
    for daemon, heap in (config.get("heap_mb") or {}).items():
        storm_yaml.setdefault(f"{daemon}.childopts", f"-Xmx{heap}m")
    if address:
        storm_yaml["storm.local.hostname"] = address
    for key in storm_yaml:
        _check_key(key, known, allowed)

    java = dict(config.get("java") or {})
    java["home"] = str(java.get("home", "")).replace("{osarch}", __grains__.get("osarch", ""))
    archive = _archive(config, version)
    config.update({
        "version": version,
        "members": members,
        "roles": roles,
        "address": address,
        "storm_yaml": storm_yaml,
        "archive": archive,
        "home": archive["current"],
        "java": java,
        "daemons_here": _daemons(config, roles),
        "ui_url": f"http://{members['nimbus'][0]['address']}:{storm_yaml.get('ui.port', 8080)}",
    })
    return config
