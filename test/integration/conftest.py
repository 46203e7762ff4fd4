"""The six-host cluster, brought up once per session by the real orchestrate, shared by the
Storm and worker tests (test/lab_topologies/cluster6.yaml).  Storm is Apache's, assembled
from its release jars by tools/storm_dist.py (or STORM_SOURCE's tarball)."""

import pytest
from cluster_setup import prepare
from orchestrate import run


@pytest.fixture(scope="session")
def cluster(lab):
    prepare(lab)
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
