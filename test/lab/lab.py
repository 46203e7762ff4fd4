"""The Lab: bring a topology up (image, bridge, mirrors, master, hosts), use it, bring
it down."""

import json as jsonlib
import shutil
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from . import config, image, master, mirrors, network, state
from . import topology as topo
from .host import Host
from .util import LabError, Progress, tail, wait_until

REQUIRED_TOOLS = ["debootstrap", "systemd-nspawn", "nsenter", "ip", "mount", "chroot",
                  "/usr/sbin/apt-cacher-ng"]


class Lab:
    def __init__(self, topology, venv=None):
        self.topology = topology if isinstance(topology, topo.Topology) else topo.load(topology)
        self.venv = Path(venv or config.venv())
        self._hosts = {n: Host(n, h["address"], h["grains"], self.venv)
                       for n, h in self.topology.hosts.items()}
        self.state = {}
        self.timings = {}

    @classmethod
    def from_state(cls):
        """The lab that is up now (from state.json)."""
        st = state.load()
        if not st.get("hosts"):
            raise LabError(f"no lab is up ({config.STATE_FILE} missing or empty)")
        lab = cls(st["topology"], venv=st["venv"])
        lab._hosts = {n: Host(n, venv=st["venv"], **h) for n, h in st["hosts"].items()}
        lab.state = st
        return lab

    # ---- queries ------------------------------------------------------------------

    @property
    def hosts(self):
        return list(self._hosts)

    def host(self, name) -> Host:
        try:
            return self._hosts[name]
        except KeyError:
            raise LabError(f"no host {name!r} in this lab (hosts: {', '.join(self._hosts)})") \
                from None

    def address(self, name):
        return self.host(name).address

    def hosts_with_role(self, role):
        return [n for n, h in self._hosts.items() if role in (h.grains.get("roles") or [])]

    def is_up(self):
        return bool(self.state) and all(h.running() for h in self._hosts.values())

    # ---- up / down ----------------------------------------------------------------

    def up(self, timeout=180, out=None):
        out = out or sys.stderr
        prog = Progress(out)
        with state.locked():
            state.cleanup(log=lambda m: print(f"[lab] {m}", file=out, flush=True))
            prog.done("cleanup")
            self._preflight()
            img = image.ensure_image(log=lambda m: print(f"[lab] {m}", file=out, flush=True))
            prog.done("image", str(img))
            self.state = {"topology": str(self.topology.path), "venv": str(self.venv),
                          "repo": str(config.REPO_ROOT), "hosts": {}, "mirrors": {},
                          "started": time.time()}
            config.LOG_DIR.mkdir(parents=True, exist_ok=True)
            self.state["bridge"] = network.bridge_up()
            self._save()
            prog.done("bridge", f"{config.BRIDGE} {config.BRIDGE_ADDR}/{config.BRIDGE_PREFIX}")
            self.state["mirrors"]["apt"] = mirrors.start_apt_cacher()
            self._save()
            self.state["mirrors"]["pypi"] = mirrors.start_pypi()
            self._save()
            prog.done("mirrors", f"apt :{config.APT_PORT}, pypi :{config.PYPI_PORT}")
            self.state["master"] = master.start(self.venv, self.topology.pillar_root)
            self._save()
            prog.done("master", f"pid {self.state['master']['pid']}")
            for h in self._hosts.values():
                h.prepare(img, self.topology.hosts)
                self._save()
            for h in self._hosts.values():
                h.boot()
                self._save()
            for h in self._hosts.values():
                h.find_leader()
                self._save()
            self._wait_systemd(timeout, out)
            prog.done("hosts booted", " ".join(self._hosts))
            self._wait_minions(timeout, out)
            prog.done("minions answering")
            self.timings = dict(prog.phases, total=round(time.monotonic() - prog.start, 1))
            self.state["timings"] = self.timings
            self._save()
        return self

    def down(self, out=None):
        out = out or sys.stderr
        prog = Progress(out)
        with state.locked():
            st = self.state or state.load()
            state.cleanup(st, graceful=True,
                          log=lambda m: print(f"[lab] {m}", file=out, flush=True))
        self.state = {}
        prog.done("down")
        return prog.phases["down"]

    def _save(self):
        self.state["hosts"] = {n: h.to_state() for n, h in self._hosts.items()}
        state.save(self.state)

    def _preflight(self):
        import os
        if os.geteuid() != 0:
            raise LabError("the lab needs root (mounts, bridge, nspawn)")
        missing = [t for t in REQUIRED_TOOLS if not shutil.which(t)]
        if missing:
            raise LabError("missing tools: " + ", ".join(missing) + " (apt-get install "
                           "debootstrap systemd-container apt-cacher-ng iproute2 util-linux)")
        py = self.venv / "bin/python"
        if not (self.venv / "bin/salt-minion").exists():
            raise LabError(f"no Salt in the lab venv {self.venv} (set LAB_VENV or build it)")
        target = Path(py).resolve()
        if not str(target).startswith("/usr/bin/python3"):
            raise LabError(f"{py} points at {target}: the venv must be built with Debian's "
                           "/usr/bin/python3 so that the hosts can run it")
        if not self.topology.pillar_root.is_dir():
            raise LabError(f"pillar root {self.topology.pillar_root} does not exist")

    def _wait_systemd(self, timeout, out):
        def wait(h):
            def ready():
                if not h.running():
                    raise LabError(f"host {h.name} died during boot\n--- tail of {h.log} ---\n"
                                   + tail(h.log))
                return h.system_state() in ("running", "degraded")
            try:
                wait_until(f"systemd of {h.name} to finish booting", ready, timeout, h.log)
            except LabError as exc:
                jobs = h.exec(["systemctl", "list-jobs", "--no-pager"], check=False).stdout
                raise LabError(f"{exc}\n--- pending jobs in {h.name} ---\n{jobs}") from None
            if h.system_state() == "degraded":
                print(f"[lab] {h.name}: degraded, failed units: {' '.join(h.failed_units())}",
                      file=out, flush=True)
        with ThreadPoolExecutor(len(self._hosts)) as pool:
            list(pool.map(wait, self._hosts.values()))

    def _wait_minions(self, timeout, out):
        answered = {}
        deadline = time.monotonic() + timeout
        while len(answered) < len(self._hosts):
            missing = [n for n in self._hosts if n not in answered]
            res = self._run_salt("salt", ["--out=json", "--static", "-t", "3",
                                          "-L", ",".join(missing), "test.ping"], timeout=60)
            try:
                data = jsonlib.loads(res.stdout or "{}")
            except ValueError:
                data = {}
            now = time.time()
            for name, value in data.items():
                if value is True and name not in answered:
                    h = self._hosts[name]
                    answered[name] = round(now - h.booted_at, 1)
                    print(f"[lab] {name} answers test.ping, {answered[name]}s after boot start,"
                          f" {h.memory_mb()} MB", file=out, flush=True)
            if len(answered) < len(self._hosts) and time.monotonic() > deadline:
                missing = [n for n in self._hosts if n not in answered]
                logs = "\n".join(
                    f"--- {n}: salt-minion.service is {self._minion_unit_state(n)}; "
                    "tail of /var/log/salt/minion ---\n"
                    + tail(self._hosts[n].root / "var/log/salt/minion", 15) for n in missing)
                raise LabError(f"timed out after {timeout}s waiting for minions "
                               f"{', '.join(missing)} to answer test.ping\n{logs}\n"
                               f"--- tail of {master.LOG} ---\n{tail(master.LOG, 15)}")
            if len(answered) < len(self._hosts) and master.has_dead_worker():
                # Salt's loader can race at start (a KeyError in importlib's
                # invalidate_caches) and leave a master worker that answers nothing, for
                # good: start the master again, the minions reconnect by themselves.
                print("[lab] a salt-master worker failed to load its modules; restarting "
                      "the master", file=out, flush=True)
                master.stop(self.state["master"])
                self.state["master"] = master.start(self.venv, self.topology.pillar_root)
                self._save()
            if len(answered) < len(self._hosts):
                time.sleep(1)
        self.state["boot_to_ping"] = answered

    def _minion_unit_state(self, name):
        try:
            res = self.exec(name, ["systemctl", "is-active", "salt-minion"], check=False,
                            timeout=10)
            return res.stdout.strip()
        except (LabError, subprocess.TimeoutExpired):
            return "unknown (host not running)"

    # ---- a host's power -------------------------------------------------------------

    def power_off(self, name, timeout=30):
        """Shut a host down as its power button would (systemd's poweroff, then harder
        signals, bounded).  Its disk (the overlay) stays, for power_on."""
        with state.locked():
            self.host(name).poweroff(timeout)
            self._save()

    def power_on(self, name, timeout=180):
        """Boot a powered-off host again from its own disk; returns once its systemd has
        finished booting and its minion answers the master."""
        from .host import _remove_nspawn_runtime
        h = self.host(name)
        if h.running():
            return
        with state.locked():
            _remove_nspawn_runtime(name)
            h.boot()
            h.find_leader()
            self._save()

        def booted():
            if not h.running():
                raise LabError(f"host {name} died during boot\n{tail(h.log)}")
            return h.system_state() in ("running", "degraded")
        wait_until(f"systemd of {name} to finish booting", booted, timeout, h.log)

        def answers():
            res = self._run_salt("salt", ["--out=json", "--static", "-t", "3", name,
                                          "test.ping"], timeout=60)
            try:
                return jsonlib.loads(res.stdout or "{}").get(name) is True
            except ValueError:
                return False
        wait_until(f"the minion of {name} to answer", answers, timeout, h.log, 1)

    # ---- using it -----------------------------------------------------------------

    def exec(self, host, cmd, check=True, **kw) -> subprocess.CompletedProcess:
        """Run cmd (list or shell string) as root inside host."""
        return self.host(host).exec(cmd, check=check, **kw)

    def _salt_cmd(self, prog):
        return [str(self.venv / "bin" / prog), "-c", str(config.MASTER_DIR)]

    def salt(self, *args, json=True, check=False, timeout=None):
        """`salt ARGS` against the lab master. json=True: --out=json --static, parsed
        (a dict minion -> return); json=False: the CompletedProcess."""
        return self._call("salt", args, json, check, timeout, ["--out=json", "--static"])

    def salt_run(self, *args, json=True, check=False, timeout=None):
        """`salt-run ARGS` (e.g. state.orchestrate storm.orchestrate) on the lab master."""
        return self._call("salt-run", args, json, check, timeout, ["--out=json"])

    def salt_key(self, *args, json=False, check=True):
        return self._call("salt-key", args, json, check, None, ["--out=json"])

    def _call(self, prog, args, json, check, timeout, json_opts):
        res = self._run_salt(prog, (json_opts if json else []) + list(args), timeout)
        if check and res.returncode != 0:
            raise LabError(f"{prog} {' '.join(map(str, args))} failed ({res.returncode})\n"
                           f"{res.stdout[-3000:]}{res.stderr[-3000:]}")
        if not json:
            return res
        try:
            return jsonlib.loads(res.stdout)
        except ValueError:
            raise LabError(f"{prog} {' '.join(map(str, args))}: no JSON output "
                           f"(rc {res.returncode})\n{res.stdout[-2000:]}{res.stderr[-2000:]}") \
                from None

    def _run_salt(self, prog, args, timeout=None):
        return subprocess.run(self._salt_cmd(prog) + [str(a) for a in args], text=True,
                              capture_output=True, timeout=timeout)

    def testinfra_host(self, name):
        """A testinfra Host that runs its commands inside lab host `name`."""
        from .testinfra_backend import host_for
        self.host(name)
        return host_for(name)

    def collect_artifacts(self, dest=None, patterns=None):
        """Copy the files matching the topology's globs out of every host to
        <repo>/build/artifacts/<host>/<same path>. Returns {host: [paths]}."""
        dest = Path(dest or config.ARTIFACTS_DIR)
        patterns = list(patterns or self.topology.artifacts)
        copied = {}
        for name, h in self._hosts.items():
            target = dest / name
            shutil.rmtree(target, ignore_errors=True)
            target.mkdir(parents=True, exist_ok=True)
            if not patterns:
                continue
            copied[name] = _copy_out(h, patterns, target)
        return copied


# Globbing and tar run inside the host (or chrooted into its overlay if it is stopped):
# absolute symlinks such as /etc/zookeeper/conf -> /etc/alternatives/... must resolve
# in the host's tree, not the machine's.
_GLOB = r"""
import glob, os, sys
found = set()
for pat in sys.argv[1:]:
    for p in glob.glob(pat, recursive=True):
        if os.path.isfile(p):
            found.add(p.lstrip("/"))
print("\n".join(sorted(found)))
"""


def _copy_out(h: Host, patterns, target: Path):
    if h.running():
        def inside(cmd, **kw):
            return h.exec(cmd, check=False, **kw)
    elif h.root.joinpath("usr/bin/python3").exists():
        def inside(cmd, **kw):
            return subprocess.run(["chroot", str(h.root), *cmd], check=False,
                                  capture_output=True, **kw)
    else:
        return []
    listing = inside(["python3", "-c", _GLOB, *patterns])
    files = [f for f in (listing.stdout or "").splitlines() if f]
    if not files:
        return []
    # -h: copy what a symlink points at (the inspection copy has no /etc/alternatives).
    if h.running():
        cmd = ["nsenter", "-t", str(h.leader), "-a", "tar", "-C", "/", "-chf", "-", "-T", "-"]
    else:
        cmd = ["chroot", str(h.root), "tar", "-C", "/", "-chf", "-", "-T", "-"]
    tar = subprocess.run(cmd, input="\n".join(files).encode(), capture_output=True)
    subprocess.run(["tar", "-C", str(target), "-xf", "-", "--no-same-owner"],
                   input=tar.stdout, check=False)
    return ["/" + f for f in files]
