"""One lab host: an overlay on the cached image, booted with systemd-nspawn, systemd
as its PID 1 and a salt-minion from the bind-mounted venv."""

import os
import signal
import subprocess
import time
import uuid
from pathlib import Path

import yaml

from . import cgroups, config
from .util import (
    LabError,
    alive,
    all_pids,
    kill_wait,
    ppid,
    proc_starttime,
    reap,
    run,
    start_daemon,
    tail,
    wait_until,
)

# Commands run inside a host get a clean environment, not the machine's (PATH with
# pyenv shims, PIP_* settings ...).
EXEC_ENV = [
    "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    "HOME=/root", "LANG=C.UTF-8", "USER=root", "LOGNAME=root",
    "DEBIAN_FRONTEND=noninteractive",
]

MINION_UNIT = """\
[Unit]
Description=Salt minion (storm-sklearn-lab, from the bind-mounted venv)
After=network.target
# Keep trying: the master may come up after the host.
StartLimitIntervalSec=0

[Service]
Type=simple
ExecStart={venv}/bin/salt-minion
Restart=always
RestartSec=2
# Salt's own unit has KillMode=process so that a state restarting the minion does not
# kill the job doing it. Here nothing restarts the minion, and with KillMode=process its
# child process takes ~4 s after SIGTERM and held up every poweroff by ~7 s.
KillMode=mixed
TimeoutStopSec=3

[Install]
WantedBy=multi-user.target
"""

NETWORK = """\
# storm-sklearn-lab: sorts before Debian's 80-container-host0.network, which would
# otherwise win and ask for DHCP that nobody serves on the lab bridge.
[Match]
Name=host0

[Network]
Address={address}/{prefix}
LinkLocalAddressing=no
IPv6AcceptRA=no
"""


class Host:
    def __init__(self, name, address=None, grains=None, venv=None, **saved):
        self.name = name
        self.address = address
        self.grains = grains or {}
        self.venv = Path(venv or config.venv())
        self.dir = config.HOSTS_DIR / name
        self.root = self.dir / "root"
        self.log = config.LOG_DIR / f"{name}.log"
        # Runtime facts, also saved in state.json: the nspawn process and the
        # container's init (leader), each with its start time against pid reuse.
        self.pid = saved.get("pid")
        self.start = saved.get("start")
        self.leader = saved.get("leader")
        self.leader_start = saved.get("leader_start")
        self.mounted = saved.get("mounted", False)
        self.booted_at = saved.get("booted_at")

    def to_state(self):
        return {k: getattr(self, k) for k in (
            "address", "grains", "pid", "start", "leader", "leader_start", "mounted",
            "booted_at")} | {"root": str(self.root), "log": str(self.log)}

    # ---- filesystem ---------------------------------------------------------------

    def prepare(self, image: Path, all_hosts: dict):
        """Mount the overlay and write the host's own files into it before boot."""
        for d in ("upper", "work", "root"):
            (self.dir / d).mkdir(parents=True, exist_ok=True)
        run(["mount", "-t", "overlay", "overlay", "-o",
             f"lowerdir={image},upperdir={self.dir / 'upper'},workdir={self.dir / 'work'}",
             self.root])
        self.mounted = True
        etc = self.root / "etc"
        (etc / "hostname").write_text(self.name + "\n")
        (etc / "machine-id").write_text(uuid.uuid4().hex + "\n")
        # Every host by its lab address (not Debian's 127.0.1.1 for its own name, which
        # makes ZooKeeper bind its quorum port to loopback), and "salt" for the master.
        lines = ["127.0.0.1\tlocalhost", "::1\tlocalhost ip6-localhost ip6-loopback",
                 f"{config.BRIDGE_ADDR}\tsalt"]
        lines += [f"{h['address']}\t{n}" for n, h in sorted(all_hosts.items())]
        (etc / "hosts").write_text("\n".join(lines) + "\n")
        (etc / "systemd/network/10-lab.network").write_text(
            NETWORK.format(address=self.address, prefix=config.BRIDGE_PREFIX))
        (etc / "pip.conf").write_text(
            "[global]\n"
            f"index-url = http://{config.BRIDGE_ADDR}:{config.PYPI_PORT}/simple/\n"
            f"trusted-host = {config.BRIDGE_ADDR}\n")
        (etc / "salt").mkdir(exist_ok=True)
        (etc / "salt/minion").write_text(yaml.safe_dump(self.minion_config(), sort_keys=False))
        unit = etc / "systemd/system/salt-minion.service"
        unit.write_text(MINION_UNIT.format(venv=self.venv))
        wants = etc / "systemd/system/multi-user.target.wants/salt-minion.service"
        wants.parent.mkdir(parents=True, exist_ok=True)
        if not wants.is_symlink():
            wants.symlink_to("/etc/systemd/system/salt-minion.service")

    def minion_config(self):
        return {
            "id": self.name,
            "master": config.BRIDGE_ADDR,
            "file_client": "remote",
            "grains": self.grains,
            "log_file": "/var/log/salt/minion",
            "log_level_logfile": "info",
            # No DNS on the bridge: reverse lookups of every address would only time out.
            "enable_fqdns_grains": False,
            "ipv6": False,
            # Find the master quickly after boot or a master restart.
            "acceptance_wait_time": 2,
            "acceptance_wait_time_max": 5,
            "recon_default": 1000,
            "recon_max": 3000,
            "recon_randomize": False,
            "random_reauth_delay": 0,
            "master_tries": -1,
            "auth_tries": 10,
        }

    # ---- process --------------------------------------------------------------------

    def boot(self):
        """Start systemd-nspawn in the background (own session, own cgroup)."""
        if not self.venv.joinpath("bin/salt-minion").exists():
            raise LabError(f"no salt-minion in the lab venv {self.venv} (set LAB_VENV)")
        procs = cgroups.prepare(self.name)
        nspawn = [
            "systemd-nspawn", "--boot", "--register=no", "--keep-unit",
            f"--network-bridge={config.BRIDGE}", "-D", self.root,
            f"--machine={self.name}", f"--hostname={self.name}",
            f"--bind-ro={self.venv}:{self.venv}",
            # The machine's resolver is not reachable from the bridge; the image has
            # its own resolv.conf and names come from /etc/hosts.
            "--resolv-conf=off",
        ]
        # Join the host's cgroups, then become nspawn (same pid).
        join = 'while [ "$1" != -- ]; do echo $$ > "$1" || exit 1; shift; done; shift; exec "$@"'
        self.log.unlink(missing_ok=True)
        proc = start_daemon(["/bin/sh", "-c", join, "lab-boot", *procs, "--", *nspawn], self.log)
        self.pid, self.start = proc.pid, proc_starttime(proc.pid)
        self.booted_at = time.time()
        self._proc = proc
        return proc

    def find_leader(self, timeout=30):
        """The container's init: nspawn's child that is PID 1 in a new pid namespace."""
        def leader():
            if not alive(self.pid, self.start):
                reap(self.pid)
                raise LabError(f"systemd-nspawn of {self.name} exited during boot\n"
                               f"--- tail of {self.log} ---\n{tail(self.log)}")
            for pid in all_pids():
                if ppid(pid) == self.pid and _nspid(pid)[-1:] == ["1"] and len(_nspid(pid)) > 1:
                    return pid
            return None
        self.leader = wait_until(f"the init process of {self.name}", leader, timeout,
                                 self.log, 0.1)
        self.leader_start = proc_starttime(self.leader)
        return self.leader

    def running(self) -> bool:
        return alive(self.leader, self.leader_start)

    def exec(self, cmd, check=True, input=None, timeout=None, capture=True, env=None):
        """Run cmd (list, or a string for /bin/sh -c) inside the host as root."""
        if not self.running():
            raise LabError(f"host {self.name} is not running")
        if isinstance(cmd, str):
            cmd = ["/bin/sh", "-c", cmd]
        extra = [f"{k}={v}" for k, v in (env or {}).items()]
        full = ["nsenter", "-t", str(self.leader), "-a", "env", "-i", *EXEC_ENV, *extra,
                *map(str, cmd)]
        res = subprocess.run(full, input=input, text=True, timeout=timeout,
                             stdout=subprocess.PIPE if capture else None,
                             stderr=subprocess.PIPE if capture else None)
        res.args = list(cmd)
        if check and res.returncode != 0:
            out = ((res.stdout or "") + (res.stderr or "")).strip()[-3000:]
            raise LabError(f"{self.name}: command failed ({res.returncode}): "
                           f"{' '.join(map(str, cmd))}\n{out}")
        return res

    def system_state(self) -> str:
        """systemd's own verdict: initializing/starting/running/degraded/..."""
        if not self.running():
            return "stopped"
        try:
            res = self.exec(["systemctl", "is-system-running"], check=False, timeout=10)
        except (subprocess.TimeoutExpired, LabError):
            return "unknown"
        return res.stdout.strip() or "unknown"

    def failed_units(self):
        res = self.exec(["systemctl", "--failed", "--no-legend", "--plain"], check=False)
        return [line.split()[0] for line in res.stdout.splitlines() if line.strip()]

    def memory_mb(self) -> float:
        """Proportional set size of everything running in the host, in MB."""
        total = 0
        for group in cgroups.host_group(self.name):
            for pid in cgroups.pids(group):
                try:
                    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
                        if line.startswith("Pss:"):
                            total += int(line.split()[1])
                except OSError:
                    pass
            break
        return round(total / 1024, 1)

    # ---- stop -----------------------------------------------------------------------

    def poweroff(self, timeout=30):
        """Clean shutdown through systemd, then ever harder signals (bounded)."""
        if self.running():
            try:
                self.exec(["systemctl", "poweroff", "--no-block"], check=False, timeout=10)
            except (subprocess.TimeoutExpired, LabError):
                pass
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline and alive(self.pid, self.start):
                reap(self.pid)
                time.sleep(0.2)
        if alive(self.pid, self.start):
            # nspawn turns SIGTERM into a shutdown request to the container's init.
            kill_wait(self.pid, self.start, signal.SIGTERM, timeout=10)
        self.kill()

    def kill(self):
        """Hard stop: killing the init of a pid namespace kills everything in it."""
        if alive(self.leader, self.leader_start):
            kill_wait(self.leader, self.leader_start, signal.SIGKILL, timeout=5)
        if alive(self.pid, self.start):
            kill_wait(self.pid, self.start, signal.SIGKILL, timeout=5)
        self.leader = self.pid = None


def _nspid(pid):
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("NSpid:"):
                return line.split()[1:]
    except OSError:
        pass
    return []


def _remove_nspawn_runtime(name):
    # nspawn refuses to rm -rf its propagation dir when /run is not a tmpfs (it is on
    # the root filesystem here), so it would be left behind.
    d = Path("/run/systemd/nspawn/propagate") / name
    if d.is_dir() and not os.path.ismount(d):
        run(["rm", "-rf", "--one-file-system", d], check=False)
