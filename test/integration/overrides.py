"""Pillar changes for the drills, as an operator makes them: a JSON document the lab's
pillar (test/pillar/lab_cluster6/overrides.sls) merges over the rest, present only inside
the ``with`` block; the real orchestrate then applies it like any pillar edit."""

import contextlib
import json


@contextlib.contextmanager
def pillar_overrides(data):
    from lab import config
    path = config.STATE_DIR / "pillar-overrides.json"
    path.write_text(json.dumps(data))
    try:
        yield path
    finally:
        path.unlink(missing_ok=True)


def state_comments(result, prefix):
    """{minion: comment} of the states whose id starts with ``prefix``, over every step of
    an orchestrate result."""
    found = {}
    for step in result.steps.values():
        changes = step.get("changes") or {}
        for minion, states in (changes.get("ret") or {}).items():
            for state in (states or {}).values():
                if isinstance(state, dict) and str(state.get("__id__", "")).startswith(prefix):
                    found[minion] = state.get("comment")
    return found
