"""
Test equipment, not part of the package: a mine whose contents come from a JSON file.

Render tests run ``salt-call --local``, where the real mine only knows the local minion.
To render a mine-discovered 5-host cluster from one host's point of view, this module
answers ``mine.get`` from ``__opts__['fake_mine_file']`` (the data other minions would
have published); the lab tests use the real mine.
"""

import fnmatch
import json

__virtualname__ = "mine"


def __virtual__():
    return __virtualname__


def get(tgt, fun, tgt_type="glob", exclude_minion=False):
    with open(__opts__["fake_mine_file"], encoding="utf-8") as handle:
        data = json.load(handle).get(fun, {})
    assert tgt_type == "glob", f"the fake mine only matches globs, not {tgt_type}"
    return {minion: value for minion, value in data.items() if fnmatch.fnmatch(minion, tgt)}
