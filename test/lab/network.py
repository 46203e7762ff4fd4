"""The lab bridge: the only network the hosts have (no route out, no NAT)."""

import contextlib
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
    """Delete the bridge (its veth ports go away with their containers) and the outsider."""
    outsider_down()
    if bridge_exists(name):
        run(["ip", "link", "del", name], check=False)


class Outsider:
    """Commands run from the outsider's namespace (its own address on the lab bridge)."""

    def __init__(self, name, address):
        self.name, self.address = name, address

    def run(self, cmd, check=True, **kw):
        return run(["ip", "netns", "exec", self.name, *cmd], check=check, **kw)


def outsider_down(name=config.OUTSIDER_NS, link=config.OUTSIDER_LINK):
    if Path(f"/sys/class/net/{link}").exists():
        run(["ip", "link", "del", link], check=False)
    if Path(f"/run/netns/{name}").exists():
        run(["ip", "netns", "del", name], check=False)


@contextlib.contextmanager
def outsider(name=config.OUTSIDER_NS, address=config.OUTSIDER_ADDR, bridge=config.BRIDGE,
             link=config.OUTSIDER_LINK):
    """
    A host on the lab network that is not in the cluster: a network namespace with one
    veth port on the bridge and ``address``, sharing the machine's files (so the test
    venv's kazoo and thriftpy2 run there).  Removed on exit, and by bridge_down.
    """
    outsider_down(name, link)
    run(["ip", "netns", "add", name])
    try:
        run(["ip", "link", "add", link, "type", "veth", "peer", "name", "eth0", "netns", name])
        run(["ip", "link", "set", link, "master", bridge])
        run(["ip", "link", "set", link, "up"])
        inside = ["ip", "netns", "exec", name]
        run(inside + ["ip", "addr", "add", f"{address}/{config.BRIDGE_PREFIX}", "dev", "eth0"])
        run(inside + ["ip", "link", "set", "eth0", "up"])
        run(inside + ["ip", "link", "set", "lo", "up"])
        yield Outsider(name, address)
    finally:
        outsider_down(name, link)
