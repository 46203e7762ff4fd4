"""Fixtures of the unit tests (the loader is in modloader.py)."""

import pytest
from modloader import load


@pytest.fixture
def loader():
    return load
