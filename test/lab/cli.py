"""Command line: PYTHONPATH=test <venv>/bin/python -m lab <command> ...

  up --topology test/lab_topologies/zk3.yaml [--timeout S]
  down
  status | hosts
  exec HOST -- CMD...          exit code passed through
  salt -- ARGS...              salt -c <lab master config> ARGS
  salt-run -- ARGS...
  salt-key -- ARGS...
  artifacts [--dest DIR]       copy the topology's artifact globs out of every host
  image                        build (or check) the cached image only
  wheelhouse-add REQ...        pip download into the wheelhouse served to the hosts
"""

import argparse
import subprocess
import sys

from . import config, image, mirrors, state
from .lab import Lab
from .util import LabError, alive


def _rest(args):
    return args[1:] if args[:1] == ["--"] else args


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help", "help"):
        print(__doc__)
        return 0 if argv else 2
    cmd, rest = argv[0], argv[1:]
    try:
        return _dispatch(cmd, rest)
    except LabError as exc:
        print(f"lab {cmd}: {exc}", file=sys.stderr)
        if cmd == "up":
            print("lab up: what did come up is left running for inspection; "
                  "`python -m lab down` removes it", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


def _dispatch(cmd, rest):
    if cmd == "up":
        p = argparse.ArgumentParser(prog="lab up")
        p.add_argument("--topology", "-t", required=True)
        p.add_argument("--timeout", type=float, default=180)
        a = p.parse_args(rest)
        lab = Lab(a.topology).up(timeout=a.timeout)
        _print_hosts(lab)
        return 0
    if cmd == "down":
        st = state.load()
        if st.get("topology"):
            try:
                Lab.from_state().down()
                return 0
            except LabError:
                pass  # stale state: the scan-based cleanup below still works
        with state.locked():
            state.cleanup(st, graceful=True, log=lambda m: print(f"[lab] {m}", file=sys.stderr))
        return 0
    if cmd in ("status", "hosts"):
        return _print_hosts(Lab.from_state(), full=cmd == "status")
    if cmd == "exec":
        if not rest:
            raise LabError("usage: lab exec HOST -- CMD...")
        host, command = rest[0], _rest(rest[1:])
        if not command:
            raise LabError("usage: lab exec HOST -- CMD...")
        return Lab.from_state().exec(host, command, check=False, capture=False).returncode
    if cmd in ("salt", "salt-run", "salt-key", "salt-cp"):
        lab = Lab.from_state()
        return subprocess.run(lab._salt_cmd(cmd) + _rest(rest)).returncode
    if cmd == "artifacts":
        p = argparse.ArgumentParser(prog="lab artifacts")
        p.add_argument("--dest", default=str(config.ARTIFACTS_DIR))
        a = p.parse_args(rest)
        copied = Lab.from_state().collect_artifacts(a.dest)
        for host, files in copied.items():
            print(f"{host}: {len(files)} files -> {a.dest}/{host}")
        return 0
    if cmd == "image":
        path = image.ensure_image()
        print(path, image.current_stamp(path))
        return 0
    if cmd == "wheelhouse-add":
        for name in mirrors.wheelhouse_add(_rest(rest)):
            print(name)
        return 0
    print(__doc__, file=sys.stderr)
    return 2


def _print_hosts(lab, full=True):
    st = lab.state or state.load()
    if full:
        m = st.get("master") or {}
        print(f"topology {st.get('topology')}  venv {st.get('venv')}")
        up = "up" if alive(m.get("pid"), m.get("start")) else "DOWN"
        print(f"master   pid {m.get('pid')} {up}  config {config.MASTER_DIR}")
        for kind, e in (st.get("mirrors") or {}).items():
            up = alive(e.get("pid"), e.get("start"))
            print(f"mirror   {kind:5} pid {e.get('pid')} {'up' if up else 'DOWN'}")
    print(f"{'HOST':10} {'ADDRESS':12} {'PID':>8} {'STATE':12} {'MEM MB':>7}")
    for name in lab.hosts:
        h = lab.host(name)
        mem = h.memory_mb() if h.running() else 0
        print(f"{name:10} {h.address:12} {h.leader or '-':>8} {h.system_state():12} {mem:>7}")
    return 0
