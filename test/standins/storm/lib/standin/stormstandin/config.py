"""storm.yaml: find it, merge it over the defaults, reject unknown keys, check types.

Real Storm silently ignores keys it does not know; the stand-in rejects them (the
formula's policy, from the same storm_keys.yaml), so a typo can never pass a test that
real Storm would have ignored.  Types are checked for the keys the stand-in reads, the
way Storm's ConfigValidation annotations check them at daemon start.
"""

import os
import pathlib

import yaml

from . import PACKAGE_DIR

STORM_HOME = PACKAGE_DIR.parents[2]  # <home>/lib/standin/stormstandin


class ConfigError(Exception):
    """A storm.yaml (or -c) problem; the message names the key."""


def known_keys():
    data = yaml.safe_load((PACKAGE_DIR / "storm_keys.yaml").read_text())
    return set(data["keys"])


def _is_int(v):
    return isinstance(v, int) and not isinstance(v, bool)


def _int(v):
    return None if _is_int(v) else "an integer"


def _pos_int(v):
    return None if _is_int(v) and v > 0 else "a positive integer"


def _nonneg_int(v):
    return None if _is_int(v) and v >= 0 else "an integer >= 0"


def _port(v):
    return None if _is_int(v) and 0 < v < 65536 else "a TCP port (1-65535)"


def _number(v):
    return None if isinstance(v, (int, float)) and not isinstance(v, bool) else "a number"


def _bool(v):
    return None if isinstance(v, bool) else "true or false"


def _string(v):
    return None if isinstance(v, str) else "a string"


def _string_list(v):
    ok = isinstance(v, list) and all(isinstance(x, str) for x in v)
    return None if ok else "a list of strings"


def _nonempty_string_list(v):
    return _string_list(v) or (None if v else "a non-empty list of strings")


def _zk_root(v):
    return None if isinstance(v, str) and v.startswith("/") else "a string starting with /"


def _port_list(v):
    if not isinstance(v, list) or not all(_port(x) is None for x in v):
        return "a list of TCP ports (integers 1-65535)"
    return None if len(set(v)) == len(v) else "a list without duplicates"


def _map(v):
    return None if isinstance(v, dict) else "a map"


# Keys the stand-in reads, with Storm's validator for each (None allowed unless NOT_NULL).
VALIDATORS = {
    "storm.zookeeper.servers": _nonempty_string_list,
    "storm.zookeeper.port": _port,
    "storm.zookeeper.root": _zk_root,
    "storm.zookeeper.session.timeout": _pos_int,
    "storm.zookeeper.connection.timeout": _pos_int,
    "storm.zookeeper.retry.times": _nonneg_int,
    "storm.zookeeper.retry.interval": _nonneg_int,
    "storm.zookeeper.retry.intervalceiling.millis": _nonneg_int,
    "storm.local.dir": _string,
    "storm.local.hostname": _string,
    "storm.log.dir": _string,
    "storm.workers.artifacts.dir": _string,
    "storm.thrift.socket.timeout.ms": _pos_int,
    "nimbus.seeds": _nonempty_string_list,
    "nimbus.thrift.port": _port,
    "nimbus.monitor.freq.secs": _pos_int,
    "nimbus.code.sync.freq.secs": _pos_int,
    "nimbus.cleanup.inbox.freq.secs": _pos_int,
    "nimbus.inbox.jar.expiration.secs": _int,
    "nimbus.supervisor.timeout.secs": _pos_int,
    "nimbus.file.copy.expiration.secs": _int,
    "ui.host": _string,
    "ui.port": _port,
    "logviewer.port": _port,
    "drpc.port": _port,
    "supervisor.slots.ports": _port_list,
    "supervisor.heartbeat.frequency.secs": _pos_int,
    "supervisor.monitor.frequency.secs": _pos_int,
    "supervisor.worker.shutdown.sleep.secs": _pos_int,
    "supervisor.worker.timeout.secs": _pos_int,
    "supervisor.memory.capacity.mb": _number,
    "supervisor.cpu.capacity": _number,
    "supervisor.enable": _bool,
    "scheduler.display.resource": _bool,
    "topology.workers": _pos_int,
    "topology.acker.executors": _nonneg_int,
    "topology.tasks": _nonneg_int,
    "topology.max.task.parallelism": _pos_int,
    "topology.message.timeout.secs": _pos_int,
    "topology.max.spout.pending": _pos_int,
    "topology.shellbolt.max.pending": _pos_int,
    "topology.subprocess.timeout.secs": _pos_int,
    "topology.environment": _map,
    "topology.debug": _bool,
    "topology.enable.message.timeouts": _bool,
}
NOT_NULL = {"storm.zookeeper.servers", "storm.zookeeper.port", "storm.zookeeper.root",
            "storm.local.dir", "nimbus.seeds", "nimbus.thrift.port", "ui.port",
            "logviewer.port", "supervisor.slots.ports", "topology.message.timeout.secs",
            "topology.shellbolt.max.pending"}


def validate_types(conf, source):
    """Raise ConfigError for the first key whose value has the wrong type."""
    for key in sorted(VALIDATORS):
        if key not in conf:
            continue
        value = conf[key]
        if value is None:
            if key in NOT_NULL:
                raise ConfigError(f"{source}: '{key}' must not be null")
            continue
        wanted = VALIDATORS[key](value)
        if wanted:
            raise ConfigError(f"{source}: '{key}' must be {wanted} (got {value!r})")


def conf_file(explicit=None):
    """--config FILE, else $STORM_CONF_DIR/storm.yaml, else $STORM_HOME/conf/storm.yaml."""
    if explicit:
        return pathlib.Path(explicit)
    conf_dir = os.environ.get("STORM_CONF_DIR")
    if conf_dir:
        return pathlib.Path(conf_dir) / "storm.yaml"
    return STORM_HOME / "conf" / "storm.yaml"


def parse_override(text):
    """-c key=value, the value parsed as YAML like Storm's command line does."""
    if "=" not in text:
        raise ConfigError(f"-c {text}: expected key=value")
    key, value = text.split("=", 1)
    return key.strip(), yaml.safe_load(value) if value else None


def read_yaml(path):
    try:
        data = yaml.safe_load(path.read_text()) if path.exists() else {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: must be a mapping of Storm configuration keys")
    return data


def load(explicit_file=None, overrides=()):
    """The daemon's configuration: defaults <- storm.yaml <- -c overrides, validated."""
    path = conf_file(explicit_file)
    if explicit_file and not path.exists():
        raise ConfigError(f"{path}: no such configuration file")
    user = read_yaml(path)
    extra = dict(parse_override(o) for o in overrides)
    known = known_keys()
    for source, keys in ((str(path), user), ("-c", extra)):
        unknown = sorted(k for k in keys if k not in known)
        if unknown:
            raise ConfigError(f"{source}: unknown configuration key(s) {', '.join(unknown)} "
                              "(not Storm 2.8 keys; the stand-in and the formula reject "
                              "keys Storm would silently ignore)")
    conf = yaml.safe_load((PACKAGE_DIR / "defaults.yaml").read_text())
    conf.update(user)
    conf.update(extra)
    validate_types(conf, str(path))
    local = pathlib.Path(conf["storm.local.dir"])
    # Storm resolves a relative storm.local.dir against its installation directory.
    conf["storm.local.dir"] = str(local if local.is_absolute() else STORM_HOME / local)
    return conf


def log_dir(conf):
    """STORM_LOG_DIR, else storm.log.dir, else <storm home>/logs (as bin/storm decides)."""
    value = os.environ.get("STORM_LOG_DIR") or conf.get("storm.log.dir")
    return pathlib.Path(value) if value else STORM_HOME / "logs"


def workers_artifacts_dir(conf):
    value = pathlib.Path(conf.get("storm.workers.artifacts.dir") or "workers-artifacts")
    return value if value.is_absolute() else log_dir(conf) / value
