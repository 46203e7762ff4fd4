"""Storm pillars that cannot work stop the render with the key named."""

import pytest
from saltrender import RenderError

HASH = "sha512=" + "e" * 128
ZK = [{"id": 1, "minion": "zk1"}]


def cluster(models=True, **storm):
    storm.setdefault("archive", {"source_hash": HASH})
    data = {"cluster": {"zookeeper": ZK, "nimbus": ["n1"], "supervisor": ["s1"]},
            "storm": storm}
    if models:  # the model the bundled iris topology classifies with
        data["sklearn_model"] = {"models": {"iris": {"version": "1", "build": {}}}}
    return data


def iris(**settings):
    return {"iris": settings}


CASES = {
    "unknown key": (cluster(config={"supervisor.slot.ports": [6700]}),
                    "storm:config:supervisor.slot.ports: is not a key Storm 2.8.3 knows"),
    "ui without lib-webapp": (cluster(archive={"source_hash": HASH, "webapp": False}),
                              "storm:daemons:ui: enabled, but the install from "
                              "storm:archive:source has no lib-webapp/"),
    "logviewer without lib-webapp": (
        cluster(archive={"source_hash": HASH, "webapp": False}, daemons={"ui": False}),
        "storm:daemons:logviewer: enabled, but the install"),
    "java older than the release's minimum": (
        cluster(java={"version": 8}),
        "storm:java:version: Java 8 is older than Storm 2.8's minimum, Java 11"),
    "storm 3 on java 17": (cluster(version="3.1.0"),
                           "storm:java:version: Java 17 is older than Storm 3.1's minimum, "
                           "Java 25"),
    "a line without a key list": (cluster(version="3.1.0", java={"version": 25}),
                                  "storm:version: 3.1.0: the formula ships no key list for "
                                  "Storm 3.1"),
    "an unknown release line": (cluster(version="2.9.0"),
                                "storm:version: 2.9.0: the formula knows Storm 2.6, 2.7, "
                                "2.8, 3.0, 3.1, not 2.9"),
    "not a release": (cluster(version="latest"),
                      "storm:version: 'latest' is not a Storm release such as 2.8.3"),
    "an unknown daemon switch": (cluster(daemons={"nimbus": False}),
                                 "storm:daemons:nimbus: is not a setting here; the settings of "
                                 "storm:daemons are ui, logviewer, drpc"),
    "md5 checksum": (cluster(archive={"source_hash": "md5=" + "a" * 32}),
                     "storm:archive:source_hash: 'md5' is not a checksum the formulas "
                     "accept; give sha256= or sha512="),
    "a string where Storm wants a number": (
        cluster(config={"worker.heap.memory.mb": "768"}),
        "storm:config:worker.heap.memory.mb: '768' (string) is not a whole number (32 bits); "
        "Storm 2.8.3 refuses it for this key"),
    "a topology option of the wrong type": (
        cluster(topologies=iris(options={"topology.message.timeout.secs": "30s"})),
        "storm:topologies:iris:options:topology.message.timeout.secs: '30s' (string) is not "
        "a whole number (32 bits); Storm 2.8.3 refuses it for this key"),
    "log4j2 in storm.yaml": (cluster(config={"storm.log4j2.conf.dir": "/tmp"}),
                             "storm:config:storm.log4j2.conf.dir: is computed by the formula"),
    "computed key": (cluster(config={"nimbus.seeds": ["x"]}),
                     "storm:config:nimbus.seeds: is computed by the formula"),
    "no nimbus": ({"cluster": {"zookeeper": ZK, "supervisor": ["s1"]},
                   "storm": {"archive": {"source_hash": HASH}}},
                  "cluster:nimbus: no nimbus host"),
    "no zookeeper": ({"cluster": {"nimbus": ["n1"], "supervisor": ["s1"]},
                      "storm": {"archive": {"source_hash": HASH}}},
                     "cluster:zookeeper: no members"),
    "too many slots": (cluster(slots=65),
                       "storm:slots: 65 is out of range: a slot count from 1 to 64"),
    "no slots": (cluster(slots=0), "storm:slots: 0 is out of range: a slot count"),
    "slot port out of range": (cluster(slots_ports=[6700, 70000]),
                               "storm:slots_ports:1: 70000 is out of range: a TCP port from "
                               "1024 to 65535"),
    "tarball without checksum": (cluster(archive={"source_hash": ""}),
                                 "storm:archive:source_hash: missing"),
    "signature without keys": (
        cluster(archive={"source_hash": HASH, "signature": {
            "enabled": True, "keys": "", "fingerprints": ["A" * 40]}}),
        "storm:archive:signature:keys: "),
    "signature by a short key id": (
        cluster(archive={"source_hash": HASH, "signature": {
            "enabled": True, "fingerprints": ["5E0A1C394D70B2E"]}}),
        "storm:archive:signature:fingerprints:0: '5E0A1C394D70B2E' is not a key fingerprint"),
    "bad ui port": (cluster(config={"ui.port": 0}), "storm:config:ui.port: 0 is not a TCP port"),
    "topology without its model": (
        cluster(models=False),
        "storm:topologies:iris:model: 'iris' is not in pillar sklearn_model:models"),
    "unknown if_changed": (cluster(topologies=iris(if_changed="restart")),
                          "storm:topologies:iris:if_changed: 'restart' is not one of replace"),
    "unknown model_change": (cluster(topologies=iris(model_change="reload")),
                             "storm:topologies:iris:model_change: 'reload' is not one of"),
    "topology.workers in options": (
        cluster(topologies=iris(options={"topology.workers": 3})),
        "storm:topologies:iris:options: salt.fingerprint and topology.workers are set"),
    "zero workers": (cluster(topologies=iris(workers=0)),
                     "storm:topologies:iris:workers: 0 is out of range: a number 1 or "
                     "more"),
    "project not on the fileserver": (
        cluster(topologies=iris(project="/srv/iris")),
        "storm:topologies:iris:project: '/srv/iris' (string) is not a URL (salt://)"),
    "dotted topology name": (cluster(topologies={"iris.v2": {"project": "salt://p",
                                                             "virtualenv": "/opt/v"}}),
                             "storm:topologies:iris.v2: 'iris.v2' is not a topology name "
                             "(letters, digits, '_' and '-')"),
    "relative worker dir": (cluster(topologies=iris(worker_dirs=["iris"])),
                            "storm:topologies:iris:worker_dirs:0: 'iris' (string) is not an "
                            "absolute path"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_pillar_fails_at_render_naming_the_key(minion, pillar, case):
    data, message = CASES[case]
    for host in ("n1", "s1"):
        with pytest.raises(RenderError) as failure:
            minion(pillar(data), host).show_sls("storm")
        assert message in str(failure.value)


def test_unknown_key_suggests_the_real_one(minion, pillar):
    with pytest.raises(RenderError, match=r"did you mean supervisor\.slots\.ports"):
        minion(pillar(cluster(config={"supervisor.slot.ports": [6700]})), "s1").show_sls("storm")


def test_allowed_keys_admit_custom_keys(minion, pillar):
    data = cluster(config={"my.team.key": 1}, allowed_keys=["my.team.key"])
    assert minion(pillar(data), "s1").files("storm")["storm_yaml"].count("my.team.key: 1") == 1


def test_host_without_a_storm_role_is_refused(minion, pillar):
    with pytest.raises(RenderError, match="storm: minion zk1 is neither in cluster:nimbus"):
        minion(pillar(cluster()), "zk1").show_sls("storm")
