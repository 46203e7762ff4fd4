"""Package mirrors on the bridge, since hosts have no route out:
apt-cacher-ng (Debian packages, backed by the machine's own mirror) and a PEP 503
index serving the wheelhouse directory (Python packages)."""

import glob
import socket
import sys
import urllib.request
from pathlib import Path

from . import config
from .util import (
    LabError,
    alive,
    kill_wait,
    proc_starttime,
    run,
    start_daemon,
    tail,
    wait_until,
)

ACNG_CONF = config.ACNG_DIR / "conf"
ACNG_LOG = config.ACNG_DIR / "log" / "apt-cacher-ng.out"
PYPI_LOG = config.LOG_DIR / "wheelhouse.log"
SERVER = Path(__file__).with_name("wheelhouse_server.py")


# ---- which Debian mirror the machine itself uses ------------------------------------

def _sources_entries():
    """(uri, suite) pairs of the machine's apt sources, deb822 and one-line style."""
    entries = []
    for path in sorted(glob.glob("/etc/apt/sources.list.d/*.sources")):
        for stanza in Path(path).read_text().split("\n\n"):
            fields = {}
            for line in stanza.splitlines():
                if line.startswith("#") or ":" not in line or line[0].isspace():
                    continue
                key, _, value = line.partition(":")
                fields[key.strip().lower()] = value.split()
            if "deb" in fields.get("types", []) and fields.get("enabled", ["yes"]) != ["no"]:
                entries += [(u, s) for u in fields.get("uris", [])
                            for s in fields.get("suites", [])]
    lists = ["/etc/apt/sources.list", *sorted(glob.glob("/etc/apt/sources.list.d/*.list"))]
    for path in lists:
        try:
            text = Path(path).read_text()
        except OSError:
            continue
        for line in text.splitlines():
            words = line.split("#")[0].split()
            if len(words) >= 3 and words[0] == "deb":
                if words[1].startswith("["):  # options: [arch=amd64 signed-by=...]
                    while not words[1].endswith("]"):
                        words.pop(1)
                    words.pop(1)
                entries.append((words[1], words[2]))
    return entries


def machine_mirrors():
    """{'debian': url, 'debian-security': url} from the machine's own apt sources."""
    found = {}
    for uri, suite in _sources_entries():
        if not uri.startswith(("http://", "https://")):
            continue
        kind = "debian-security" if suite.endswith("-security") else "debian"
        found.setdefault(kind, uri.rstrip("/"))
    found.setdefault("debian", config.DEFAULT_MIRROR)
    found.setdefault("debian-security", found["debian"].rsplit("/", 1)[0] + "/debian-security")
    return found


def apt_sources_for_hosts():
    base = f"http://{config.BRIDGE_ADDR}:{config.APT_PORT}"
    s = config.SUITE
    return (
        "# storm-sklearn-lab: through apt-cacher-ng on the lab bridge\n"
        f"deb {base}/debian {s} main\n"
        f"deb {base}/debian {s}-updates main\n"
        f"deb {base}/debian-security {s}-security main\n"
    )


# ---- apt-cacher-ng -------------------------------------------------------------------

def _acng_config():
    mirrors = machine_mirrors()
    for d in ("conf", "cache", "log", "run"):
        (config.ACNG_DIR / d).mkdir(parents=True, exist_ok=True)
    (ACNG_CONF / "acng.conf").write_text(
        "# written by the storm-sklearn-lab lab; an instance of our own, not Debian's\n"
        f"CacheDir: {config.ACNG_DIR / 'cache'}\n"
        f"LogDir: {config.ACNG_DIR / 'log'}\n"
        "SupportDir: /usr/lib/apt-cacher-ng\n"
        f"BindAddress: {config.BRIDGE_ADDR}\n"
        f"Port: {config.APT_PORT}\n"
        # Its admin socket and pid file default to /run/apt-cacher-ng, shared with a
        # Debian-service instance: keep ours apart.
        f"SocketPath: {config.ACNG_DIR / 'run' / 'socket'}\n"
        f"PidFile: {config.ACNG_DIR / 'run' / 'pid'}\n"
        "ForeGround: 1\n"
        "ExThreshold: 4\n"
        "ReportPage: acng-report.html\n"
        # http://10.77.0.1:3142/debian/... -> the machine's own mirror
        f"Remap-labdeb: /debian ; {mirrors['debian']}/\n"
        f"Remap-labsec: /debian-security ; {mirrors['debian-security']}/\n"
    )


def start_apt_cacher(timeout=20):
    if not Path("/usr/sbin/apt-cacher-ng").exists():
        raise LabError("apt-cacher-ng is not installed (apt-get install apt-cacher-ng)")
    _acng_config()
    proc = start_daemon(["/usr/sbin/apt-cacher-ng", "-c", ACNG_CONF], ACNG_LOG)
    _wait_port("apt-cacher-ng", proc, config.APT_PORT, timeout, ACNG_LOG)
    return {"pid": proc.pid, "start": proc_starttime(proc.pid), "log": str(ACNG_LOG)}


# ---- the wheelhouse index ------------------------------------------------------------

def start_pypi(timeout=15):
    config.WHEELHOUSE_DIR.mkdir(parents=True, exist_ok=True)
    proc = start_daemon(
        [sys.executable, SERVER, config.WHEELHOUSE_DIR, config.BRIDGE_ADDR, config.PYPI_PORT],
        PYPI_LOG,
    )
    _wait_port("wheelhouse index", proc, config.PYPI_PORT, timeout, PYPI_LOG)
    return {"pid": proc.pid, "start": proc_starttime(proc.pid), "log": str(PYPI_LOG)}


def wheelhouse_add(requirements, venv=None):
    """pip download requirements (list of specifiers, or a requirements file path)
    into the wheelhouse the hosts' pip uses (http://10.77.0.1:3141/simple/).

    Downloaded on the machine with the lab venv's pip: same Python (3.11) and
    architecture as the hosts, so the wheels fit."""
    venv = Path(venv or config.venv())
    config.WHEELHOUSE_DIR.mkdir(parents=True, exist_ok=True)
    if isinstance(requirements, (str, Path)) and Path(requirements).is_file():
        args = ["-r", str(requirements)]
    elif isinstance(requirements, str):
        args = [requirements]
    else:
        args = list(requirements)
    run([venv / "bin/python", "-m", "pip", "download", "--disable-pip-version-check",
         "-d", config.WHEELHOUSE_DIR, *args])
    return sorted(p.name for p in config.WHEELHOUSE_DIR.iterdir())


def pypi_index_url():
    return f"http://{config.BRIDGE_ADDR}:{config.PYPI_PORT}/simple/"


# ---- shared --------------------------------------------------------------------------

def _wait_port(what, proc, port, timeout, log):
    def ready():
        if proc.poll() is not None:
            raise LabError(f"{what} exited ({proc.returncode}) right after start\n"
                           f"--- tail of {log} ---\n" + tail(log))
        try:
            with socket.create_connection((config.BRIDGE_ADDR, port), timeout=1):
                return True
        except OSError:
            return False
    wait_until(f"{what} to listen on {config.BRIDGE_ADDR}:{port}", ready, timeout, log, 0.2)


def stop(entry):
    """Stop a mirror recorded in state.json ({'pid', 'start'})."""
    if entry and alive(entry.get("pid"), entry.get("start")):
        kill_wait(entry["pid"], entry.get("start"), timeout=5)


def check_apt_mirror():
    """A cheap request through the mirror (used by `status`)."""
    url = f"http://{config.BRIDGE_ADDR}:{config.APT_PORT}/debian/dists/{config.SUITE}/Release"
    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            return r.status == 200
    except OSError:
        return False
