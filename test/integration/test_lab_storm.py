"""
Apache Storm on six real hosts (3 ZooKeeper, 1 nimbus, 2 supervisors) by the real
orchestrate (the `cluster` fixture in conftest.py), with membership found through role
grains and the Salt mine.  Storm is assembled from its release jars by tools/storm_dist.py
(no UI or logviewer: storm-webapp is not obtainable here) unless STORM_SOURCE names
Apache's tarball (see test/pillar/lab_cluster6/storm.sls).  The cluster's state is read
from the leader nimbus over its Thrift API.
"""

import pytest
from kazoo.client import KazooClient
from orchestrate import run
from verifiers import storm as verifiers

pytestmark = [pytest.mark.lab, pytest.mark.lab_topology("test/lab_topologies/cluster6.yaml")]
STORM_HOSTS = ["nimbus1", "sup1", "sup2"]
SEEDS = "10.77.0.21"


def summary(lab):
    return lab.salt("nimbus1", "storm_nimbus.summary", SEEDS)["nimbus1"]


@pytest.mark.parametrize("host", STORM_HOSTS)
@pytest.mark.parametrize("verify", verifiers.ALL, ids=lambda f: f.__name__)
def test_host_verifiers(cluster, host, verify):
    verify(cluster.testinfra_host(host))


def test_roles_run_their_daemons(cluster):
    # No UI or logviewer: the install has no lib-webapp/ and the lab's pillar says so.
    assert verifiers.daemons(cluster.testinfra_host("nimbus1")) == ["nimbus"]
    for host in ("sup1", "sup2"):
        assert verifiers.daemons(cluster.testinfra_host(host)) == ["supervisor"]


def test_one_leader_and_two_supervisors_with_their_slots(cluster):
    found = summary(cluster)
    assert [(n["host"], n["is_leader"]) for n in found["nimbuses"]] == [("10.77.0.21", True)]
    # The release the formula installed is the one nimbus reports.
    assert {n["version"] for n in found["nimbuses"]} == {"2.8.3"}
    assert sorted((s["host"], s["slots_total"]) for s in found["supervisors"]) == [
        ("10.77.0.31", 2), ("10.77.0.32", 2)]
    assert found["leader"] == "10.77.0.21:6627"


def test_registration_under_storms_znodes(cluster):
    import yaml
    from lab import config
    storm = yaml.safe_load((config.ARTIFACTS_DIR / "sup1/etc/storm/storm.yaml").read_text())
    # Storm's znodes answer only its own digest identity (test_lab_security.py).
    client = KazooClient(hosts="10.77.0.11:2181,10.77.0.12:2181,10.77.0.13:2181", timeout=10,
                         auth_data=[("digest", storm["storm.zookeeper.auth.payload"])])
    client.start(timeout=20)
    try:
        assert len(client.get_children("/storm/supervisors")) == 2
        # Storm names a nimbus' znode by its host alone.
        assert client.get_children("/storm/nimbuses") == ["10.77.0.21"]
    finally:
        client.stop()


def test_storm_yaml_agrees_with_zoo_cfg(cluster):
    import yaml
    from lab import config
    storm = yaml.safe_load((config.ARTIFACTS_DIR / "sup1/etc/storm/storm.yaml").read_text())
    zoo = (config.ARTIFACTS_DIR / "zk1/etc/zookeeper/conf.cluster/zoo.cfg").read_text()
    servers = [line.split("=")[1].split(":")[0] for line in zoo.splitlines()
               if line.startswith("server.")]
    assert storm["storm.zookeeper.servers"] == servers
    assert storm["nimbus.seeds"] == ["10.77.0.21"]
    assert storm["storm.local.hostname"] == "10.77.0.31"


def test_leader_from_salt(cluster):
    leader = cluster.salt("nimbus1", "storm_nimbus.leader", SEEDS)["nimbus1"]
    assert (leader["host"], leader["port"]) == ("10.77.0.21", 6627)


def test_second_run_changes_nothing(cluster):
    again = run(cluster)
    assert again.ok, again.describe()
    assert again.changed_states() == []


def main_pid(lab, host, unit):
    return lab.exec(host, f"systemctl show -p MainPID --value {unit}").stdout.strip()


def test_config_change_restarts_the_daemons_that_read_it(cluster):
    import json
    before = main_pid(cluster, "sup1", "storm-supervisor")
    untouched = main_pid(cluster, "sup2", "storm-supervisor")
    override = json.dumps({"storm": {"config": {"topology.message.timeout.secs": 45}}})
    proc = cluster.salt("sup1", "state.apply", "storm", f"pillar={override}", json=False,
                        timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert "topology.message.timeout.secs: 45" in cluster.exec(
        "sup1", "cat /etc/storm/storm.yaml").stdout
    assert main_pid(cluster, "sup1", "storm-supervisor") != before
    assert main_pid(cluster, "sup2", "storm-supervisor") == untouched
    # The orchestrate puts it back and waits until both supervisors are registered again.
    back = run(cluster)
    assert back.ok, back.describe()
    changed = {(m, s) for _, m, s in back.changed_states()}
    assert ("sup1", "storm-service-running-supervisor-service-running") in changed, changed
    assert all(m == "sup1" for m, _ in changed), changed


def test_an_unreachable_checksum_stops_an_upgrade_before_anything_is_replaced(cluster):
    """A new version whose .sha512 cannot be fetched (nothing listens on that port of the
    lab bridge): the state names the key and the URL, the install and `current` stay, and
    the supervisor that was running keeps running, untouched."""
    import json
    before = main_pid(cluster, "sup1", "storm-supervisor")
    url = "http://10.77.0.1:9/apache-storm-{version}.tar.gz"
    override = json.dumps({"storm": {"version": "2.8.4", "archive": {
        "source": url, "source_hash": url + ".sha512"}}})
    proc = cluster.salt("sup1", "state.apply", "storm", f"pillar={override}", json=False,
                        timeout=600)
    assert proc.returncode != 0
    assert ("storm:archive:source_hash: could not fetch "
            "http://10.77.0.1:9/apache-storm-2.8.4.tar.gz.sha512") in proc.stdout, \
        proc.stdout[-3000:]
    assert cluster.exec("sup1", "readlink /opt/storm/current").stdout.strip() == \
        "/opt/storm/apache-storm-2.8.3"
    assert cluster.exec("sup1", "ls /opt/storm").stdout.split().count(
        "apache-storm-2.8.4") == 0
    assert main_pid(cluster, "sup1", "storm-supervisor") == before
    assert "2.8.3" in cluster.exec("sup1", "cat /etc/systemd/system/"
                                           "storm-supervisor.service").stdout


def test_clean_with_state_then_rerun_reregisters_a_supervisor(cluster):
    """Runs last: wipe sup2 (daemons, install, storm.local.dir), let the orchestrate bring
    it back as a new supervisor."""
    import json
    host = cluster.testinfra_host("sup2")
    old_id = {s["host"]: s["id"] for s in summary(cluster)["supervisors"]}
    wipe = json.dumps({"storm": {"clean": {"remove_state": True}}})
    proc = cluster.salt("sup2", "state.apply", "storm.clean", f"pillar={wipe}", json=False,
                        timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:]
    for path in ("/etc/systemd/system/storm-supervisor.service", "/etc/storm", "/opt/storm",
                 "/var/lib/storm"):
        assert not host.file(path).exists, path
    assert not host.user("storm").exists
    back = run(cluster)
    assert back.ok, back.describe()
    new_id = {s["host"]: s["id"] for s in summary(cluster)["supervisors"]}
    assert sorted(new_id) == ["10.77.0.31", "10.77.0.32"]
    # storm.local.dir went with the clean, so sup2 came back as a new supervisor.
    assert new_id["10.77.0.32"] != old_id["10.77.0.32"]
    assert new_id["10.77.0.31"] == old_id["10.77.0.31"]
    # The topology lived through losing a supervisor: it stayed ACTIVE, and Storm moved
    # sup2's worker to a free slot (in its own time) while sup2 was gone.
    topology = cluster.salt("nimbus1", "storm_topology.running", SEEDS, "iris")["nimbus1"]
    assert topology["status"] == "ACTIVE"
    assert topology["placed"], topology
