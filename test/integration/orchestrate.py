"""Run the real orchestrate on the lab master and read its result."""


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

    def describe(self):
        lines = []
        for sid, step in self.steps.items():
            lines.append(f"{sid}: {step.get('result')} {str(step.get('comment'))[:1500]}")
        return "\n".join(lines)


def run(lab, timeout=900):
    raw = lab.salt_run("state.orchestrate", "storm.orchestrate", timeout=timeout)
    return OrchestrateResult(raw)
