"""
The ZooKeeper quorum on three real hosts, brought up by the real orchestrate on the real
master, then checked from outside (testinfra, kazoo) and pushed around (a follower stopped,
a re-run, a run that must change nothing).
"""

import time

import pytest
from drills import pillar_overrides, record_drill, wait
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
    """Polls every member's `srvr` from the machine side, every 0.2 s, while something runs.
    A member is running when its process answers at all, and serving only when it answers
    as leader, follower or standalone (one still electing says it is not serving).  Keeps
    the fewest members running and serving at once, the time with no leader, the elections
    (a leader again after none, or a different one), the order members went down in, and
    how often one went down while another was not yet serving again."""

    def __init__(self, lab, interval=0.2):
        import threading
        self.hosts = {lab.address(h): h for h in ZK_HOSTS}
        self.interval, self.polls, self.leaderless, self.elections = interval, 0, 0.0, 0
        self.fewest_running = self.fewest_serving = len(ZK_HOSTS)
        self.went_down, self.down_too_early = [], 0
        self._leader = None
        self._gap = False
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

    def _poll(self, previous, dt):
        modes = {h: self._mode(a) for a, h in self.hosts.items()}
        serving = [h for h, m in modes.items() if m in ("leader", "follower", "standalone")]
        self.fewest_running = min(self.fewest_running,
                                  sum(m != "down" for m in modes.values()))
        self.fewest_serving = min(self.fewest_serving, len(serving))
        for host, mode in modes.items():
            if mode == "down" and previous.get(host, "down") != "down":
                self.went_down.append(host)
                # The one before must be serving again before the next goes down.
                others = [h for h, m in previous.items() if h != host]
                if any(previous[h] not in ("leader", "follower", "standalone")
                       for h in others):
                    self.down_too_early += 1
        leader = next((h for h, m in modes.items() if m == "leader"), None)
        if leader is None:
            self.leaderless += dt
            self._gap = self._leader is not None or self._gap
        else:
            if self._leader is not None and (self._gap or leader != self._leader):
                self.elections += 1
            self._leader, self._gap = leader, False
        return modes

    def _run(self):
        import time
        last, previous = time.monotonic(), {}
        while not self._stop.is_set():
            now = time.monotonic()
            previous = self._poll(previous, now - last if previous else 0.0)
            last, self.polls = now, self.polls + 1
            self._stop.wait(self.interval)

    def figures(self):
        return {"seconds_without_leader": round(self.leaderless, 1),
                "elections": self.elections, "restart_order": " ".join(self.went_down),
                "fewest_running": self.fewest_running, "fewest_serving": self.fewest_serving}

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(10)
        print(f"[quorum watcher] {self.polls} polls: {self.figures()}")


def main_pids(lab):
    return {h: lab.exec(h, "systemctl show -p MainPID --value zookeeper").stdout.strip()
            for h in ZK_HOSTS}


def rolled_leader_last(lab, watcher, leader, before):
    """What a rolling restart by the orchestrate must show: every member restarted, one at
    a time, each serving again before the next went down, the leader last, one election."""
    after = main_pids(lab)
    assert all(after[h] != before[h] for h in ZK_HOSTS), (before, after)
    figures = watcher.figures()
    assert watcher.polls > 10 and watcher.fewest_running >= 2, figures
    assert sorted(watcher.went_down) == ZK_HOSTS and watcher.went_down[-1] == leader, figures
    assert watcher.down_too_early == 0, figures
    assert watcher.elections == 1, figures
    return after


def test_drill_a_pillar_change_rolls_through_the_members_leader_last(quorum):
    """Drill 2: a zoo.cfg setting changed in pillar and applied by the orchestrate."""
    before = main_pids(quorum)
    leader, = quorum_state(quorum)["leaders"]
    with pillar_overrides({"zookeeper": {"properties": {"maxClientCnxns": 61}}}):
        with QuorumWatcher(quorum) as changing:
            changed = run(quorum)
    assert changed.ok, changed.describe()
    members = [s for s in changed.durations() if s.startswith("storm-orchestrate-zookeeper-member")]
    assert members[-1] == f"storm-orchestrate-zookeeper-member-{leader}-salt-state", members
    restarted = rolled_leader_last(quorum, changing, leader, before)
    for host in ZK_HOSTS:
        assert "maxClientCnxns=61" in quorum.exec(
            host, "cat /etc/zookeeper/conf.cluster/zoo.cfg").stdout
    record_drill("zookeeper_rolling_restart", **changing.figures(),
                 orchestrate_s=round(sum(changed.durations().values()), 1))
    # The pillar's own value again, the same way: now another member leads, and goes last.
    leader, = quorum_state(quorum)["leaders"]
    with QuorumWatcher(quorum) as restoring:
        back = run(quorum)
    assert back.ok, back.describe()
    rolled_leader_last(quorum, restoring, leader, restarted)
    assert "maxClientCnxns=60" in quorum.exec(
        "zk1", "cat /etc/zookeeper/conf.cluster/zoo.cfg").stdout


class BoundedWriter:
    """Creates /drill/<run>/w-<n> (its number as data) one every `pace` seconds, at most
    `count` writes and `seconds` long, each write waiting at most 10 s for its answer.
    A write is acknowledged only when the server confirmed it."""

    def __init__(self, hosts, count=2000, seconds=60, pace=0.02):
        import threading
        self.client = KazooClient(hosts=hosts, timeout=10)
        self.root = f"/drill/{time.time_ns()}"
        self.count, self.seconds, self.pace = count, seconds, pace
        self.attempted, self.acknowledged, self.errors = 0, {}, {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        deadline = time.monotonic() + self.seconds
        while (self.attempted < self.count and time.monotonic() < deadline
               and not self._stop.is_set()):
            n = self.attempted
            self.attempted += 1
            path, data = f"{self.root}/w-{n:06d}", str(n).encode()
            try:
                self.client.create_async(path, data).get(timeout=10)
            except Exception as exc:  # noqa: BLE001 - refused or unanswered: not acknowledged
                name = type(exc).__name__
                self.errors[name] = self.errors.get(name, 0) + 1
            else:
                self.acknowledged[path] = (data, time.monotonic())
            self._stop.wait(self.pace)

    def __enter__(self):
        self.client.start(timeout=20)
        self.client.ensure_path(self.root)
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(30)
        self.client.stop()


def test_drill_a_stopped_leader_loses_no_acknowledged_write_and_a_rerun_heals(quorum):
    """Drill 1: the leader stopped under a bounded writer; every write the client saw
    acknowledged is readable on every member afterwards, and the orchestrate heals."""
    leader, = quorum_state(quorum)["leaders"]
    hosts = ",".join(f"{quorum.address(h)}:2181" for h in ZK_HOSTS)
    with QuorumWatcher(quorum) as watching, BoundedWriter(hosts, seconds=60) as writer:
        wait("writes acknowledged before the fault", lambda: len(writer.acknowledged) >= 50)
        quorum.exec(leader, "systemctl stop zookeeper")
        stopped = time.monotonic()
        wait("writes acknowledged by the two left",
             lambda: sum(t > stopped for _, t in writer.acknowledged.values()) >= 50,
             timeout=60, interval=0.5)
        healed = run(quorum)
        ran = time.monotonic()
        wait("writes acknowledged after the re-run",
             lambda: sum(t > ran for _, t in writer.acknowledged.values()) >= 50,
             timeout=30, interval=0.5)
    assert healed.ok, healed.describe()
    changed = {(minion, sid) for _, minion, sid in healed.changed_states()}
    assert (leader, "zookeeper-service-running-service-running") in changed, changed
    assert quorum_state(quorum)["healthy"]
    lost = {}
    for host in ZK_HOSTS:
        reader = kazoo(quorum, host)
        try:
            reader.sync(writer.root)
            found = {f"{writer.root}/{c}" for c in reader.get_children(writer.root)}
            lost[host] = sum(path not in found or reader.get(path)[0] != data
                             for path, (data, _) in writer.acknowledged.items())
        finally:
            reader.stop()
    assert lost == dict.fromkeys(ZK_HOSTS, 0), lost
    record_drill("zookeeper_leader_stopped", writes_attempted=writer.attempted,
                 writes_acknowledged=len(writer.acknowledged),
                 writes_not_acknowledged=sum(writer.errors.values()),
                 errors=" ".join(f"{k}:{v}" for k, v in sorted(writer.errors.items())) or "none",
                 acknowledged_writes_lost=sum(lost.values()),
                 seconds_without_leader=round(watching.leaderless, 1),
                 elections=watching.elections,
                 rerun_s=round(sum(healed.durations().values()), 1))


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
