"""
CPU seconds of the lab's processes, read on the machine side (/proc shows every process of
the lab's hosts), grouped by what they are: per Storm topology its worker JVM, its
LogWriter JVM and its Python components (spout, classifier, sink), and the daemons.  Two
snapshots around a window give the cores each group used in it, which says what bounded
a figure.
"""

import os

HZ = os.sysconf("SC_CLK_TCK")
PYTHON_COMPONENTS = {"spouts.iris": "spout", "bolts.classify": "classifier",
                     "bolts.sink": "sink"}
DAEMONS = {"org.apache.storm.daemon.nimbus.Nimbus": "nimbus",
           "org.apache.storm.daemon.supervisor.Supervisor": "supervisor",
           "org.apache.zookeeper.server.quorum.QuorumPeerMain": "zookeeper",
           "salt-minion": "salt-minion"}


def _storm_id(text):
    for word in text.split():
        if word.startswith("-Dstorm.id="):
            return word.split("=", 1)[1]
    return None


def classify(pid, text):
    """(topology id or None, kind) of a process from its command line, or None."""
    if "org.apache.storm.LogWriter" in text:  # its command line holds the worker's too
        return _storm_id(text), "logwriter"
    if "org.apache.storm.daemon.worker.Worker" in text:
        return _storm_id(text), "worker-jvm"
    for module, kind in PYTHON_COMPONENTS.items():
        if module in text and "streamparse" in text:
            try:
                cwd = os.readlink(f"/proc/{pid}/cwd")
            except OSError:
                cwd = ""
            parts = cwd.split("/")
            topology = parts[parts.index("stormdist") + 1] if "stormdist" in parts else None
            return topology, kind
    for marker, kind in DAEMONS.items():
        if marker in text:
            return None, kind
    return None


def snapshot():
    """{pid: (group, CPU ticks)} of the lab's processes, plus the machine's busy ticks."""
    found = {}
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as handle:
                text = handle.read().replace(b"\0", b" ").decode("utf-8", "replace")
            with open(f"/proc/{pid}/stat", encoding="ascii") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        group = classify(pid, text)
        if group:
            found[pid] = (group, int(fields[11]) + int(fields[12]))
    with open("/proc/stat", encoding="ascii") as handle:
        cpu = [int(x) for x in handle.readline().split()[1:]]
    return {"procs": found, "busy": sum(cpu) - cpu[3] - cpu[4], "all": sum(cpu)}


def cores(before, after, seconds, topology_id):
    """Cores used between two snapshots: {kind: cores} for ``topology_id``'s processes,
    the daemons by name, ``other-topologies``, and ``machine`` (all of it, busy/all)."""
    used = {}
    for pid, (group, ticks) in after["procs"].items():
        start = before["procs"].get(pid, (group, 0))[1]  # new in the window: from 0
        topology, kind = group
        key = kind if topology in (None, topology_id) else "other-topologies"
        used[key] = used.get(key, 0.0) + (ticks - start) / HZ / seconds
    result = {k: round(v, 2) for k, v in sorted(used.items())}
    span = max(after["all"] - before["all"], 1)
    result["machine"] = round((after["busy"] - before["busy"]) / span * os.cpu_count(), 2)
    return result
