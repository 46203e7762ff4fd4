"""
Faults on the six-host lab's real Storm, each stating what must hold and measuring it
(figures go to build/drills.md, never into assertions about speed):

- nimbus killed: systemd brings it back, the topology stays ACTIVE and classification
  goes on while nimbus is down;
- a storm.yaml change rolled out by the orchestrate: the supervisors restart one at a
  time, their workers survive every restart, and no tuple fails.
"""

import time

import pytest
from drills import pillar_overrides, record_drill, wait
from orchestrate import run

pytestmark = [pytest.mark.lab, pytest.mark.lab_topology("test/lab_topologies/cluster6.yaml")]
SEEDS = "10.77.0.21"
RESULTS = "/var/lib/storm/iris/predictions-{task}.jsonl"
SUPERVISORS = ("sup1", "sup2")
WORKERS = "pgrep -u storm -f 'org.apache.storm.daemon.worker.Worker|streamparse_run' | sort"


def iris(lab):
    return lab.salt("nimbus1", "storm_topology.running", SEEDS, "iris", "timeout=3")["nimbus1"]


def lines(lab):
    found = lab.salt("-L", ",".join(SUPERVISORS), "storm_topology.predictions", RESULTS)
    return sum(found[h]["lines"] for h in SUPERVISORS)


def main_pid(lab, host, unit):
    return lab.exec(host, f"systemctl show -p MainPID --value {unit}").stdout.strip()


def started_at(lab, host, unit):
    """When the unit's main process started, in seconds of the host's monotonic clock."""
    out = lab.exec(host, f"systemctl show -p ExecMainStartTimestampMonotonic --value {unit}")
    return int(out.stdout.strip()) / 1e6




def test_nimbus_killed_comes_back_and_the_stream_goes_on(cluster):
    before = iris(cluster)
    assert before["status"] == "ACTIVE"
    pid = main_pid(cluster, "nimbus1", "storm-nimbus")
    written = lines(cluster)
    killed = time.monotonic()
    cluster.exec("nimbus1", f"kill -9 {pid}")

    def answering():
        try:
            now = iris(cluster)
        except Exception:  # noqa: BLE001 - nimbus down: the salt call fails, try again
            return None
        return now if isinstance(now, dict) and now.get("status") else None
    # Nimbus is down: Thrift refuses, yet the workers classify on.
    during = wait("predictions written while nimbus is down",
                  lambda: lines(cluster) > written, timeout=60)
    assert during
    back = wait("a leader answering for iris again", answering, timeout=180, interval=2)
    recovered = time.monotonic() - killed
    assert main_pid(cluster, "nimbus1", "storm-nimbus") not in ("0", pid)
    assert (back["id"], back["status"]) == (before["id"], "ACTIVE")
    classified = lines(cluster) - written
    record_drill("nimbus_killed", seconds_until_nimbus_answers=round(recovered, 1),
                 samples_classified_meanwhile=classified, topology_kept=back["id"])


def test_a_storm_yaml_change_restarts_supervisors_one_by_one_keeping_workers(cluster):
    workers = {h: cluster.exec(h, WORKERS, check=False).stdout.split() for h in SUPERVISORS}
    assert all(workers.values()), workers
    supervisors = {h: main_pid(cluster, h, "storm-supervisor") for h in SUPERVISORS}
    before = iris(cluster)
    changed = {"storm": {"config": {"supervisor.worker.timeout.secs": 40}}}
    with pillar_overrides(changed):
        rolled = run(cluster)
    assert rolled.ok, rolled.describe()
    restarted = {h: main_pid(cluster, h, "storm-supervisor") for h in SUPERVISORS}
    assert all(restarted[h] != supervisors[h] for h in SUPERVISORS), (supervisors, restarted)
    for host in SUPERVISORS:
        assert "supervisor.worker.timeout.secs: 40" in cluster.exec(
            host, "cat /etc/storm/storm.yaml").stdout
    # One at a time: the second restarted only after the first was registered again.
    starts = sorted(started_at(cluster, h, "storm-supervisor") for h in SUPERVISORS)
    assert starts[1] - starts[0] >= 5, starts
    assert {h: cluster.exec(h, WORKERS, check=False).stdout.split()
            for h in SUPERVISORS} == workers
    # Storm's counters move once a minute: wait a bucket, then nothing may have failed.
    time.sleep(70)
    after = iris(cluster)
    assert after["id"] == before["id"]
    failed = sum(after["failed"].values()) - sum(before["failed"].values())
    acked = after["acked"].get("iris_spout", 0) - before["acked"].get("iris_spout", 0)
    assert failed == 0 and acked > 0, (before, after)
    # The pillar's own setting again: another rolling restart, workers kept.
    back = run(cluster)
    assert back.ok, back.describe()
    record_drill("supervisors_rolling_restart", seconds_between_restarts=round(
        starts[1] - starts[0], 1), orchestrate_s=round(sum(rolled.durations().values()), 1),
        tuples_failed=failed, tuples_acked_meanwhile=acked,
        worker_processes_kept=sum(len(w) for w in workers.values()))
