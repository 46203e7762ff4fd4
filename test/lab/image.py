"""The cached Debian bookworm root filesystem every lab host boots from (read-only
lower layer of each host's overlay)."""

import json
import os
import shutil
import tempfile
import time
from pathlib import Path

from . import config
from .mirrors import apt_sources_for_hosts, machine_mirrors
from .state import remove_tree, unmount_under
from .util import LabError, run

# What a booted host with a salt-minion and apt needs. No Java or ZooKeeper: the
# formulas install those through the apt mirror like on a real host.
INCLUDE = [
    "systemd", "systemd-sysv", "dbus", "iproute2", "python3", "ca-certificates",
    "procps", "netbase",
    "python3-venv",     # pip/venv inside hosts (the bind-mounted Salt venv is read-only)
    "iputils-ping",     # name/route checks between hosts
    "netcat-openbsd",   # ZooKeeper four-letter-word health checks
    "apt-utils",        # apt's debconf pre-configuration, else a warning per install
]

# Bump when the post-debootstrap recipe below changes, so caches get rebuilt.
RECIPE = 3

# Timers that would run apt (and take the dpkg lock from the formulas) or do disk
# maintenance that makes no sense on an overlay; units that fail or wait in nspawn.
MASK = [
    "apt-daily.timer", "apt-daily-upgrade.timer", "apt-daily.service",
    "apt-daily-upgrade.service", "e2scrub_all.timer", "e2scrub_reap.service",
    "fstrim.timer", "systemd-timesyncd.service", "console-getty.service",
    "getty.target", "systemd-hwdb-update.service",
]

STAMP = "etc/storm-sklearn-lab-image.json"


def wanted_stamp():
    return {"suite": config.SUITE, "include": sorted(INCLUDE), "recipe": RECIPE}


def current_stamp(path=config.IMAGE_DIR):
    try:
        return json.loads((Path(path) / STAMP).read_text())
    except (OSError, ValueError):
        return None


def is_current(path=config.IMAGE_DIR):
    stamp = current_stamp(path) or {}
    return all(stamp.get(k) == v for k, v in wanted_stamp().items())


def ensure_image(log=print) -> Path:
    """Return the cached image, building it first if missing or built from another
    include list/recipe. Built into a temporary directory and renamed at the end, so a
    killed build never looks like a cache."""
    target = config.IMAGE_DIR
    if is_current(target):
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    # Leftovers of killed builds (same filesystem, so the final rename is atomic). A
    # killed debootstrap can leave /proc, /sys ... mounted inside: unmount before rm.
    for old in target.parent.glob(target.name + ".tmp-*"):
        _remove(old)
    tmp = Path(tempfile.mkdtemp(prefix=target.name + ".tmp-", dir=target.parent))
    mirror = machine_mirrors()["debian"]
    log(f"building image with debootstrap from {mirror} (about a minute)")
    t0 = time.monotonic()
    build_log = tmp.parent / "debootstrap.log"
    res = run(
        ["debootstrap", "--variant=minbase", "--include=" + ",".join(INCLUDE),
         config.SUITE, tmp, mirror],
        check=False,
    )
    build_log.write_text((res.stdout or "") + (res.stderr or ""))
    if res.returncode != 0:
        _remove(tmp)
        raise LabError(f"debootstrap failed ({res.returncode}), see {build_log}:\n"
                       + "\n".join(((res.stdout or "") + (res.stderr or "")).splitlines()[-20:]))
    _configure(tmp)
    stamp = dict(wanted_stamp(), built=time.strftime("%Y-%m-%dT%H:%M:%S"),
                 debootstrap_seconds=round(time.monotonic() - t0, 1), mirror=mirror)
    (tmp / STAMP).write_text(json.dumps(stamp, indent=1) + "\n")
    os.chmod(tmp, 0o755)  # mkdtemp makes it 0700; it becomes the hosts' "/"
    if target.exists():
        stale = target.with_name(target.name + ".tmp-stale")
        target.rename(stale)
        _remove(stale)
    tmp.rename(target)
    log(f"image ready in {time.monotonic() - t0:.0f}s: {target}")
    return target


def _remove(path):
    unmount_under(path)
    remove_tree(path)


def _configure(root: Path):
    """Turn the debootstrapped tree into a bootable lab host image."""
    # debootstrap may leave a policy-rc.d that forbids starting services; the formulas
    # must be able to start what they install (zookeeperd ...).
    (root / "usr/sbin/policy-rc.d").unlink(missing_ok=True)
    run(["chroot", root, "systemctl", "enable", "systemd-networkd.service"])
    run(["chroot", root, "systemctl", "mask", *MASK])
    # Hosts have no route out: every apt download goes through apt-cacher-ng on the
    # bridge, which fetches from the machine's own mirror.
    (root / "etc/apt/sources.list").write_text(apt_sources_for_hosts())
    for f in (root / "etc/apt/sources.list.d").glob("*"):
        f.unlink()
    (root / "etc/apt/apt.conf.d/90storm-sklearn-lab").write_text(
        'Acquire::Languages "none";\n'
        'Acquire::Retries "3";\n'
        # The mirror is on the bridge, no point in waiting long for it.
        'Acquire::http::Timeout "30";\n'
    )
    # No resolver on the bridge: names come from /etc/hosts, lookups of others fail
    # fast instead of timing out against the machine's resolver.
    resolv = root / "etc/resolv.conf"
    if resolv.is_symlink() or resolv.exists():
        resolv.unlink()
    resolv.write_text("# storm-sklearn-lab: no DNS, names are in /etc/hosts\n")
    # Each host gets its own machine-id when it is prepared.
    (root / "etc/machine-id").write_text("")
    (root / "var/lib/dbus/machine-id").unlink(missing_ok=True)
    run(["chroot", root, "apt-get", "clean"])
    shutil.rmtree(root / "var/lib/apt/lists", ignore_errors=True)
    (root / "var/lib/apt/lists/partial").mkdir(parents=True)
