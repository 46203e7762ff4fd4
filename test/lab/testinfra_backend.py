"""A testinfra backend that runs commands inside a lab host through nsenter.

Importing this module registers the connection type "lab", so plain testinfra works:
    pytest --hosts=lab://zk1,lab://zk2 test/integration/...
    pytest --hosts='lab://role:zookeeper'      (hosts whose roles grain has zookeeper)
    pytest --hosts=lab://all
The same verifiers run elsewhere with docker://, ssh://, ... (e.g. from Test Kitchen).
"""

import os
import subprocess

import testinfra.backend
import testinfra.host
from testinfra.backend import base

from . import state
from . import topology as topo
from .host import EXEC_ENV, Host


class LabBackend(base.BaseBackend):
    NAME = "lab"

    def __init__(self, hostname, *args, **kwargs):
        self._lab_host = None
        super().__init__(hostname, *args, **kwargs)

    @classmethod
    def get_hosts(cls, host, **kwargs):
        """Expand lab://all and lab://role:<role> from the topology in LAB_TOPOLOGY (set
        by --lab-topology; pytest collects before the lab is up), else from the running
        lab's state."""
        if host not in ("all", "*") and not str(host).startswith("role:"):
            return [host]
        st = state.load()
        if os.environ.get("LAB_TOPOLOGY"):
            t = topo.load(os.environ["LAB_TOPOLOGY"])
            hosts = {n: h["grains"] for n, h in t.hosts.items()}
        elif st.get("hosts"):
            hosts = {n: h.get("grains") or {} for n, h in st["hosts"].items()}
        else:
            raise RuntimeError(f"lab://{host}: no lab is up and LAB_TOPOLOGY is not set")
        if host.startswith("role:"):
            role = host.split(":", 1)[1]
            return [n for n, g in hosts.items() if role in (g.get("roles") or [])]
        return list(hosts)

    def lab_host(self) -> Host:
        """Looked up lazily and again after a restart of the lab (new leader pid)."""
        if self._lab_host is None or not self._lab_host.running():
            st = state.load()
            saved = st.get("hosts", {}).get(self.hostname)
            if saved is None:
                raise RuntimeError(f"lab host {self.hostname} is not up")
            self._lab_host = Host(self.hostname, venv=st.get("venv"), **saved)
        return self._lab_host

    def run(self, command, *args, **kwargs):
        command = self.get_command(command, *args)
        h = self.lab_host()
        if not h.running():
            raise RuntimeError(f"lab host {self.hostname} is not running")
        res = subprocess.run(
            ["nsenter", "-t", str(h.leader), "-a", "env", "-i", *EXEC_ENV,
             "/bin/sh", "-c", command],
            stdin=subprocess.DEVNULL, capture_output=True,
        )
        return self.result(res.returncode, self.encode(command), res.stdout, res.stderr)


testinfra.backend.BACKENDS.setdefault("lab", f"{__name__}.LabBackend")


def host_for(name) -> testinfra.host.Host:
    return testinfra.host.Host.get_host(f"lab://{name}")
