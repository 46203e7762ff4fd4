"""The storm formula rendered by Salt for nimbus and supervisor hosts of three clusters:
pillar.example, an explicit one, and a mine-discovered one with a host in both roles."""

import pytest
import yaml
from saltrender import ROOT, RenderError

PILLARS = ROOT / "test" / "pillar"
SLS = ["storm", "storm.install", "storm.config", "storm.service", "storm.health",
       "storm.topology.submit", "storm.health.predictions", "storm.clean", "storm._mapdata"]
MINE = {
    "zka": {"roles": ["zookeeper"], "zookeeper_id": 1, "address": "192.0.2.41"},
    "both": {"roles": ["nimbus", "supervisor"], "zookeeper_id": None, "address": "192.0.2.42"},
    "sup": {"roles": ["supervisor"], "zookeeper_id": None, "address": "192.0.2.43"},
}
# pillar dir -> (mine, {minion: roles}, zookeeper servers, port, nimbus seeds, slot ports)
CASES = {
    "example": (None, {"nimbus1": ["nimbus"], "sup1": ["supervisor"], "sup2": ["supervisor"]},
                ["10.0.0.11", "10.0.0.12", "10.0.0.13"], 2181, ["10.0.0.21"],
                [6700, 6701, 6702, 6703]),
    "storm3": (None, {"nimbus1": ["nimbus"], "sup2": ["supervisor"]},
               ["192.0.2.11", "192.0.2.12", "192.0.2.13"], 2181, ["192.0.2.21"],
               [6700, 6701, 6702, 6703]),
    "storm_mine": (MINE, {"both": ["nimbus", "supervisor"], "sup": ["supervisor"]},
                   ["192.0.2.41"], 2281, ["192.0.2.42"], [7000, 7001]),
}
ADDRESSES = {"nimbus1": "10.0.0.21", "sup1": "10.0.0.31", "sup2": "10.0.0.32"}
HOME = "/opt/storm/apache-storm-2.8.3"
MAIN = {"nimbus": "org.apache.storm.daemon.nimbus.Nimbus",
        "supervisor": "org.apache.storm.daemon.supervisor.Supervisor",
        "ui": "org.apache.storm.daemon.ui.UIServer",
        "logviewer": "org.apache.storm.daemon.logviewer.LogviewerServer"}


def storm_yaml(files):
    return yaml.safe_load(files["storm_yaml"])


@pytest.mark.parametrize("case", sorted(CASES))
def test_every_sls_renders_for_each_role(minion, case):
    mine, hosts, *_ = CASES[case]
    for minion_id in hosts:
        host = minion(PILLARS / case, minion_id, mine)
        for sls in SLS:
            states = host.show_sls(sls)
            assert states, (minion_id, sls)
            assert all(s.startswith("storm-") for s in states), list(states)


@pytest.mark.parametrize("case", sorted(CASES))
def test_storm_yaml_follows_membership(minion, case):
    mine, hosts, servers, port, seeds, slots = CASES[case]
    for minion_id, roles in hosts.items():
        files = minion(PILLARS / case, minion_id, mine).files("storm")
        conf = storm_yaml(files)
        assert files["roles"] == roles
        assert conf["storm.zookeeper.servers"] == servers
        assert conf["storm.zookeeper.port"] == port
        assert conf["nimbus.seeds"] == seeds
        assert conf["supervisor.slots.ports"] == slots
        assert conf["storm.local.dir"] == "/var/lib/storm"
        expected_units = (["nimbus", "ui"] if "nimbus" in roles else []) + (
            ["supervisor", "logviewer"] if "supervisor" in roles else [])
        assert sorted(files["units"]) == sorted(expected_units)
        for daemon, unit in files["units"].items():
            check_launch(daemon, unit, files["launch"][daemon], conf)
        assert "export JAVA_HOME=/usr/lib/jvm/java-17-openjdk-" in files["env"]
        assert conf["storm.log4j2.conf.dir"] == "/etc/storm/log4j2"
        assert conf["storm.metricstore.rocksdb.location"] == "/var/lib/storm/storm_rocks"
        # Shell components' JSON lists and objects cross workers through Kryo.
        assert {"org.apache.storm.shade.net.minidev.json.JSONArray",
                "org.apache.storm.shade.net.minidev.json.JSONObject"} <= set(
                    conf["topology.kryo.register"])
        if case == "example":
            assert conf["storm.local.hostname"] == ADDRESSES[minion_id]
            assert conf["topology.message.timeout.secs"] == 30


def check_launch(daemon, unit, launch, conf):
    """The unit runs the JVM Apache's bin/storm would exec for the daemon, itself."""
    assert f"ExecStart={launch['exec_start']}\n" in unit
    exec_start = next(line for line in unit.splitlines() if line.startswith("ExecStart="))
    assert "bin/storm" not in exec_start and "python" not in exec_start
    argv = launch["argv"]
    assert argv[0].startswith("/usr/lib/jvm/java-17-openjdk-") and argv[0].endswith("/bin/java")
    assert argv[1] == "-server" and argv[-1] == MAIN[daemon]
    # The daemon's childopts (the heap from heap_mb) come before the system properties.
    assert argv[2:2 + len(conf[f"{daemon}.childopts"].split())] == \
        conf[f"{daemon}.childopts"].split()
    for prop in (f"-Ddaemon.name={daemon}", f"-Dstorm.home={HOME}",
                 "-Dstorm.log.dir=/var/log/storm", f"-Dlogfile.name={daemon}.log",
                 "-Dlog4j.configurationFile=/etc/storm/log4j2/cluster.xml",
                 "-Djava.deserialization.disabled=true", "-Dstorm.conf.file="):
        assert prop in argv, prop
    classpath = argv[argv.index("-cp") + 1].split(":")
    webapp = daemon in ("ui", "logviewer", "drpc")
    assert classpath == [f"{HOME}/*", f"{HOME}/lib/*", f"{HOME}/extlib/*",
                         f"{HOME}/extlib-daemon/*"] + ([f"{HOME}/lib-webapp/*"] if webapp
                                                       else []) + ["/etc/storm"]
    assert "User=storm" in unit and "Environment=STORM_CONF_DIR=/etc/storm" in unit
    assert ("KillMode=process" in unit) == (daemon == "supervisor")


def test_systemd_arguments_are_escaped(minion, pillar):
    data = {"cluster": {"zookeeper": [{"id": 1, "minion": "zk1"}], "nimbus": ["n1"]},
            "storm": {"archive": {"source_hash": "sha512=" + "d" * 128},
                      "topologies": {"iris": {"enabled": False}},
                      "config": {"nimbus.childopts": "-Xmx300m -Dx=50% -Dmsg=a\"b"}}}
    launch = minion(pillar(data), "n1").files("storm")["launch"]["nimbus"]
    assert launch["argv"][2:5] == ["-Xmx300m", "-Dx=50%", '-Dmsg=a"b']
    # '%' is a systemd specifier; a quote needs quoting.
    assert ' -Dx=50%% "-Dmsg=a\\"b" ' in launch["exec_start"]


def test_log4j2_files_follow_the_pillar(minion, pillar):
    data = {"cluster": {"zookeeper": [{"id": 1, "minion": "zk1"}], "nimbus": ["n1"]},
            "storm": {"archive": {"source_hash": "sha512=" + "d" * 128},
                      "topologies": {"iris": {"enabled": False}},
                      "log4j2": {"level": "warn", "max_file_mb": 20, "keep": 3}}}
    files = minion(pillar(data), "n1").files("storm")
    import xml.etree.ElementTree as ET
    for name in ("cluster_xml", "worker_xml"):
        root = ET.fromstring(files[name])
        assert root.find("loggers/root").get("level") == "warn", name
        sizes = {p.get("size") for p in root.iter("SizeBasedTriggeringPolicy")}
        assert "20 MB" in sizes, name
    assert "${sys:workers.artifacts}/${sys:storm.id}/${sys:worker.port}" in files["worker_xml"]
    assert "${sys:storm.log.dir}" in files["cluster_xml"]


def test_rendering_never_fetches_the_checksum(minion, pillar):
    """The .sha512 URL is checked for its form only: nothing listens on this loopback
    port, so a render that fetched it would fail."""
    url = "http://127.0.0.1:9/apache-storm-2.8.3.tar.gz"
    data = {"cluster": {"zookeeper": [{"id": 1, "minion": "zk1"}], "nimbus": ["n1"]},
            "storm": {"archive": {"source": url, "source_hash": url + ".sha512"},
                      "topologies": {"iris": {"enabled": False}}}}
    states = minion(pillar(data), "n1").show_sls("storm.install")
    fetch = args(states, "storm-archive-install-checksum-apache_dist-checksum_file")
    assert fetch["source_hash"] == url + ".sha512"
    assert fetch["key"] == "storm:archive:source_hash"
    extract = args(states, "storm-archive-install-archive-extracted")
    assert extract["source_hash"] == "file://" + fetch["name"]
    assert extract["require"][-1] == {
        "apache_dist": "storm-archive-install-checksum-apache_dist-checksum_file"}


def test_zookeeper_servers_equal_the_zoo_cfg_server_lines(minion):
    storm = storm_yaml(minion(PILLARS / "example", "sup1").files("storm"))
    zoo = minion(PILLARS / "example", "zk2").files("zookeeper")["zoo_cfg"]
    servers = [line.split("=")[1].split(":")[0] for line in zoo.splitlines()
               if line.startswith("server.")]
    assert storm["storm.zookeeper.servers"] == servers
    client_port = next(int(line.split("=")[1]) for line in zoo.splitlines()
                       if line.startswith("clientPort="))
    assert storm["storm.zookeeper.port"] == client_port


def test_java8_gc_flags_are_refused_unless_ignored(minion, pillar):
    base = {"cluster": {"zookeeper": [{"id": 1, "minion": "zk1"}], "nimbus": ["n1"]},
            "storm": {"archive": {"source_hash": "sha512=" + "d" * 128},
                      "topologies": {"iris": {"enabled": False}}}}
    base["storm"]["config"] = {"worker.childopts": "-Xmx1g -XX:+PrintGCDetails -Xloggc:gc.log"}
    with pytest.raises(RenderError, match="storm:config:worker.childopts: has the Java 8 GC "
                                          "flag -XX:\\+PrintGCDetails"):
        minion(pillar(base), "n1").show_sls("storm")
    base["storm"]["config"]["worker.childopts"] += " -XX:+IgnoreUnrecognizedVMOptions"
    assert minion(pillar(base), "n1").show_sls("storm")


def test_clean_removes_state_and_znodes_together_only_when_asked(minion, pillar):
    data = {"cluster": {"zookeeper": [{"id": 1, "minion": "zk1", "address": "192.0.2.1"}],
                        "nimbus": ["n1"], "supervisor": ["s1"]},
            "storm": {"archive": {"source_hash": "sha512=" + "f" * 128}},
            "sklearn_model": {"models": {"iris": {"version": "2", "build": {}}}}}
    kept = minion(pillar(data), "n1").show_sls("storm.clean")
    assert not [s for s in kept if "znodes" in s or "local-dir" in s]
    data["storm"]["clean"] = {"remove_state": True}
    nimbus = minion(pillar(data), "n1").show_sls("storm.clean")
    znodes = nimbus["storm-config-clean-znodes-storm_cluster-znodes_absent"]["storm_cluster"]
    args = {k: v for arg in znodes if isinstance(arg, dict) for k, v in arg.items()}
    assert args["name"] == "/storm"
    assert args["hosts"] == "192.0.2.1:2181"
    assert "storm-config-clean-local-dir-file-absent" in nimbus
    supervisor = minion(pillar(data), "s1").show_sls("storm.clean")
    assert "storm-config-clean-local-dir-file-absent" in supervisor
    assert "storm-config-clean-znodes-storm_cluster-znodes_absent" not in supervisor


def args(states, state_id):
    body = next(v for v in states[state_id].values() if isinstance(v, list))
    return {k: v for arg in body if isinstance(arg, dict) for k, v in arg.items()}


def test_the_iris_topology_is_submitted_and_checked_from_pillar(minion):
    nimbus = minion(PILLARS / "example", "nimbus1").show_sls("storm.topology.submit")
    submit = args(nimbus, "storm-topology-submit-iris-storm_topology-submitted")
    assert submit["project"] == "/opt/storm/topologies/iris/project"
    assert submit["nimbus_seeds"] == ["10.0.0.21"] and submit["nimbus_port"] == 6627
    assert (submit["virtualenv_root"], submit["virtualenv_name"]) == ("/opt/conda/envs",
                                                                      "storm-worker")
    # One worker per supervisor; the model version from pillar sklearn_model.
    assert submit["workers"] == 2 and submit["model_version"] == "1"
    assert submit["worker_hosts"] == ["10.0.0.31", "10.0.0.32"]
    assert submit["options"]["iris.results.path"] == \
        "/var/lib/storm/iris/predictions-{task}.jsonl"
    copy = args(nimbus, "storm-topology-submit-iris-project-file-recurse")
    assert copy["source"] == "salt://storm/files/iris_topology" and copy["clean"] is True

    sup = minion(PILLARS / "example", "sup1")
    seen = args(sup.show_sls("storm.health.predictions"),
                "storm-health-predictions-iris-storm_topology-predictions_seen")
    assert seen["host"] == "10.0.0.31" and seen["model_version"] == "1"
    dirs = sup.show_sls("storm")
    made = args(dirs, "storm-topology-dirs-/var/lib/storm/iris-file-directory")
    assert (made["user"], made["mode"]) == ("storm", "0750")
    # A restarted supervisor is waited for before the rolling batch moves on.
    again = args(dirs, "storm-service-running-supervisor-storm_cluster-supervisors_registered")
    assert again["hosts"] == ["10.0.0.31"] and again["fresh"] is True
    assert again["onchanges"] == [{"service": "storm-service-running-supervisor-service-running"}]
    on_nimbus = minion(PILLARS / "example", "nimbus1").show_sls("storm")
    assert not any("topology-dirs" in sid or "supervisors_registered" in sid
                   for sid in on_nimbus)


def test_a_disabled_topology_renders_nothing(minion):
    states = minion(PILLARS / "storm_mine", "both", MINE).show_sls("storm.topology.submit")
    assert list(states) == ["storm-topology-submit-nothing-test-nop"]
