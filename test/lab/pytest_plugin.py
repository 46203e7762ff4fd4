"""pytest fixtures for the lab. Enable in a conftest.py with

    pytest_plugins = ["lab.pytest_plugin"]

and pick the topology with `--lab-topology zk3` (a name in test/lab_topologies/ or a
path), the env LAB_TOPOLOGY, or a marker on the tests that use the lab:

    pytestmark = pytest.mark.lab_topology("zk3")

Fixtures:
  lab       (session) the Lab, up; at the end its artifacts are collected and it is
            brought down, also after failures. LAB_KEEP=1 leaves it up; LAB_REUSE=1
            uses an already running lab of the same topology (and leaves it up).
  lab_host  (session) factory: lab_host("zk1") -> testinfra Host inside that host.

It also registers testinfra's connection type lab://, so the stock `host` fixture
works on lab hosts: pytest --hosts=lab://zk1,lab://zk2 or --hosts='lab://role:zookeeper'.
Such tests get the `lab` fixture automatically. Tests that need the lab are skipped
when no topology is given.
"""

import os
import sys

import pytest

from . import (
    state,
    testinfra_backend,  # noqa: F401  (registers lab:// with testinfra)
)
from . import topology as topo
from .lab import Lab
from .util import LabError


def pytest_addoption(parser):
    group = parser.getgroup("lab", "storm-sklearn-lab")
    group.addoption("--lab-topology", default=os.environ.get("LAB_TOPOLOGY"),
                    help="topology the `lab` fixture brings up (name or path)")


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "lab_topology(name): the lab topology the tests of this item need")
    chosen = config.getoption("--lab-topology")
    if chosen:
        # lab://all and lab://role:X are expanded at collection, before the lab is up.
        os.environ["LAB_TOPOLOGY"] = str(topo.resolve(chosen))


def pytest_collection_modifyitems(session, config, items):
    """Tests on a lab:// testinfra host need the lab even if they do not ask for it
    (plain verifiers only use `host`): make them use the `lab` fixture first."""
    for item in items:
        params = getattr(getattr(item, "callspec", None), "params", {})
        target = params.get("_testinfra_host")
        backend = getattr(target, "backend", None)
        if isinstance(backend, testinfra_backend.LabBackend) and "lab" not in item.fixturenames:
            item.fixturenames.insert(0, "lab")


def _flag(name):
    return os.environ.get(name, "") not in ("", "0", "no", "false")


def _wanted_topology(request):
    chosen = request.config.getoption("--lab-topology")
    if chosen:
        return topo.resolve(chosen)
    marked = {
        str(topo.resolve(m.args[0]))
        for item in request.session.items if "lab" in getattr(item, "fixturenames", ())
        for m in item.iter_markers("lab_topology")
    }
    if len(marked) > 1:
        raise LabError("tests in this session ask for different lab topologies "
                       f"({', '.join(sorted(marked))}); run them in separate sessions "
                       "or pass --lab-topology")
    if not marked:
        pytest.skip("lab tests need a topology: --lab-topology NAME, LAB_TOPOLOGY or "
                    "@pytest.mark.lab_topology(NAME)")
    return marked.pop()


def _running_lab(path):
    """The running lab, if it is of this topology and all its hosts are up."""
    try:
        lab = Lab.from_state()
    except LabError:
        return None
    if str(lab.topology.path) != str(path) or not lab.is_up():
        return None
    if lab.salt("*", "test.ping", "-t", "10") != {h: True for h in lab.hosts}:
        return None
    return lab


@pytest.fixture(scope="session")
def lab(request):
    path = _wanted_topology(request)
    keep = _flag("LAB_KEEP")
    lab = _running_lab(path) if _flag("LAB_REUSE") else None
    if lab is not None:
        print(f"\n[lab] reusing the running lab {path}", file=sys.stderr)
        keep = True
    else:
        lab = Lab(path)
        try:
            lab.up()
        except BaseException:
            _finish(lab, keep)
            raise
    try:
        yield lab
    finally:
        _finish(lab, keep)


def _finish(lab, keep):
    try:
        if state.load().get("hosts"):
            lab.collect_artifacts()
    except Exception as exc:  # artifacts are for inspection, never fail the run here
        print(f"[lab] collecting artifacts failed: {exc}", file=sys.stderr)
    if keep:
        print("[lab] leaving the lab up (LAB_KEEP or LAB_REUSE; python -m lab down stops it)",
              file=sys.stderr)
    else:
        lab.down()


@pytest.fixture(scope="session")
def lab_host(lab):
    """lab_host("zk1") -> testinfra Host running commands inside zk1."""
    return lab.testinfra_host
