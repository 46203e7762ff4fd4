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


@pytest.fixture
def pillar(tmp_path):
    """A pillar tree written from a dict of top-level keys."""
    def make(data):
        root = tmp_path / "pillar"
        root.mkdir(exist_ok=True)
        (root / "top.sls").write_text("base:\n  '*':\n    - data\n")
        (root / "data.sls").write_text(yaml.safe_dump(data))
        return root
    return make
