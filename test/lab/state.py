"""state.json (what the lab started) and the cleanup of everything the lab may have
left behind, found from state.json and by scanning the machine, so it also works after
a killed run with a missing or stale state file."""

import fcntl
import json
import os
import signal
from contextlib import contextmanager
from pathlib import Path

from . import cgroups, config, mirrors, network
from .util import all_pids, cmdline, kill_wait, proc_starttime, run


def load() -> dict:
    try:
        return json.loads(config.STATE_FILE.read_text())
    except (OSError, ValueError):
        return {}


def save(state: dict):
    config.STATE_DIR.mkdir(parents=True, exist_ok=True)
    tmp = config.STATE_FILE.with_suffix(".tmp")
    tmp.write_text(json.dumps(state, indent=1, sort_keys=True) + "\n")
    tmp.rename(config.STATE_FILE)


@contextmanager
def locked():
    """One up/down at a time on this machine."""
    config.STATE_DIR.mkdir(parents=True, exist_ok=True)
    with open(config.LOCK_FILE, "w") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


# ---- finding leftovers --------------------------------------------------------------

def _mountpoints_under(path):
    found = []
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        mp = line.split()[4].encode().decode("unicode_escape")  # \040 for spaces
        if mp == str(path) or mp.startswith(str(path) + "/"):
            found.append(mp)
    return found


def unmount_under(path):
    for mp in sorted(set(_mountpoints_under(path)), key=lambda m: -m.count("/")):
        if run(["umount", mp], check=False).returncode != 0:
            run(["umount", "-l", mp], check=False)


def remove_tree(path):
    if Path(path).exists():
        # --one-file-system: never descend into something still mounted there.
        run(["rm", "-rf", "--one-file-system", path], check=False)


def _ancestors():
    pids, pid = set(), os.getpid()
    while pid and pid not in pids:
        pids.add(pid)
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
            pid = int(stat[stat.rindex(")") + 2:].split()[1])
        except (OSError, ValueError):
            break
    return pids


# A process is the lab's when its command line names one of our directories AND is one
# of the programs the lab runs (so a shell that merely `ls`es the directory survives).
_PLACES = [str(config.STATE_DIR), str(mirrors.ACNG_CONF), str(config.WHEELHOUSE_DIR)]
_PROGRAMS = ["systemd-nspawn", "salt-master", "bin/salt", "apt-cacher-ng",
             "wheelhouse_server.py", "lab-boot"]


def lab_processes():
    mine = _ancestors()
    found = []
    for pid in all_pids():
        if pid in mine:
            continue
        line = " ".join(cmdline(pid))
        if any(p in line for p in _PLACES) and any(p in line for p in _PROGRAMS):
            found.append(pid)
    return found


def container_inits():
    """Inits of pid namespaces whose root filesystem is one of our overlays."""
    found = []
    marker = f"upperdir={config.HOSTS_DIR}/"
    for pid in all_pids():
        try:
            status = Path(f"/proc/{pid}/status").read_text()
            nspid = next(x for x in status.splitlines() if x.startswith("NSpid:")).split()[1:]
            if len(nspid) < 2 or nspid[-1] != "1":
                continue
            mounts = Path(f"/proc/{pid}/mountinfo").read_text()
        except (OSError, StopIteration):
            continue
        if any(" / / " in m and marker in m for m in mounts.splitlines()):
            found.append(pid)
    return found


# ---- cleanup ----------------------------------------------------------------------

def cleanup(state=None, graceful=False, log=lambda msg: None):
    """Stop and remove everything of the lab. graceful: power hosts off through systemd
    first (down); otherwise kill (leftovers of a dead run). Returns what it found."""
    from . import master
    from .host import Host, _remove_nspawn_runtime

    state = load() if state is None else state
    found = []
    hosts = [Host(n, venv=state.get("venv"), **h)
             for n, h in state.get("hosts", {}).items()]
    if graceful:
        from concurrent.futures import ThreadPoolExecutor
        with ThreadPoolExecutor(max(1, len(hosts))) as pool:
            list(pool.map(lambda h: h.poweroff(), hosts))
    for h in hosts:
        h.kill()
    master.stop(state.get("master"))
    mirrors.stop(state.get("mirrors", {}).get("apt"))
    mirrors.stop(state.get("mirrors", {}).get("pypi"))

    # What state.json did not know about.
    for pid in container_inits():
        found.append(f"container init {pid}")
        kill_wait(pid, proc_starttime(pid), signal.SIGKILL, timeout=5)
    for group in cgroups.lab_groups():
        pids = cgroups.pids(group)
        for pid in pids:
            found.append(f"process {pid} in {group}")
            kill_wait(pid, proc_starttime(pid), signal.SIGKILL, timeout=5)
    for pid in lab_processes():
        line = " ".join(cmdline(pid))
        if line:
            found.append(f"process {pid}: {line[:100]}")
        kill_wait(pid, proc_starttime(pid), signal.SIGTERM, timeout=5)
    mounts = _mountpoints_under(config.STATE_DIR)
    found += [f"mount {m}" for m in mounts if not any(m == h.get("root") for h in
                                                      state.get("hosts", {}).values())]
    unmount_under(config.STATE_DIR)
    for group in cgroups.lab_groups():
        cgroups.remove(group)
    if network.bridge_exists():
        if not state.get("bridge"):
            found.append(f"bridge {config.BRIDGE}")
        network.bridge_down()
    names = set(state.get("hosts", {}))
    if config.HOSTS_DIR.is_dir():
        names |= {p.name for p in config.HOSTS_DIR.iterdir()}
    for name in names:
        _remove_nspawn_runtime(name)
    remove_tree(config.HOSTS_DIR)
    remove_tree(config.MASTER_DIR)
    config.STATE_FILE.unlink(missing_ok=True)
    for item in found:
        log(f"cleaned leftover: {item}")
    return found
