"""The Salt master on the machine side of the bridge, with its own config dir."""

import socket
from pathlib import Path

import yaml

from . import config
from .util import LabError, alive, kill_wait, proc_starttime, start_daemon, tail, wait_until

LOG = config.LOG_DIR / "salt-master.log"
OUT = config.LOG_DIR / "salt-master.out"


def master_config(pillar_root: Path) -> dict:
    d = config.MASTER_DIR
    return {
        # Everything of this master lives under the lab's directory: `salt -c <dir>`
        # finds this file there, and nothing touches /etc/salt of the machine. (Salt
        # prefixes root_dir to every path not already under it, logs included.)
        "root_dir": str(config.STATE_DIR),
        "pki_dir": str(d / "pki"),
        "cachedir": str(d / "cache"),
        # These two default from the built-in cachedir, not from the one above.
        "extension_modules": str(d / "cache" / "extmods"),
        "sqlite_queue_dir": str(d / "cache" / "queues"),
        "sock_dir": str(d / "sock"),
        "pidfile": str(d / "salt-master.pid"),
        "log_file": str(LOG),
        "key_logfile": str(config.LOG_DIR / "salt-key.log"),
        "log_level_logfile": "info",
        "user": "root",
        "interface": config.BRIDGE_ADDR,
        "publish_port": config.SALT_PORTS[0],
        "ret_port": config.SALT_PORTS[1],
        "auto_accept": True,  # a lab: every host is fresh, with a fresh key, each run
        "file_roots": {"base": [str(config.REPO_ROOT)]},
        "pillar_roots": {"base": [str(pillar_root)]},
        # The repository is the file root: keep git data and build output out of it.
        "file_ignore_regex": [r"(^|/)\.git(/|$)", r"^build(/|$)", r"(^|/)__pycache__(/|$)",
                              r"(^|/)\.pytest_cache(/|$)"],
        # What the README asks of masters that build models in the orchestrate: accept
        # files pushed by minions (cp.push) and serve back those of the build host alone
        # (minionfs, whitelisted: the cluster6 pillar builds on sup1, and the publish step
        # refuses a minionfs that serves any other cluster host's pushed files).
        "fileserver_backend": ["roots", "minionfs"],
        "file_recv": True,
        "file_recv_max_size": 512,
        "minionfs_whitelist": ["sup1"],
        # Two cores: a few workers are plenty.
        "worker_threads": 4,
        # Hosts on a loaded 2-core machine can be slow to return.
        "timeout": 20,
        "gather_job_timeout": 20,
        # Orchestrate compiles its own minion (id <hostname>_master) from these opts.
        "enable_fqdns_grains": False,
    }


def write_config(pillar_root: Path) -> Path:
    d = config.MASTER_DIR
    for sub in ("pki", "cache", "sock"):
        (d / sub).mkdir(parents=True, exist_ok=True)
    config.LOG_DIR.mkdir(parents=True, exist_ok=True)
    path = d / "master"
    path.write_text(yaml.safe_dump(master_config(pillar_root), sort_keys=False))
    return path


def start(venv: Path, pillar_root: Path, timeout=60) -> dict:
    if not Path(pillar_root).is_dir():
        raise LabError(f"pillar root {pillar_root} does not exist")
    write_config(pillar_root)
    LOG.unlink(missing_ok=True)
    OUT.unlink(missing_ok=True)
    proc = start_daemon([venv / "bin/salt-master", "-c", config.MASTER_DIR, "-l", "warning"],
                        OUT)

    def ready():
        if proc.poll() is not None:
            raise LabError(f"salt-master exited ({proc.returncode}) at start\n"
                           f"--- {OUT} ---\n{tail(OUT)}\n--- {LOG} ---\n{tail(LOG)}")
        for port in config.SALT_PORTS:
            try:
                with socket.create_connection((config.BRIDGE_ADDR, port), timeout=1):
                    pass
            except OSError:
                return False
        return True
    wait_until("salt-master to listen on 4505/4506", ready, timeout, LOG)
    return {"pid": proc.pid, "start": proc_starttime(proc.pid), "log": str(LOG),
            "config_dir": str(config.MASTER_DIR)}


def has_dead_worker() -> bool:
    """Whether a worker of the running master said it failed to load its modules."""
    try:
        return "worker will be non-functional" in LOG.read_text(errors="replace")
    except OSError:
        return False


def stop(entry):
    """SIGTERM the master's process group (its workers), SIGKILL after a bound."""
    if entry and alive(entry.get("pid"), entry.get("start")):
        kill_wait(entry["pid"], entry.get("start"), timeout=15, group=True)
