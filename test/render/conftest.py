"""Fixtures of the render tests (the machinery is in saltrender.py)."""

import pytest
import yaml
from saltrender import Minion


@pytest.fixture
def minion(tmp_path):
    count = iter(range(1000))

    def make(pillar_root, minion_id, mine=None):
        return Minion(tmp_path / f"m{next(count)}", pillar_root, minion_id, mine)
    return make


# Every Storm pillar must give the ZooKeeper secret; the pillar fixture adds this one
# unless the test sets storm:zookeeper_auth itself (the tests about the secret do).
TEST_SECRET = "render-test-digest-secret"


def with_secret(data):
    storm = data.get("storm", {})
    if not isinstance(storm, dict) or "zookeeper_auth" in storm:
        return data
    return dict(data, storm=dict(storm, zookeeper_auth={"password": TEST_SECRET}))


@pytest.fixture
def pillar(tmp_path):
    """A pillar tree written from a dict of top-level keys (with the ZooKeeper secret)."""
    def make(data):
        data = with_secret(data)
        root = tmp_path / "pillar"
        root.mkdir(exist_ok=True)
        (root / "top.sls").write_text("base:\n  '*':\n    - data\n")
        (root / "data.sls").write_text(yaml.safe_dump(data))
        return root
    return make
