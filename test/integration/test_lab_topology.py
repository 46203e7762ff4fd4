"""
The bundled iris topology end to end on the six-host lab, as the real orchestrate submitted
it (the `cluster` fixture) to Apache Storm's leader nimbus: ACTIVE with the formula's
fingerprint (asked over Nimbus' Thrift API), its Python components run by Storm's own
ShellSpout/ShellBolt, tuples acked and none failed by Storm's counters, predictions written
on both supervisors by the deployed model, accuracy on iris, re-runs that leave it alone,
workers that outlive a supervisor restart, and a file of new samples fed into the spout's
source directory classified.
"""

import json
import time
import zlib

import pytest
from drills import pillar_overrides, record_drill, spout_ledger, wait
from orchestrate import run

pytestmark = [pytest.mark.lab, pytest.mark.lab_topology("test/lab_topologies/cluster6.yaml")]
SEEDS = "10.77.0.21"
RESULTS = "/var/lib/storm/iris/predictions-{task}.jsonl"
SUPERVISORS = {"sup1": "10.77.0.31", "sup2": "10.77.0.32"}
INBOX = "/var/lib/storm/iris/inbox"


def nimbus(lab, function, *args):
    return lab.salt("nimbus1", f"storm_nimbus.{function}", SEEDS, *args)["nimbus1"]


def iris(lab):
    return lab.salt("nimbus1", "storm_topology.running", SEEDS, "iris")["nimbus1"]


def predictions(lab, tail=0):
    return lab.salt("-L", "sup1,sup2", "storm_topology.predictions", RESULTS,
                    f"tail={tail}")




def test_topology_is_active_with_the_formulas_fingerprint(cluster):
    summary = [t for t in nimbus(cluster, "summary")["topologies"] if t["name"] == "iris"]
    assert [t["status"] for t in summary] == ["ACTIVE"]
    detail = nimbus(cluster, "topology", "iris")
    assert detail["conf"]["salt.fingerprint"].startswith("sha256-")
    assert detail["conf"]["topology.workers"] == 2
    assert set(detail["components"]) == {"iris_spout", "classifier", "sink"}
    # One worker on each supervisor, and a sink task on each (the default parallelism).
    placed = iris(cluster)["placed"]
    assert sorted(placed) == sorted(SUPERVISORS.values()), placed
    assert all(tasks.get("sink") == 1 for tasks in placed.values()), placed


def test_storm_counts_tuples_acked_and_none_failed(cluster):
    """Storm's own counters (the first 60 s metrics bucket must have passed): the spout's
    tuples are acked by Storm's ackers, none failed, and no component reported an error."""
    def counted():
        now = iris(cluster)
        return now if now["acked"].get("iris_spout", 0) > 0 else None
    now = wait("acked tuples in Storm's counters", counted, timeout=150, interval=5)
    assert now["acked"]["sink"] > 0 and now["acked"]["classifier"] > 0, now["acked"]
    assert sum(now["failed"].values()) == 0, now["failed"]
    assert not any(now["errors"].values()), now["errors"]


def test_workers_survive_a_supervisor_restart(cluster):
    """KillMode=process: restarting a supervisor leaves its workers (the worker and
    LogWriter JVMs and the Python processes) running; the new supervisor adopts them."""
    def workers(host):
        out = cluster.exec(host, "pgrep -u storm -f 'org.apache.storm.daemon.worker.Worker "
                                 "|streamparse_run' | sort", check=False).stdout
        return out.split()
    before = workers("sup1")
    assert before, "no worker processes on sup1"
    supervisor = cluster.exec("sup1", "systemctl show -p MainPID --value "
                                      "storm-supervisor").stdout.strip()
    cluster.exec("sup1", "systemctl restart storm-supervisor")
    assert cluster.exec("sup1", "systemctl show -p MainPID --value "
                                "storm-supervisor").stdout.strip() != supervisor
    time.sleep(20)  # the supervisor's sync loop would relaunch workers it disowned
    assert workers("sup1") == before
    lines = predictions(cluster)["sup1"]["lines"]
    wait("sup1's sink still writing", lambda: predictions(cluster)["sup1"]["lines"] > lines)


def test_predictions_on_both_supervisors_with_iris_accuracy(cluster):
    def both_have_enough():
        found = predictions(cluster)
        return found if all(isinstance(found.get(h), dict) and found[h]["lines"] >= 50
                            for h in SUPERVISORS) else None
    found = wait("50 predictions on each supervisor", both_have_enough)
    latest = predictions(cluster, tail=10)
    for host in SUPERVISORS:
        assert found[host]["bad"] == 0
        # The pillar's version now; the workers tests switched sup1 to version 3 and
        # both workers to version 4 for a while, which the running classifiers followed
        # (test_lab_workers.py).
        assert {r["model_version"] for r in latest[host]["latest"]} == {"1"}, latest[host]
        assert set(found[host]["model_versions"]) <= {"1", "3", "4"}, found[host]
    labelled = sum(found[h]["labelled"] for h in SUPERVISORS)
    correct = sum(found[h]["correct"] for h in SUPERVISORS)
    assert correct / labelled >= 0.95, (correct, labelled)
    # Every record of the sink's format, each features vector the iris sample it names.
    record = predictions(cluster, tail=1)["sup1"]["latest"][0]
    assert set(record) >= {"id", "features", "prediction", "label", "model_version",
                           "latency_ms", "end_to_end_ms", "time"}
    assert len(record["features"]) == 4 and record["id"].startswith("iris-")
    # Samples the model never saw: the held-out rows its model.json lists.
    meta = json.loads(cluster.exec("sup1", "cat /srv/models/iris/current/model.json").stdout)
    held_out = {f"iris-{row:03d}" for row in meta["held_out"]["rows"]}
    assert len(held_out) == 45
    seen = {r["id"] for h in SUPERVISORS for r in latest[h]["latest"]}
    assert seen and seen <= held_out, seen - held_out
    # Each sample goes to the sink task of its shard (crc32 of its id modulo the two sink
    # tasks, one on each supervisor), so no id is written on both hosts.
    shards = {h: {zlib.crc32(r["id"].encode()) % 2 for r in latest[h]["latest"]}
              for h in SUPERVISORS}
    assert sorted(map(len, shards.values())) == [1, 1] and shards["sup1"] != shards["sup2"], \
        {h: [r["id"] for r in latest[h]["latest"]] for h in SUPERVISORS}


def test_rerun_leaves_the_running_topology_alone(cluster):
    before = iris(cluster)
    again = run(cluster)
    assert again.ok, again.describe()
    assert again.changed_states() == []
    after = iris(cluster)
    assert (after["id"], after["fingerprint"]) == (before["id"], before["fingerprint"])


def every_sample_accounted_for(lab):
    """After one pass over the held-out rows has settled (and a 60 s metrics bucket has
    passed): the spout's ledger, Storm's exact counters (topology.stats.sample.rate 1.0)
    and the sink's lines agree that every sample was emitted once, acked once, written
    once, and none failed or was replayed.  A broken acker or a sink that does not ack
    shows here as failures, replays and samples written twice."""
    topology = iris(lab)
    held_out = {f"iris-{row:03d}" for row in json.loads(lab.exec(
        "sup1", "cat /srv/models/iris/current/model.json").stdout)["held_out"]["rows"]}
    ledger = spout_ledger(lab, SUPERVISORS, topology["id"])
    tuples = ledger["tuples_emitted"]
    assert ledger == {"emitted": len(held_out), "acked": len(held_out), "replayed": 0,
                      "failed": 0, "given_up": 0, "pending": 0, "tuples_emitted": tuples,
                      "tuples_acked": tuples, "tuples_replayed": 0, "tuples_failed": 0,
                      "tuples_given_up": 0, "tuples_pending": 0, "tasks": 1}, ledger
    assert 1 <= tuples <= len(held_out), ledger
    # Storm counts tuples: the spout's are the ledger's; the sink gets one per spout tuple
    # and sink shard it has samples for.  (The classifier also acks its tick tuples.)
    acked = {c: topology["acked"].get(c, 0) for c in ("iris_spout", "sink")}
    assert acked["iris_spout"] == tuples, (topology["acked"], ledger)
    assert tuples <= acked["sink"] <= len(held_out), (topology["acked"], ledger)
    assert sum(topology["failed"].values()) == 0, topology["failed"]
    found = predictions(lab, tail=len(held_out))
    last = sorted((r for h in SUPERVISORS for r in found[h]["latest"]),
                  key=lambda r: r["time"])[-len(held_out):]
    assert sorted(r["id"] for r in last) == sorted(held_out)
    return {"samples": len(held_out), "spout_acked": ledger["acked"],
            "spout_tuples": tuples, "storm_acked_spout": acked["iris_spout"],
            "storm_acked_sink": acked["sink"], "tuples_failed": 0, "tuples_replayed": 0,
            "written_once": len(last)}


def test_a_rerun_with_an_idle_stream_changes_nothing_and_passes(cluster):
    """Drill: the stream stops (one pass over the held-out rows, then nothing), and the
    orchestrate re-run on this healthy cluster passes with zero changes and no new
    prediction anywhere: its last step tells an idle stream from a broken one by Storm's
    counters instead of waiting for input that will not come."""
    idle = {"storm": {"topologies": {"iris": {"options": {"iris.spout.cycles": 1}}}}}

    def written():
        found = predictions(cluster)
        return sum(found[h]["lines"] for h in SUPERVISORS)

    def settled():
        now = written()
        time.sleep(10)
        return now if written() == now else None
    try:
        with pillar_overrides(idle):
            first = run(cluster)
            assert first.ok, first.describe()
            assert ("nimbus1", "storm-topology-submit-iris-storm_topology-submitted") in {
                (m, s) for _, m, s in first.changed_states()}
            # The one pass may still be draining when the run's last step has seen its
            # first new lines: settle before counting.
            before = wait("the one pass over the held-out rows written", settled,
                          timeout=120, interval=0)
            again = run(cluster)
            assert again.ok, again.describe()
            assert again.changed_states() == []
            assert written() == before, "the stream was meant to be idle"
            accounted = every_sample_accounted_for(cluster)
            record_drill("idle_stream_rerun", changes=0, new_predictions=0,
                         orchestrate_s=round(sum(again.durations().values()), 1),
                         predictions_step_s=again.durations().get(
                             "storm-orchestrate-predictions-salt-state"), **accounted)
    finally:
        # The pillar's own stream again, whatever happened above.
        back = run(cluster)
        assert back.ok, back.describe()
    assert iris(cluster)["status"] == "ACTIVE"


def feed(lab, host, samples):
    """Write a JSON-lines file under a hidden name and rename it into the spout's inbox."""
    body = "".join(json.dumps(s) + "\n" for s in samples)
    lab.exec(host, f"install -d -o storm -g storm -m 0750 {INBOX} && "
                   f"cat > {INBOX}/.fed.jsonl && chown storm: {INBOX}/.fed.jsonl && "
                   f"mv {INBOX}/.fed.jsonl {INBOX}/fed-{int(time.time())}.jsonl",
             input=body)


def diagnose(lab, host, topology_id):
    """What the spout's host shows: the inbox, the offsets, the workers' component logs."""
    return lab.exec(host, f"ls -la {INBOX} /var/lib/storm/iris /var/lib/storm/iris/spout-state;"
                    f" tail -n 30 /var/log/storm/workers-artifacts/{topology_id}/*/worker.log",
                    check=False).stdout[-6000:]


def test_a_file_fed_into_the_spouts_source_is_classified(cluster):
    """Point the spout at a source directory (a pillar change: the topology is replaced),
    drop a file of new samples there, see them classified; the orchestrate restores the
    pillar's topology afterwards."""
    before = iris(cluster)
    override = json.dumps({"storm": {"topologies": {"iris": {"options": {
        "iris.source.dir": INBOX, "iris.source.poll.ms": 200}}}}})
    proc = cluster.salt("nimbus1", "state.apply", "storm.topology.submit",
                        f"pillar={override}", json=False, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:]
    now = iris(cluster)
    assert now["status"] == "ACTIVE" and now["id"] != before["id"]
    assert now["fingerprint"] != before["fingerprint"]

    placed = wait("the new topology assigned", lambda: iris(cluster)["placed"])
    spout_host = next(h for h, a in SUPERVISORS.items()
                      if placed.get(a, {}).get("iris_spout"))
    samples = [
        {"id": "fed-setosa", "features": [5.0, 3.4, 1.5, 0.2], "label": "setosa"},
        {"id": "fed-versicolor", "features": [6.0, 2.8, 4.4, 1.3], "label": "versicolor"},
        {"id": "fed-virginica", "features": [6.9, 3.1, 5.7, 2.2], "label": "virginica"},
        {"id": "fed-unlabelled", "features": [5.1, 3.6, 1.3, 0.3]},
    ]
    feed(cluster, spout_host, samples)

    def classified():
        found = predictions(cluster, tail=20)
        records = {r["id"]: r for h in SUPERVISORS if isinstance(found.get(h), dict)
                   for r in found[h]["latest"] if str(r["id"]).startswith("fed-")}
        return records if len(records) == len(samples) else None
    try:
        records = wait("the fed samples classified", classified, timeout=120)
    except AssertionError as exc:
        raise AssertionError(f"{exc}\n{diagnose(cluster, spout_host, now['id'])}") from None
    for sample in samples:
        record = records[sample["id"]]
        assert record["features"] == sample["features"]
        assert record["label"] == sample.get("label")
        assert record["model_version"] == "1"
    assert records["fed-unlabelled"]["prediction"] == "setosa"
    assert all(r["prediction"] == r["label"] for r in records.values() if r["label"])

    # The orchestrate puts the pillar's topology back (replaced once), then leaves it.
    back = run(cluster)
    assert back.ok, back.describe()
    changed = {(m, s) for _, m, s in back.changed_states()}
    assert changed == {("nimbus1", "storm-topology-submit-iris-storm_topology-submitted")}
    assert iris(cluster)["fingerprint"] == before["fingerprint"]


def test_a_failed_submit_names_its_step_and_host_and_a_rerun_converges(cluster):
    """Kill the topology and take sparse away from the nimbus host: the orchestrate stops
    at the submit step (failhard: nothing after it runs), saying where and why; with
    sparse back, the next run submits again and ends with predictions."""
    sparse = "/opt/conda/envs/storm-worker/bin/sparse"
    cluster.exec("nimbus1", f"cd /opt/storm/topologies/iris/project && LEIN_ROOT=1 "
                            f"{sparse} kill -e prod --config ../config.json -n iris --wait 0")
    wait("iris removed", lambda: iris(cluster) is None, timeout=60)
    cluster.exec("nimbus1", f"mv {sparse} {sparse}.away")
    try:
        failed = run(cluster)
        assert not failed.ok
        # Only the submit step failed, on nimbus1, with sparse's absence as the cause;
        # failhard: ACTIVE and predictions did not run at all.
        failures = failed.failures()
        assert [k for k in failures] == [k for k in failed.steps if "topology-submit" in k]
        (step, comment), = failures.items()
        assert comment == "Run failed on minions: nimbus1", comment
        said = str(failed.steps[step])  # the minion's state returns are in its changes
        assert f"{sparse} not found" in said, said[-3000:]
        assert not [k for k in failed.steps if "topology-active" in k or "predictions" in k]
    finally:
        cluster.exec("nimbus1", f"mv {sparse}.away {sparse}", check=False)
    back = run(cluster)
    assert back.ok, back.describe()
    assert iris(cluster)["status"] == "ACTIVE"
