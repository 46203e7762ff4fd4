"""Prints, briefly, what `make demo` asked Salt for: `quorum` reads the JSON of
`salt zk1 zookeeper_quorum.quorum`, `storm` the JSON of `salt nimbus1 storm_ui.summary`."""

import json
import sys


def quorum(answer):
    for minion, state in sorted(answer["members"].items()):
        mode = state["mode"] if state["serving"] else f"not serving ({state['error']})"
        print(f"  {minion} (id {state['id']}, {state['host']}): {mode}")
    print(f"  healthy: {answer['healthy']}, writable: {answer['writable']}")


def storm(summary):
    print(f"  leader: {summary['leader']}  (storm {summary['cluster']['stormVersion']})")
    for sup in summary["supervisors"]:
        print(f"  supervisor {sup['host']}: {sup['slotsTotal']} slots, {sup['slotsUsed']} used")
    names = [f"{t['name']} {t['status']}" for t in summary["topologies"]] or ["none yet"]
    print(f"  topologies: {', '.join(names)}")


if __name__ == "__main__":
    data = json.load(sys.stdin)
    {"quorum": quorum, "storm": storm}[sys.argv[1]](next(iter(data.values())))
