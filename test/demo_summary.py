"""Prints, briefly, what `make demo` asked Salt for: `quorum` reads the JSON of
`salt zk1 zookeeper_quorum.quorum`, `storm` the JSON of `salt nimbus1 storm_nimbus.summary`
(the leader nimbus over Thrift),
`predictions` the JSON of `salt -L sup1,sup2 storm_topology.predictions <path>`."""

import json
import sys


def quorum(answer):
    for minion, state in sorted(answer["members"].items()):
        mode = state["mode"] if state["serving"] else f"not serving ({state['error']})"
        print(f"  {minion} (id {state['id']}, {state['host']}): {mode}")
    print(f"  healthy: {answer['healthy']}, writable: {answer['writable']}")


def storm(summary):
    versions = sorted({n["version"] for n in summary["nimbuses"] if n.get("version")})
    print(f"  leader: {summary['leader']}  (Apache Storm {', '.join(versions)}, "
          "as nimbus reports it)")
    for sup in summary["supervisors"]:
        print(f"  supervisor {sup['host']}: {sup['slots_total']} slots, "
              f"{sup['slots_used']} used (Storm {sup.get('version')})")
    names = [f"{t['name']} {t['status']} ({t['id']}, {t['num_workers']} workers, "
             f"{t['num_executors']} executors, up {t['uptime_secs']}s)"
             for t in summary["topologies"]] or ["none yet"]
    print(f"  topologies: {', '.join(names)}")


def predictions(by_host):
    """Per worker and overall: predictions written, running accuracy, the latest ones."""
    lines = labelled = correct = 0
    latest = []
    for host, found in sorted(by_host.items()):
        if not isinstance(found, dict):
            print(f"  {host}: {found}")
            continue
        accuracy = f"{found['accuracy']:.3f}" if found["accuracy"] is not None else "n/a"
        versions = ", ".join(f"v{v}: {n}" for v, n in sorted(found["model_versions"].items()))
        print(f"  {host}: {found['lines']} predictions in {len(found['files'])} file(s), "
              f"accuracy {accuracy} ({versions or 'none yet'})")
        lines += found["lines"]
        labelled += found["labelled"]
        correct += found["correct"]
        latest += [(host, r) for r in found["latest"]]
    for host, r in sorted(latest, key=lambda hr: hr[1].get("time", ""))[-6:]:
        mark = "" if r.get("label") is None else (
            " ok" if r["prediction"] == r["label"] else f" WRONG, label {r['label']}")
        print(f"    {r.get('time', '')[11:23]} {host} {r['id']}: {r['features']} -> "
              f"{r['prediction']}{mark} (model v{r['model_version']}, "
              f"{r['latency_ms']} ms)")
    overall = f"{correct / labelled:.3f}" if labelled else "n/a"
    # The demo stream is the model's held-out rows (iris.spout.rows: held_out).
    print(f"  all workers: {lines} predictions, held-out accuracy {overall} "
          f"({correct}/{labelled} labelled samples right, none of them seen in training)")


if __name__ == "__main__":
    data = json.load(sys.stdin)
    if sys.argv[1] == "predictions":
        predictions(data)
    else:
        {"quorum": quorum, "storm": storm}[sys.argv[1]](next(iter(data.values())))
