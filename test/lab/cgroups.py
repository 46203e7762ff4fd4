"""One cgroup per host for its systemd-nspawn.

With --keep-unit and no systemd on the machine, nspawn puts the container into
<its own cgroup>/payload. Started from the same cgroup, all hosts would share one
payload cgroup and each host's systemd would manage (and kill) the others' services.
So every nspawn is started inside <caller's cgroup>/storm-sklearn-lab/<host>, in the
hierarchies nspawn uses (cgroup2 and the v1 name=systemd one). Other v1 controllers
(memory, cpu ...) are left as the caller has them.
"""

import os
from pathlib import Path

GROUP = "storm-sklearn-lab"


def _hierarchies():
    """(mount point, key in /proc/self/cgroup) of the hierarchies nspawn uses."""
    found = []
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        left, _, right = line.partition(" - ")
        fstype, _, opts = right.split()[:3]
        mountpoint = left.split()[4]
        if fstype == "cgroup2":
            found.append((mountpoint, ""))
        elif fstype == "cgroup" and "name=systemd" in opts.split(","):
            found.append((mountpoint, "name=systemd"))
    return found


def _own_path(key):
    for line in Path("/proc/self/cgroup").read_text().splitlines():
        _, controllers, path = line.split(":", 2)
        if controllers == key:
            return path
    return "/"


def prepare(host) -> list:
    """Create the host's cgroups; returns the cgroup.procs files a process must join."""
    procs = []
    for mountpoint, key in _hierarchies():
        d = Path(mountpoint + _own_path(key).rstrip("/")) / GROUP / host
        d.mkdir(parents=True, exist_ok=True)
        procs.append(str(d / "cgroup.procs"))
    return procs


def lab_groups():
    """Every storm-sklearn-lab cgroup directory on the machine (any caller's path)."""
    found = []
    for mountpoint, _ in _hierarchies():
        for dirpath, dirnames, _ in os.walk(mountpoint):
            if GROUP in dirnames:
                found.append(Path(dirpath) / GROUP)
                dirnames.remove(GROUP)
            # Ours sit right below a caller's cgroup: no need to walk deep trees.
            if dirpath.count("/") - mountpoint.rstrip("/").count("/") >= 4:
                dirnames[:] = []
    return found


def host_group(host):
    return [g / host for g in lab_groups() if (g / host).is_dir()]


def pids(group: Path) -> list:
    """Every pid in a cgroup subtree."""
    found = []
    for dirpath, _, files in os.walk(group):
        if "cgroup.procs" in files:
            try:
                found += [int(p) for p in Path(dirpath, "cgroup.procs").read_text().split()]
            except OSError:
                pass
    return found


def remove(group: Path):
    """rmdir a cgroup subtree bottom-up (cgroup dirs cannot be removed with content)."""
    for dirpath, _, _ in sorted(os.walk(group), key=lambda w: -w[0].count("/")):
        try:
            os.rmdir(dirpath)
        except OSError:
            pass
