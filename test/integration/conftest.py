"""The six-host cluster, brought up once per session by the real orchestrate, shared by the
Storm and worker tests (test/lab_topologies/cluster6.yaml).  Storm is Apache's, assembled
from its release jars by tools/storm_dist.py (or STORM_SOURCE's tarball)."""

import os
import subprocess
import sys

import pytest
from orchestrate import run

# The workers' environment (conda/parameters/defaults.yaml) resolved from the lab's
# Python package mirror.
WORKER_REQUIREMENTS = ["numpy==2.4.6", "scikit-learn==1.9.1", "joblib==1.6.0",
                       "setuptools<81", "streamparse==5.0.1", "pip", "wheel"]


@pytest.fixture(scope="session")
def cluster(lab):
    from lab import config, wheelhouse_add
    build = [sys.executable, "--out", str(config.REPO_ROOT / "build/standins")]
    if not os.environ.get("STORM_SOURCE"):
        # Apache Storm from its release jars (cached: a second build downloads nothing).
        subprocess.run([sys.executable, str(config.REPO_ROOT / "tools/storm_dist.py"),
                        "--version", os.environ.get("STORM_VERSION", "2.8.3"),
                        "--out", str(config.REPO_ROOT / "build/storm")], check=True)
    if not os.environ.get("MINIFORGE_SOURCE"):
        subprocess.run(build[:1] + [str(config.REPO_ROOT / "test/standins/build_miniforge.py")]
                       + build[1:], check=True)
    wheelhouse_add(WORKER_REQUIREMENTS)
    # What the README asks of an operator using mine discovery: sync, then publish.
    lab.salt_run("saltutil.sync_all", check=True)
    lab.salt("*", "saltutil.sync_all", check=True)
    lab.salt("*", "mine.update", check=True)
    first = run(lab)
    assert first.ok, first.describe()
    lab.collect_artifacts()
    return lab


def pytest_sessionfinish(session):
    # The drills' figures, as a table beside the run's other build output.
    from drills import write_drills_table
    try:
        write_drills_table()
    except ImportError:
        pass
