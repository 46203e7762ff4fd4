"""
Apache Storm for the formula: the validated, resolved settings of one host, called from
``storm/map.jinja`` at render time.

It computes from cluster membership (clustermap) what must agree across the cluster:
``storm.zookeeper.servers`` and ``storm.zookeeper.port`` (the same hosts and port as
zoo.cfg), ``nimbus.seeds``, this host's ``storm.local.hostname`` and roles, and
``supervisor.slots.ports``.  It refuses keys the chosen Storm release does not know (Storm
itself silently ignores them, so a typo such as ``supervisor.slot.ports`` would go
unnoticed; the key lists are generated from each release's jars by tools/storm_keys.py),
Java 8 GC flags that stop Java 17 JVMs from starting, a Java older than the release's
minimum, and a UI, logviewer or DRPC server enabled on an install without ``lib-webapp/``.

It also computes how each daemon is launched: the ``java`` command line Apache's
``bin/storm`` would run (classpath, system properties, childopts, main class), so the
units need neither ``bin/storm`` nor python3 nor its ConfigValue JVMs, and run Apache's
tarball and an install assembled from Storm's release jars alike.
"""

import base64
import difflib
import hashlib
import hmac
import ipaddress
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
    "storm.log4j2.conf.dir": "storm:config_dir (the formula writes log4j2/ there)",
    "storm.zookeeper.auth.scheme": "storm:zookeeper_auth",
    "storm.zookeeper.auth.payload": "storm:zookeeper_auth (user and password)",
    "storm.zookeeper.superACL": "storm:zookeeper_auth (the daemons' own identity)",
    "storm.zookeeper.topology.auth.scheme": "storm:zookeeper_auth",
    "storm.zookeeper.topology.auth.payload": "storm:zookeeper_auth (derived per topology)",
}
# Storm's own default (defaults.yaml), used when storm:config does not set it.
JAVA_LIBRARY_PATH = "/usr/local/lib:/opt/local/lib:/usr/lib:/usr/lib64"
# The daemons' listening ports, Storm's defaults (defaults.yaml), and the optional daemon
# that opens each (None: the role's own daemon always does).
PORTS = {
    "nimbus": (("nimbus.thrift.port", 6627, None), ("ui.port", 8080, "ui"),
               ("drpc.port", 3772, "drpc"), ("drpc.invocations.port", 3773, "drpc")),
    "supervisor": (("supervisor.thrift.port", 6628, None),
                   ("logviewer.port", 8000, "logviewer")),
}
# The web daemons' HTTP(S) ports (their defaults), by daemon: not for the cluster's hosts.
WEB_PORTS = (("ui.port", 8080, "ui"), ("ui.https.port", 0, "ui"),
             ("logviewer.port", 8000, "logviewer"), ("logviewer.https.port", 0, "logviewer"))
# More ports the firewall guards, Storm's defaults (0: off unless set), by the daemon
# that opens them.
EXTRA_PORTS = (("nimbus.thrift.tls.port", 0, "nimbus"), ("drpc.http.port", 3774, "drpc"),
               ("drpc.https.port", 0, "drpc"))
PORT_KEYS = tuple(key for role in PORTS.values() for key, _, _ in role)
CHILDOPTS = ("worker.childopts", "nimbus.childopts", "supervisor.childopts", "ui.childopts",
             "logviewer.childopts", "drpc.childopts", "topology.worker.childopts")
# Java 8 GC logging flags; Java 9 and later refuse to start with them.
JAVA8_FLAGS = re.compile(r"-XX:\+Print(GC\w*|Tenuring\w*)|-Xloggc:|-XX:\+UseGCLogFileRotation"
                         r"|-XX:NumberOfGCLogFiles|-XX:GCLogFileSize|-XX:\+UseConcMarkSweepGC")


def __virtual__():
    return __virtualname__


def _fail(key, message):
    raise CommandExecutionError(f"storm:{key}: {message}")


def digest_id(user, password):
    """ZooKeeper's digest id of ``user:password`` (DigestAuthenticationProvider's
    ``user:base64(sha1(user:password))``): what an ACL names, never the password."""
    # sha1 because ZooKeeper defines the id so: it names an identity, it guards no download.
    raw = hashlib.sha1(f"{user}:{password}".encode()).digest()
    return f"{user}:{base64.b64encode(raw).decode()}"


def topology_payload(auth, name):
    """
    The digest payload of topology ``name``'s workers: their own identity, so its znodes
    are not the daemons', derived from the password (stable, so a re-run submits nothing
    new) and useless for recovering it.
    """
    key = hmac.new(auth["password"].encode(), f"storm-topology:{name}".encode(),
                   hashlib.sha256).hexdigest()
    return f"topology-{name}:{key}"


def zookeeper_auth(config):
    """
    The storm.yaml keys that make Storm log in to ZooKeeper and lock its znodes, from
    ``storm:zookeeper_auth``; empty when it is disabled.
    """
    auth = config["zookeeper_auth"]
    if not auth["enabled"]:
        return {}
    if auth["password"] is None:
        _fail("zookeeper_auth:password",
              "is required while storm:zookeeper_auth:enabled is true: a string of at "
              "least 16 characters, in a pillar only the Storm hosts and the master see "
              "(or set enabled: false to leave Storm's znodes open to anyone)")
    return {
        "storm.zookeeper.auth.scheme": "digest",
        "storm.zookeeper.auth.payload": f"{auth['user']}:{auth['password']}",
        # Workers' znodes give this id every right, so the daemons can clean them up.
        "storm.zookeeper.superACL": "digest:" + digest_id(auth["user"], auth["password"]),
    }


def slot_ports(config):
    """The supervisor's worker ports: ``slots_ports`` when given, else ``slots`` ports from
    ``first_slot_port`` up (types and ranges checked by the schema)."""
    ports = config["slots_ports"]
    if ports:
        return sorted(ports)
    count, first = config["slots"], config["first_slot_port"]
    if first + count - 1 > 65535:
        _fail("first_slot_port", f"{first!r} cannot start {count} slot ports below 65536")
    return list(range(first, first + count))


def _check_key(key, known, allowed, release="2.8.3"):
    if key in known or key in allowed:
        return
    close = difflib.get_close_matches(key, sorted(known), n=3, cutoff=0.85)
    hint = f" (did you mean {', '.join(close)}?)" if close else ""
    _fail(f"config:{key}", f"is not a key Storm {release} knows, and Storm would silently "
          f"ignore it{hint}; list it in storm:allowed_keys if it is your own")


def _number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _entries_of(value, kind):
    return {"String": lambda v: isinstance(v, str), "Number": _number,
            "Boolean": lambda v: isinstance(v, bool)}.get(kind, lambda v: True)(value)


# Storm's validators (org.apache.storm.validation.ConfigValidation), as the config classes
# annotate each key: name -> (check(value, elements), what Storm wants).  Storm lets a
# missing (null) value pass unless the key is also NotNull; validators not listed here
# (class names, custom ones) are left to Storm.
VALIDATORS = {
    "IsString": (lambda v, e: isinstance(v, str), "a string"),
    "IsBoolean": (lambda v, e: isinstance(v, bool), "true or false"),
    "IsNumber": (lambda v, e: _number(v), "a number"),
    "IsInteger": (lambda v, e: _number(v) and float(v).is_integer()
                  and -2**31 <= v < 2**31, "a whole number (32 bits)"),
    "IsLong": (lambda v, e: _number(v) and float(v).is_integer(), "a whole number"),
    "IsPositiveNumber": (lambda v, e: _number(v) and (v >= 0 if e.get("includeZero")
                                                      else v > 0),
                         "a positive number"),
    "IsStringList": (lambda v, e: isinstance(v, list) and all(isinstance(i, str) for i in v),
                     "a list of strings"),
    "IsStringOrStringList": (lambda v, e: isinstance(v, str) or (
        isinstance(v, list) and all(isinstance(i, str) for i in v)),
        "a string or a list of strings"),
    "IsMapEntryType": (lambda v, e: isinstance(v, dict) and all(
        _entries_of(k, e.get("keyType")) and _entries_of(i, e.get("valueType"))
        for k, i in v.items()), "a mapping"),
    "IsNoDuplicateInList": (lambda v, e: isinstance(v, list) and len(v) == len(
        {repr(i) for i in v}), "a list without duplicates"),
}


def check_type(key, value, spec, release="2.8.3", path=None):
    """
    Refuse ``value`` for Storm's ``key`` when it fails one of the validators Storm declares
    for it (``spec``: the key's entry in the release's generated key list), naming the key,
    the value and what Storm wants.  Storm would refuse it too, but only when a daemon or a
    topology starts, on a host, after the formula has changed things.  ``path`` is the
    pillar key to name (below ``storm:``; default ``config:<key>``).
    """
    path = path or f"config:{key}"
    validators = (spec or {}).get("validators") or [] if isinstance(spec, dict) else []
    names = {v if isinstance(v, str) else next(iter(v)) for v in validators}
    if value is None:
        if "NotNull" in names:
            _fail(path, f"is empty; Storm {release} needs a value")
        return
    for validator in validators:
        name, elements = (validator, {}) if isinstance(validator, str) else \
            next(iter(validator.items()))
        if name not in VALIDATORS:
            continue
        check, wanted = VALIDATORS[name]
        if name == "IsMapEntryType":
            wanted = (f"a mapping of {elements.get('keyType', 'any')} to "
                      f"{elements.get('valueType', 'any')}")
        if name == "IsPositiveNumber" and elements.get("includeZero"):
            wanted = "a number of 0 or more"
        if not check(value, elements or {}):
            kind = type(value).__name__.replace("str", "string").replace("dict", "mapping")
            _fail(path, f"{value!r} ({kind}) is not {wanted}; Storm {release} "
                  "refuses it for this key")


def checked_config(config, known, allowed, release="2.8.3"):
    """The pillar's storm.yaml keys, each known (or allowed), sane, and not computed."""
    given = config.get("config") or {}
    if not isinstance(given, dict):
        _fail("config", "must be a mapping of Storm's dotted keys to values")
    for key, value in given.items():
        if key in COMPUTED:
            _fail(f"config:{key}", f"is computed by the formula; set {COMPUTED[key]}")
        _check_key(key, known, allowed, release)
        # The formula's own checks first: a port's range says more than "not positive".
        if key in PORT_KEYS and not __utils__["formula_schema.is_port"](value):
            _fail(f"config:{key}", f"{value!r} is not a TCP port (1-65535)")
        if key in known:
            check_type(key, value, known[key] if isinstance(known, dict) else None, release)
        if key in CHILDOPTS:
            opts = " ".join(map(str, value)) if isinstance(value, list) else str(value)
            found = JAVA8_FLAGS.search(opts)
            if found and "-XX:+IgnoreUnrecognizedVMOptions" not in opts:
                _fail(f"config:{key}", f"has the Java 8 GC flag {found.group(0)}, which stops "
                      "Java 17 JVMs from starting; log GC with -Xlog:gc* instead")
    return dict(given)


def release(config, releases):
    """
    The release line of ``storm:version`` from parameters/releases.yaml: ``line`` (such as
    ``2.8``), ``keys`` (the release whose key list checks storm.yaml), ``java`` (minimum),
    ``verified``, ``lib_common``.  Refuses, naming the key, a version the formula has no
    line or no key list for, and a Java older than the line's minimum.
    """
    version = str(config.get("version") or "").strip()
    found = re.fullmatch(r"(\d+)\.(\d+)\.(\d+)", version)
    if not found:
        _fail("version", f"{version!r} is not a Storm release such as 2.8.3")
    line = f"{found.group(1)}.{found.group(2)}"
    lines = (releases or {}).get("lines") or {}
    if line not in lines:
        _fail("version", f"{version}: the formula knows Storm {', '.join(sorted(lines))}, "
              f"not {line}")
    info = dict(lines[line], line=line)
    java = config["java"]["version"]
    if java < int(info["java"]):
        raise CommandExecutionError(
            f"storm:java:version: Java {java} is older than Storm {line}'s minimum, Java "
            f"{info['java']}; install a newer Java (storm:java:pkgs, storm:java:home) and "
            "say which (storm:java:version), or choose an older storm:version")
    if not info.get("keys"):
        _fail("version", f"{version}: the formula ships no key list for Storm {line}, so it "
              "cannot check storm.yaml; generate one from that release's jars with "
              "tools/storm_keys.py into storm/parameters/storm_keys/ and name it in "
              f"storm/parameters/releases.yaml (line {line}: keys)")
    return info


def host_ports(members, storm_yaml, config, zookeeper):
    """
    Every port that will listen on each host of the cluster, from membership: ZooKeeper's
    (client, quorum, election, AdminServer) on its members, nimbus Thrift (+ UI, DRPC) on
    nimbus hosts, the supervisor's Thrift port, the slots (+ logviewer) on supervisors.
    Two listeners on one port of one host are refused, naming both keys.  Returns
    ``{minion: [(key path, port), ...]}``.
    """
    slot_key = "storm:slots_ports" if config["slots_ports"] else "storm:first_slot_port"
    hosts = {}
    for member in members["zookeeper"]:
        hosts.setdefault(member["minion"], []).extend(zookeeper["listening"])
    for role, ports in PORTS.items():
        for member in members[role]:
            here = hosts.setdefault(member["minion"], [])
            for key, default, switch in ports:
                if switch is None or config["daemons"].get(switch):
                    here.append((f"storm:config:{key}", storm_yaml.get(key, default)))
            if role == "supervisor":
                here.extend((f"{slot_key} (slot port {port})", port)
                            for port in storm_yaml["supervisor.slots.ports"])
    for minion, ports in sorted(hosts.items()):
        __utils__["formula_schema.distinct_ports"](ports, minion)
    return hosts


def firewall(config, members, roles, listening, storm_yaml, here=()):
    """
    The formula's nftables table for this host (``storm:firewall``): ``ports``, Storm's
    ports that listen here (nimbus Thrift and its TLS port, the supervisor's Thrift port,
    the slots, DRPC: ``listening`` is this host's entry of host_ports), and the sources
    that may reach them, ``cluster_ipv4``/``cluster_ipv6``: every nimbus and supervisor
    host, and ``storm:firewall:allow``; ``web_ports`` (UI, logviewer, HTTP and HTTPS) for
    ``web_ipv4``/``web_ipv6``, ``storm:firewall:web_allow`` only.  Everyone else gets a
    TCP reset; loopback is always let in.  Off (``enabled`` false) when disabled or on a
    host with no Storm role.  ``here`` is the daemons this host runs.
    """
    given = config["firewall"]
    if not given["enabled"] or not roles:
        return {"enabled": False, "ports": [], "cluster_ipv4": [], "cluster_ipv6": [],
                "web_ports": [], "web_ipv4": [], "web_ipv6": []}

    def port(key, default=0):
        return int(storm_yaml.get(key) or default)

    ports = {int(p) for key, p in listening if key.startswith("storm:")}
    ports |= {port(key, default) for key, default, daemon in EXTRA_PORTS
              if daemon in here and port(key, default) > 0}
    # The web UIs (which can kill topologies and show every log) answer web_allow only.
    web = {port(key, default) for key, default, daemon in WEB_PORTS
           if daemon in here and port(key, default) > 0}
    cluster = _networks([m["address"] for role in ("nimbus", "supervisor")
                         for m in members[role]] + list(given["allow"]))
    outside = _networks(given["web_allow"])
    return {"enabled": True, "ports": sorted(ports - web), "cluster_ipv4": cluster[4],
            "cluster_ipv6": cluster[6], "web_ports": sorted(web), "web_ipv4": outside[4],
            "web_ipv6": outside[6]}


def _networks(sources):
    # A member given by host name (cluster's shorthand) is resolved by nft when the table
    # loads, to its IPv4 addresses, as every host already resolves it for Storm.
    nets, names = {4: set(), 6: set()}, set()
    for source in sources:
        try:
            net = ipaddress.ip_network(str(source), strict=False)
        except ValueError:
            names.add(str(source))
            continue
        nets[net.version].add(net)
    return {4: [str(n) for n in sorted(nets[4])] + sorted(names),
            6: [str(n) for n in sorted(nets[6])]}


def _archive(config, version):
    archive = dict(config["archive"])
    for key in ("source", "source_hash", "install_dir"):
        archive[key] = archive[key].replace("{version}", version)
    # Checked for its form only; the .sha512 file is fetched at apply time.
    archive["source_hash"] = __salt__["apache_dist.checked_hash"](
        archive["source"], archive["source_hash"], key="storm:archive:source_hash")
    base = archive["install_dir"].rstrip("/")
    archive["home"] = f"{base}/apache-storm-{version}"
    archive["current"] = f"{base}/current"
    archive["signature"] = __salt__["apache_dist.checked_signature"](
        archive.get("signature"), archive["source"], key="storm:archive:signature", version=version)
    filename = archive["source"].rstrip("/").split("/")[-1]
    archive["hash_file"] = f"{base}/.checksums/{filename}.sha512"
    return archive


def _daemons(config, roles, daemon_info, archive):
    switches = config["daemons"]
    for name, value in switches.items():
        if value and daemon_info[name]["webapp"] and not archive["webapp"]:
            _fail(f"daemons:{name}", "enabled, but the install from storm:archive:source "
                  "has no lib-webapp/ (storm:archive:webapp is false): the UI, logviewer "
                  "and DRPC server need Apache's full tarball; disable it here, or install "
                  "from a tarball that carries storm-webapp")
    here = []
    if "nimbus" in roles:
        here.append("nimbus")
        here += [d for d in ("ui", "drpc") if switches.get(d)]
    if "supervisor" in roles:
        here.append("supervisor")
        here += [d for d in ("logviewer",) if switches.get(d)]
    return here


def _opts(value):
    if isinstance(value, list):
        return [str(v) for v in value]
    return str(value or "").split()


def _systemd_arg(arg):
    """One ExecStart argument: '%' is a systemd specifier, quotes and spaces need care."""
    arg = arg.replace("%", "%%")
    if re.search(r'[\s"\\;]', arg) or not arg:
        arg = '"' + arg.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return arg


def launch(config, daemon, main, webapp, lib_common=False):
    """
    The command line that runs ``daemon`` in the foreground, as Apache's ``bin/storm``
    builds it (2.8): ``java -server <childopts> -D...  -cp <classpath> <main class>``,
    with storm.home the versioned install and storm.yaml read from the config dir on the
    classpath.  Returns ``argv`` (a list) and ``exec_start`` (for the unit).
    """
    home, conf = config["archive"]["home"], config["config_dir"]
    yaml = config["storm_yaml"]
    classpath = [f"{home}/*"] + ([f"{home}/lib-common/*"] if lib_common else []) + [
        f"{home}/lib/*", f"{home}/extlib/*", f"{home}/extlib-daemon/*"]
    if webapp:
        classpath.append(f"{home}/lib-webapp/*")
    classpath.append(conf)
    argv = [f"{config['java']['home']}/bin/java", "-server",
            *_opts(yaml.get(f"{daemon}.childopts")),
            f"-Ddaemon.name={daemon}", "-Dstorm.options=", f"-Dstorm.home={home}",
            f"-Dstorm.log.dir={config['log_dir']}",
            f"-Djava.library.path={yaml.get('java.library.path', JAVA_LIBRARY_PATH)}",
            "-Dstorm.conf.file=", "-cp", ":".join(classpath),
            f"-Dlogfile.name={daemon}.log",
            f"-Dlog4j.configurationFile={conf}/log4j2/cluster.xml",
            "-Djava.deserialization.disabled=true", main]
    return {"argv": argv, "exec_start": " ".join(_systemd_arg(a) for a in argv),
            "webapp": webapp}


def resolve(config, known_keys, releases, zookeeper, minion_id=None):
    """
    Validate the merged formula map and add: ``members`` (zookeeper, nimbus, supervisor),
    this minion's ``roles`` and ``address`` (its storm.local.hostname), ``storm_yaml`` (the
    whole storm.yaml as a mapping), ``archive`` (resolved source, checksum and paths),
    ``home``, ``release`` (the release line), ``daemons_here`` (the daemons this host
    runs), ``launch`` (per daemon here: argv and the unit's ExecStart), ``nimbus_seeds``
    and ``thrift_port`` (where the health checks ask the leader).  ``zookeeper`` is the
    zookeeper formula's map (its client port, and the ports its members listen on, which
    must not meet Storm's on a shared host).  Raises with the pillar key named on bad
    input.

    CLI Example:

    .. code-block:: bash

        salt nimbus1 state.apply storm._mapdata
    """
    # Keys, types and ranges are the schema's (parameters/schema.yaml, checked by
    # formula_settings.mapdata before this runs); what is left is Storm's own keys and
    # what one key alone cannot say.
    config = dict(config)
    known = known_keys if isinstance(known_keys, dict) else set(known_keys or [])
    allowed = config["allowed_keys"]
    info = release(config, releases)
    version = str(config["version"]).strip()

    members = __salt__["clustermap.members"]()
    if not members["nimbus"]:
        raise CommandExecutionError(
            "cluster:nimbus: no nimbus host; Storm needs at least one (nimbus.seeds)")
    minion_id = minion_id or __opts__["id"]
    roles = [r for r in ("nimbus", "supervisor")
             if any(m["minion"] == minion_id for m in members[r])]
    address = next((m["address"] for r in roles for m in members[r]
                    if m["minion"] == minion_id), None)
    # The port ZooKeeper serves on is the zookeeper formula's setting, read from its map.
    zk_port = zookeeper["ports"]["client"]

    storm_yaml = checked_config(config, known, allowed, info["keys"])
    storm_yaml.update({
        "storm.zookeeper.servers": [m["address"] for m in members["zookeeper"]],
        "storm.zookeeper.port": zk_port,
        "nimbus.seeds": [m["address"] for m in members["nimbus"]],
        "storm.local.dir": config["local_dir"],
        "storm.log.dir": config["log_dir"],
        "supervisor.slots.ports": slot_ports(config),
        # Workers read worker.xml from here (the supervisor builds their command line).
        "storm.log4j2.conf.dir": f"{config['config_dir'].rstrip('/')}/log4j2",
    })
    storm_yaml.update(zookeeper_auth(config))
    # Nimbus' metrics store: under storm.local.dir, not storm_rocks under the read-only
    # install (Storm's default).
    storm_yaml.setdefault("storm.metricstore.rocksdb.location",
                          f"{config['local_dir'].rstrip('/')}/storm_rocks")
    if not str(storm_yaml["storm.metricstore.rocksdb.location"]).startswith("/"):
        _fail("config:storm.metricstore.rocksdb.location", "must be an absolute path")
    for daemon, heap in config["heap_mb"].items():
        storm_yaml.setdefault(f"{daemon}.childopts", f"-Xmx{heap}m")
    if address:
        storm_yaml["storm.local.hostname"] = address
    for key in storm_yaml:
        _check_key(key, known, allowed, info["keys"])
    listening = host_ports(members, storm_yaml, config, zookeeper).get(minion_id, [])

    java = dict(config["java"])
    java["home"] = java["home"].replace("{osarch}", __grains__.get("osarch", ""))
    archive = _archive(config, version)
    daemon_info = (releases or {}).get("daemons") or {}
    here = _daemons(config, roles, daemon_info, archive)
    config.update({
        "version": version,
        "members": members,
        "roles": roles,
        "address": address,
        "storm_yaml": storm_yaml,
        "archive": archive,
        "home": archive["current"],
        "java": java,
        "release": info,
        "daemons_here": here,
        "nimbus_seeds": storm_yaml["nimbus.seeds"],
        "thrift_port": storm_yaml.get("nimbus.thrift.port", 6627),
    })
    config["firewall"] = dict(config["firewall"], **firewall(
        config, members, roles, listening, storm_yaml, here))
    config["launch"] = {d: launch(config, d, daemon_info[d]["main"], daemon_info[d]["webapp"],
                                  bool(info.get("lib_common"))) for d in here}
    return config
