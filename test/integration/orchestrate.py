"""Run the real orchestrate on the lab master and read its result; each run's wall time per
step is kept in build/timings/ (figures for the notes and bench/, never asserted)."""

import json
import time


class OrchestrateResult:
    def __init__(self, raw):
        self.raw = raw
        data = raw.get("data", raw) if isinstance(raw, dict) else {}
        # {"<master>_master": {step id: step result}}
        self.steps = next(iter(data.values()), {}) if data else {}
        if not isinstance(self.steps, dict):
            self.steps = {"render": {"result": False, "comment": str(self.steps),
                                     "changes": {}}}

    @property
    def ok(self):
        return bool(self.steps) and all(s.get("result") is True for s in self.steps.values())

    def failures(self):
        return {sid: s.get("comment") for sid, s in self.steps.items()
                if s.get("result") is not True}

    def changed_states(self):
        """Every minion state that reported changes: [(step, minion, state ID as written in
        the SLS)]."""
        found = []
        for step_id, step in self.steps.items():
            changes = step.get("changes") or {}
            per_minion = changes.get("ret", {}) if changes.get("out") == "highstate" else {}
            for minion, states in per_minion.items():
                for state_id, state in (states or {}).items():
                    if isinstance(state, dict) and state.get("changes"):
                        found.append((step_id, minion, state.get("__id__", state_id)))
            if changes and not per_minion:
                found.append((step_id, None, str(changes)[:200]))
        return found

    def durations(self):
        """Seconds each step took, as the master measured it, in the order they ran."""
        timed = [(s.get("__run_num__", 0), sid.split("_|-")[1], s.get("duration", 0) / 1000)
                 for sid, s in self.steps.items() if isinstance(s, dict)]
        return {name: round(seconds, 1) for _, name, seconds in sorted(timed)}

    def describe(self):
        lines = []
        for sid, step in self.steps.items():
            lines.append(f"{sid}: {step.get('result')} {str(step.get('comment'))[:1500]}")
        return "\n".join(lines)


def run(lab, timeout=900):
    started = time.monotonic()
    raw = lab.salt_run("state.orchestrate", "storm.orchestrate", timeout=timeout)
    result = OrchestrateResult(raw)
    _keep_timing(lab, result, time.monotonic() - started)
    return result


def _keep_timing(lab, result, wall):
    from lab import config
    out = config.REPO_ROOT / "build" / "timings"
    out.mkdir(parents=True, exist_ok=True)
    record = {"wall_s": round(wall, 1), "ok": result.ok,
              "changed": len(result.changed_states()), "steps": result.durations()}
    stamp = time.strftime("%Y%m%dT%H%M%S")
    (out / f"orchestrate-{stamp}.json").write_text(json.dumps(record, indent=1) + "\n")
