"""The lab bridge: the only network the hosts have (no route out, no NAT)."""

from pathlib import Path

from . import config
from .util import run


def bridge_exists(name=config.BRIDGE) -> bool:
    return Path(f"/sys/class/net/{name}").exists()


def bridge_up(name=config.BRIDGE):
    """Create the bridge with the machine-side address; reuse it if present."""
    if not bridge_exists(name):
        run(["ip", "link", "add", name, "type", "bridge"])
    # Without STP a port forwards at once; a forward delay would only slow boot.
    run(["ip", "link", "set", name, "type", "bridge", "stp_state", "0", "forward_delay", "0"],
        check=False)
    address = f"{config.BRIDGE_ADDR}/{config.BRIDGE_PREFIX}"
    if address not in run(["ip", "-o", "addr", "show", "dev", name]).stdout:
        run(["ip", "addr", "add", address, "dev", name])
    run(["ip", "link", "set", name, "up"])
    return {"name": name, "address": address}


def bridge_down(name=config.BRIDGE):
    """Delete the bridge (its veth ports go away with their containers)."""
    if bridge_exists(name):
        run(["ip", "link", "del", name], check=False)
