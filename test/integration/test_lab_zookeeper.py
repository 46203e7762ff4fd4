"""
The ZooKeeper quorum on three real hosts, brought up by the real orchestrate on the real
master, then checked from outside (testinfra, kazoo) and pushed around (a follower stopped,
a re-run, a run that must change nothing).
"""

import time

import pytest
from kazoo.client import KazooClient
from orchestrate import run
from verifiers import zookeeper as verifiers

pytestmark = [pytest.mark.lab, pytest.mark.lab_topology("test/lab_topologies/zk3.yaml")]
ZK_HOSTS = ["zk1", "zk2", "zk3"]


@pytest.fixture(scope="module")
def quorum(lab):
    """The lab with the orchestrate applied once (the module's tests share it)."""
    lab.salt_run("saltutil.sync_all", check=True)
    first = run(lab)
    assert first.ok, first.describe()
    lab.collect_artifacts()
    return lab


def kazoo(lab, host):
    client = KazooClient(hosts=f"{lab.address(host)}:2181", timeout=10)
    client.start(timeout=20)
    return client


def quorum_state(lab):
    answer = lab.salt("zk1", "zookeeper_quorum.quorum")
    return answer["zk1"]


@pytest.mark.parametrize("host", ZK_HOSTS)
@pytest.mark.parametrize("verify", verifiers.ALL, ids=lambda f: f.__name__)
def test_host_verifiers(quorum, host, verify):
    verify(quorum.testinfra_host(host))


def test_one_leader_all_serving(quorum):
    state = quorum_state(quorum)
    assert state["healthy"], state
    assert len(state["leaders"]) == 1
    assert sorted(state["serving"]) == ZK_HOSTS


def test_write_on_one_member_read_on_the_others(quorum):
    writer = kazoo(quorum, "zk1")
    try:
        path = f"/lab-test/{time.time_ns()}"
        writer.create(path, b"written on zk1", makepath=True)
    finally:
        writer.stop()
    for host in ("zk2", "zk3"):
        reader = kazoo(quorum, host)
        try:
            reader.sync(path)
            assert reader.get(path)[0] == b"written on zk1"
        finally:
            reader.stop()


def test_rendered_files_are_kept_as_artifacts(quorum):
    from lab import config
    for host, myid in zip(ZK_HOSTS, ("1", "2", "3"), strict=True):
        base = config.ARTIFACTS_DIR / host
        assert (base / "var/lib/zookeeper/data/myid").read_text().strip() == myid
        assert "server.3=10.77.0.13:2888:3888" in (
            base / "etc/zookeeper/conf.cluster/zoo.cfg").read_text()
        assert (base / "etc/systemd/system/zookeeper.service").is_file()


def test_second_run_changes_nothing(quorum):
    again = run(quorum)
    assert again.ok, again.describe()
    assert again.changed_states() == []


def test_stopped_follower_keeps_quorum_writable_and_rerun_restores_it(quorum):
    state = quorum_state(quorum)
    follower = next(h for h in ZK_HOSTS if h not in state["leaders"])
    quorum.exec(follower, "systemctl stop zookeeper")
    try:
        degraded = quorum_state(quorum)
        assert follower not in degraded["serving"] and degraded["writable"], degraded
        alive = next(h for h in ZK_HOSTS if h != follower)
        client = kazoo(quorum, alive)
        try:
            client.create(f"/lab-test/while-{follower}-down", b"ok", makepath=True)
        finally:
            client.stop()
    finally:
        repaired = run(quorum)
    assert repaired.ok, repaired.describe()
    changed = {(minion, sid) for _, minion, sid in repaired.changed_states()}
    assert (follower, "zookeeper-service-running-service-running") in changed, changed
    assert quorum_state(quorum)["healthy"]


def host_fingerprint(lab, host):
    """What the formula manages on a host, hashed, plus the ZooKeeper process id."""
    return lab.exec(host, "sha256sum /etc/zookeeper/conf.cluster/* "
                          "/var/lib/zookeeper/data/myid /etc/systemd/system/zookeeper.service; "
                          "systemctl show -p MainPID zookeeper").stdout


def test_bad_membership_stops_the_orchestrate_before_any_host_changes(quorum):
    import json
    override = {"cluster": {"zookeeper": [{"id": 1, "minion": "zk1"},
                                          {"id": 2, "minion": "zk2"}]}}
    before = {h: host_fingerprint(quorum, h) for h in ZK_HOSTS}
    proc = quorum.salt_run("state.orchestrate", "storm.orchestrate",
                           f"pillar={json.dumps(override)}", json=False, timeout=600)
    assert proc.returncode != 0
    assert "cluster:zookeeper: 2 members; a quorum needs an odd number" in proc.stdout + proc.stderr
    assert {h: host_fingerprint(quorum, h) for h in ZK_HOSTS} == before


def test_bad_setting_stops_the_state_on_the_host_before_it_changes(quorum):
    import json
    before = host_fingerprint(quorum, "zk1")
    proc = quorum.salt("zk1", "state.apply", "zookeeper",
                       f"pillar={json.dumps({'zookeeper': {'ports': {'client': 70000}}})}",
                       json=False, timeout=300)
    assert proc.returncode != 0
    assert "zookeeper:ports:client: 70000 is out of range: a TCP port" in proc.stdout + proc.stderr
    assert host_fingerprint(quorum, "zk1") == before


class QuorumWatcher:
    """Polls every member's `srvr` from the machine side while something runs.  Keeps the
    fewest members up at once (process answering, serving or still electing) and the time
    with no leader (ZooKeeper elects a new one when the leader itself restarts)."""

    def __init__(self, lab, interval=0.2):
        import threading
        self.addresses = [lab.address(h) for h in ZK_HOSTS]
        self.interval, self.fewest_up, self.polls, self.leaderless = interval, 3, 0, 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    @staticmethod
    def _mode(address):
        import socket
        try:
            with socket.create_connection((address, 2181), timeout=1) as conn:
                conn.sendall(b"srvr")
                answer = conn.recv(4096).decode(errors="replace")
        except OSError:
            return "down"
        return next((line.split(": ")[1] for line in answer.splitlines()
                     if line.startswith("Mode: ")), "electing")

    def _run(self):
        import time
        last = time.monotonic()
        while not self._stop.is_set():
            modes = [self._mode(a) for a in self.addresses]
            now = time.monotonic()
            self.fewest_up = min(self.fewest_up, sum(m != "down" for m in modes))
            if "leader" not in modes:
                self.leaderless += now - last
            last, self.polls = now, self.polls + 1
            self._stop.wait(self.interval)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(10)
        print(f"[quorum watcher] {self.polls} polls, fewest members up {self.fewest_up}, "
              f"{self.leaderless:.1f}s without a leader")


def main_pids(lab):
    return {h: lab.exec(h, "systemctl show -p MainPID --value zookeeper").stdout.strip()
            for h in ZK_HOSTS}


def test_config_change_restarts_members_one_at_a_time(quorum):
    import json
    before = main_pids(quorum)
    override = json.dumps({"zookeeper": {"properties": {"maxClientCnxns": 61}}})
    # What the orchestrate's members step does, with a changed setting: one host at a time.
    with QuorumWatcher(quorum) as changing:
        proc = quorum.salt("-L", ",".join(ZK_HOSTS), "--batch-size", "1", "state.apply",
                           "zookeeper", f"pillar={override}", json=False, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:]
    changed = main_pids(quorum)
    assert all(changed[h] != before[h] for h in ZK_HOSTS), (before, changed)
    # Never two members down at once; the leader's own restart costs one short election.
    assert changing.polls > 10 and changing.fewest_up >= 2, vars(changing)
    # The orchestrate puts the pillar's value back the same way.
    with QuorumWatcher(quorum) as restoring:
        back = run(quorum)
    assert back.ok, back.describe()
    restored = main_pids(quorum)
    assert all(restored[h] != changed[h] for h in ZK_HOSTS), (changed, restored)
    assert restoring.polls > 10 and restoring.fewest_up >= 2, vars(restoring)
    zoo_cfg = quorum.exec("zk1", "cat /etc/zookeeper/conf.cluster/zoo.cfg").stdout
    assert "maxClientCnxns=60" in zoo_cfg


def test_clean_then_rerun_reinstalls_a_member(quorum):
    """Runs last: clean zk3 (data kept, then removed) and let the orchestrate bring it back."""
    import json
    host = quorum.testinfra_host("zk3")
    proc = quorum.salt("zk3", "state.apply", "zookeeper.clean", json=False, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert not host.service("zookeeper").is_running
    assert not host.file("/etc/systemd/system/zookeeper.service").exists
    assert not host.file("/etc/zookeeper/conf.cluster").exists
    assert host.file("/var/lib/zookeeper/data/myid").exists, "data must survive a clean"
    assert quorum_state(quorum)["writable"]
    wipe = json.dumps({"zookeeper": {"clean": {"remove_data": True}}})
    proc = quorum.salt("zk3", "state.apply", "zookeeper.clean", f"pillar={wipe}",
                       json=False, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert not host.file("/var/lib/zookeeper/data").exists
    assert not host.user("zookeeper").exists
    back = run(quorum)
    assert back.ok, back.describe()
    assert quorum_state(quorum)["healthy"]
    assert host.file("/var/lib/zookeeper/data/myid").content_string.strip() == "3"
