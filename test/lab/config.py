"""Fixed names, paths and addresses of the lab (one lab per machine)."""

import os
from pathlib import Path

# Everything the lab creates lives under these two roots, so a scan of them finds
# every leftover of a killed run.
STATE_DIR = Path("/var/lib/storm-sklearn-lab")
CACHE_DIR = Path("/var/cache/storm-sklearn-lab")

STATE_FILE = STATE_DIR / "state.json"
LOCK_FILE = STATE_DIR / "lock"
HOSTS_DIR = STATE_DIR / "hosts"
MASTER_DIR = STATE_DIR / "master"
LOG_DIR = STATE_DIR / "logs"

IMAGE_DIR = CACHE_DIR / "rootfs-bookworm"
ACNG_DIR = CACHE_DIR / "apt-cacher-ng"
WHEELHOUSE_DIR = CACHE_DIR / "wheelhouse"

BRIDGE = "stlab0"
BRIDGE_ADDR = "10.77.0.1"
BRIDGE_PREFIX = 24
# A network namespace on the bridge that is no lab host and not the master: "anyone else
# on the cluster's network", from where the security tests try what must be refused.
OUTSIDER_NS = "stlab-outsider"
OUTSIDER_LINK = "stlab-out0"
OUTSIDER_ADDR = "10.77.0.250"
APT_PORT = 3142
PYPI_PORT = 3141
SALT_PORTS = (4505, 4506)

SUITE = "bookworm"
DEFAULT_MIRROR = "http://deb.debian.org/debian"

# The test/ directory (holds the lab package) and the repository root above it: the
# master serves the repository itself as its file_roots.
TEST_DIR = Path(__file__).resolve().parent.parent
REPO_ROOT = TEST_DIR.parent
ARTIFACTS_DIR = REPO_ROOT / "build" / "artifacts"


def venv() -> Path:
    """The Salt virtualenv: run on the machine and bind-mounted read-only into hosts.

    It must be built from /usr/bin/python3 (Debian's), since the hosts run it with
    their own /usr/bin/python3.11.
    """
    return Path(os.environ.get("LAB_VENV", "/opt/storm-sklearn-lab/venv"))
