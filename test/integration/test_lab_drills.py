"""
Faults on the six-host lab's real Storm, each stating what must hold and measuring it
(figures go to build/drills.md, never into assertions about speed):

- nimbus killed: systemd brings it back, the topology stays ACTIVE and classification
  goes on while nimbus is down;
- a storm.yaml change rolled out by the orchestrate: the supervisors restart one at a
  time, their workers survive every restart, and no tuple fails;
- a supervisor host powered off: Storm moves its worker (in its own time), the stream
  goes on through the other, no sample is given up; back, a re-run absorbs it;
- a host powered off in the middle of the orchestrate: the run stops at the step that
  needed it, naming the host, and what runs elsewhere keeps running what its disk says;
  back, a re-run converges.
"""

import contextlib
import threading
import time

import pytest
from drills import pillar_overrides, record_drill, spout_ledger, wait
from orchestrate import run

pytestmark = [pytest.mark.lab, pytest.mark.lab_topology("test/lab_topologies/cluster6.yaml")]
SEEDS = "10.77.0.21"
RESULTS = "/var/lib/storm/iris/predictions-{task}.jsonl"
SUPERVISORS = ("sup1", "sup2")
WORKERS = "pgrep -u storm -f 'org.apache.storm.daemon.worker.Worker|streamparse_run' | sort"


def iris(lab):
    return lab.salt("nimbus1", "storm_topology.running", SEEDS, "iris", "timeout=3")["nimbus1"]


def lines(lab, hosts=SUPERVISORS):
    found = lab.salt("-L", ",".join(hosts), "storm_topology.predictions", RESULTS)
    return sum(found[h]["lines"] for h in hosts)


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


@contextlib.contextmanager
def powered_on_afterwards(lab, host):
    """Whatever happens in the block, the host is running after it (a failed drill must
    not leave the next one a host short)."""
    try:
        yield
    finally:
        lab.power_on(host)


def runs_what_its_disk_says(lab, host, unit, config="/etc/storm/storm.yaml"):
    """The unit is active and its process started after its config was last written."""
    started = lab.exec(host, f"systemctl show -p ActiveEnterTimestamp --value {unit} | "
                             "xargs -I{} date -d {} +%s").stdout.strip()
    written = lab.exec(host, f"stat -c %Y {config}").stdout.strip()
    active = lab.exec(host, f"systemctl is-active {unit}", check=False).stdout.strip()
    return active == "active" and int(started) >= int(written)


def test_a_supervisor_host_powered_off_has_its_worker_moved_and_the_stream_goes_on(cluster):
    """Drill 4 (it needs a worker on each supervisor, as the drills before leave them)."""
    addresses = {cluster.address(h): h for h in SUPERVISORS}
    before = iris(cluster)
    spout_at = [addresses[a] for a, t in before["placed"].items() if t.get("iris_spout")]
    assert len(spout_at) == 1 and len(before["placed"]) == 2, before["placed"]
    # The host without the spout goes: the stream goes on from the other.
    keep = spout_at[0]
    off = next(h for h in SUPERVISORS if h != keep)
    ledger = spout_ledger(cluster, [keep], before["id"])
    written = lines(cluster, [keep])

    def moved():
        now = iris(cluster)
        placed = now["placed"]
        return now if list(placed) == [cluster.address(keep)] and all(
            placed[cluster.address(keep)].get(c) for c in ("iris_spout", "classifier",
                                                           "sink")) else None
    with powered_on_afterwards(cluster, off):
        down = time.monotonic()
        cluster.power_off(off)
        now = wait(f"{off}'s worker moved to {keep}", moved, timeout=300, interval=5)
        moved_s = time.monotonic() - down
        assert (now["id"], now["status"]) == (before["id"], "ACTIVE")
        during = lines(cluster, [keep]) - written
        # Both sink tasks write on the host left now: every sample goes through again.
        time.sleep(30)
        after = spout_ledger(cluster, [keep], before["id"])
        assert after["acked"] > ledger["acked"] and after["given_up"] == 0, (ledger, after)
        booted = time.monotonic()
        cluster.power_on(off)
        boot_s = time.monotonic() - booted
    back = run(cluster)
    assert back.ok, back.describe()
    registered = cluster.salt("nimbus1", "storm_nimbus.summary", SEEDS)["nimbus1"]
    assert len(registered["supervisors"]) == 2, registered
    final = iris(cluster)
    assert (final["id"], final["status"]) == (before["id"], "ACTIVE")
    record_drill("supervisor_host_powered_off", host=off, seconds_until_worker_moved=round(
        moved_s, 1), samples_classified_meanwhile=during,
        tuples_failed=after["failed"] - ledger["failed"],
        tuples_replayed=after["replayed"] - ledger["replayed"],
        samples_given_up=after["given_up"], boot_s=round(boot_s, 1),
        rerun_s=round(sum(back.durations().values()), 1))


def test_a_host_down_in_the_middle_of_the_orchestrate_stops_it_and_a_rerun_converges(cluster):
    """Drill 7, last of the drills (Storm moves the powered-off host's worker to the
    other, so both end on one host): a storm.yaml change is being rolled out, one
    supervisor at a time, when the supervisor whose turn has not come loses power."""
    setting = "supervisor.worker.timeout.secs: 40"
    result = {}

    def rolled():
        return next((h for h in SUPERVISORS if setting in cluster.exec(
            h, "cat /etc/storm/storm.yaml").stdout), None)
    with pillar_overrides({"storm": {"config": {"supervisor.worker.timeout.secs": 40}}}):
        runner = threading.Thread(target=lambda: result.setdefault("run", run(cluster)))
        runner.start()
        first = wait("the rollout reaching a supervisor", rolled, timeout=600, interval=0.5)
        off = next(h for h in SUPERVISORS if h != first)
        with powered_on_afterwards(cluster, off):
            cluster.power_off(off)
            runner.join(900)
            stopped = result["run"]
            assert not stopped.ok
            (step, comment), = stopped.failures().items()
            assert "supervisors" in step and off in comment, (step, comment)
            # failhard: nothing after the failed step ran.
            ran = list(stopped.durations())
            assert ran[-1] == step.split("_|-")[1], ran
            # What runs elsewhere runs what its disk says, and the topology goes on.
            assert runs_what_its_disk_says(cluster, first, "storm-supervisor")
            assert runs_what_its_disk_says(cluster, "nimbus1", "storm-nimbus")
            assert iris(cluster)["status"] == "ACTIVE"
            booted = time.monotonic()
            cluster.power_on(off)
            boot_s = time.monotonic() - booted
        # Back with the old storm.yaml, and running what it says.
        assert setting not in cluster.exec(off, "cat /etc/storm/storm.yaml").stdout
        assert runs_what_its_disk_says(cluster, off, "storm-supervisor")
        converged = run(cluster)
        assert converged.ok, converged.describe()
    for host in SUPERVISORS:
        assert setting in cluster.exec(host, "cat /etc/storm/storm.yaml").stdout
        assert runs_what_its_disk_says(cluster, host, "storm-supervisor")
    record_drill("host_down_mid_orchestrate", host=off, stopped_at=step.split("_|-")[1]
                 .replace("storm-orchestrate-", "").replace("-salt-state", ""),
                 steps_run=len(ran), boot_s=round(boot_s, 1),
                 rerun_s=round(sum(converged.durations().values()), 1))
    back = run(cluster)  # the pillar's own storm.yaml again
    assert back.ok, back.describe()
