"""Topology files (test/lab_topologies/*.yaml): which hosts, their addresses and
grains, the pillar the master serves, and the files to keep after a run."""

import ipaddress
import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from . import config
from .util import LabError


@dataclass
class Topology:
    path: Path
    pillar_root: Path
    hosts: dict                      # name -> {"address": str, "grains": dict}
    artifacts: list = field(default_factory=list)

    @property
    def name(self):
        return self.path.stem


def resolve(path) -> Path:
    """A topology path as given, relative to the cwd or the repo, or a bare name."""
    p = Path(path)
    for cand in (p, config.REPO_ROOT / p, config.TEST_DIR / "lab_topologies" / p,
                 config.TEST_DIR / "lab_topologies" / f"{p}.yaml"):
        if cand.is_file():
            return cand.resolve()
    raise LabError(f"no topology file {path}")


def load(path) -> Topology:
    path = resolve(path)
    data = yaml.safe_load(path.read_text()) or {}
    net = ipaddress.ip_network(f"{config.BRIDGE_ADDR}/{config.BRIDGE_PREFIX}", strict=False)
    hosts, seen = {}, {config.BRIDGE_ADDR}
    for name, spec in (data.get("hosts") or {}).items():
        spec = spec or {}
        if not re.fullmatch(r"[a-z][a-z0-9-]{0,30}", str(name)):
            raise LabError(f"{path}: host name {name!r} is not a short lower-case hostname")
        addr = str(spec.get("address", ""))
        try:
            ok = ipaddress.ip_address(addr) in net
        except ValueError:
            ok = False
        if not ok or addr in seen:
            raise LabError(f"{path}: host {name}: address {addr!r} must be a free address in {net}")
        seen.add(addr)
        hosts[name] = {"address": addr, "grains": spec.get("grains") or {}}
    if not hosts:
        raise LabError(f"{path}: no hosts")
    pillar = Path(data.get("pillar_root", "test/pillar/lab"))
    pillar = pillar if pillar.is_absolute() else config.REPO_ROOT / pillar
    return Topology(path, pillar, hosts, list(data.get("artifacts") or []))
