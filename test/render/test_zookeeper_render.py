"""Every zookeeper SLS rendered by Salt for a 1-host, a 3-host explicit and a 5-host
mine-discovered cluster, and the zoo.cfg/myid each host gets."""

import re

import pytest
import yaml
from saltrender import ROOT, RenderError

PILLARS = ROOT / "test" / "pillar"
SLS = ["zookeeper", "zookeeper.install", "zookeeper.config", "zookeeper.service",
       "zookeeper.health", "zookeeper.clean", "zookeeper._mapdata"]
MINE5 = {
    "zka": {"roles": ["zookeeper"], "zookeeper_id": 4, "address": "192.0.2.21"},
    "zkb": {"roles": ["zookeeper"], "zookeeper_id": 2, "address": "192.0.2.22"},
    "zkc": {"roles": ["zookeeper", "nimbus"], "zookeeper_id": 1, "address": "192.0.2.23"},
    "zkd": {"roles": ["zookeeper"], "zookeeper_id": 5, "address": "192.0.2.24"},
    "zke": {"roles": ["zookeeper"], "zookeeper_id": 3, "address": "192.0.2.25"},
    "sup1": {"roles": ["supervisor"], "zookeeper_id": None, "address": "192.0.2.31"},
}
CASES = {
    "zk1": ({"zk1": 1}, None, {}),
    "zk3": ({"zk1": 1, "zk2": 2, "zk3": 3}, None,
            {1: "192.0.2.11", 2: "192.0.2.12", 3: "192.0.2.13"}),
    "zk5_mine": ({"zkc": 1, "zkb": 2, "zke": 3, "zka": 4, "zkd": 5}, MINE5,
                 {1: "192.0.2.23", 2: "192.0.2.22", 3: "192.0.2.25", 4: "192.0.2.21",
                  5: "192.0.2.24"}),
}


def zoo_cfg(text):
    return dict(line.split("=", 1) for line in text.splitlines()
                if line and not line.startswith("#"))


@pytest.mark.parametrize("case", sorted(CASES))
def test_every_sls_renders(minion, case):
    ids, mine, _ = CASES[case]
    host = minion(PILLARS / case, next(iter(ids)), mine)
    for sls in SLS:
        states = host.show_sls(sls)
        assert states, sls
        for state_id, body in states.items():
            # template-formula naming: <formula>-<sls>-<what>-<function>
            assert state_id.startswith(("zookeeper-", "cluster-")), state_id
            assert body["__sls__"].startswith("zookeeper"), state_id


@pytest.mark.parametrize("case", sorted(CASES))
def test_each_host_gets_its_myid_and_the_same_server_lines(minion, case):
    ids, mine, servers = CASES[case]
    seen = set()
    for minion_id, myid in ids.items():
        files = minion(PILLARS / case, minion_id, mine).files()
        cfg = zoo_cfg(files["zoo_cfg"])
        assert files["myid"] == myid
        lines = {int(k.split(".")[1]): v for k, v in cfg.items() if k.startswith("server.")}
        assert lines == {i: f"{addr}:2888:3888" for i, addr in servers.items()}
        assert cfg["clientPort"] == "2181"
        assert cfg["4lw.commands.whitelist"] == "srvr,mntr,ruok"
        assert cfg["admin.enableServer"] == "false"
        # The client port listens on the member's own address only.
        assert cfg["clientPortAddress"] == servers.get(int(myid), cfg["clientPortAddress"])
        assert cfg["clientPortAddress"]
        # All but the per-host header and address.
        seen.add("\n".join(line for line in files["zoo_cfg"].split("\n", 3)[3].splitlines()
                           if not line.startswith("clientPortAddress=")))
        assert f"server {myid} of {len(ids)}" in files["unit"]
    assert len(seen) == 1, "every member must get the same zoo.cfg"


def test_pillar_overrides_reach_the_files(minion):
    files = minion(PILLARS / "zk3", "zk2").files()
    assert zoo_cfg(files["zoo_cfg"])["tickTime"] == "3000"
    assert '-Xms256m -Xmx256m' in files["env"]
    assert re.search(r"^ExecStart=/usr/bin/java [$]ZK_HEAP_OPTS .*[.]QuorumPeerMain "
                     r"/etc/zookeeper/conf.cluster/zoo.cfg$", files["unit"], re.M)
    assert "LimitNOFILE=65536" in files["unit"] and "Restart=on-failure" in files["unit"]


def test_service_restart_is_watched_and_waits_to_rejoin(minion):
    states = minion(PILLARS / "zk3", "zk1").show_sls("zookeeper")
    running = states["zookeeper-service-running-service-running"]["service"]
    watch = next(arg["watch"] for arg in running if isinstance(arg, dict) and "watch" in arg)
    assert {"sls": "zookeeper.config"} in watch
    rejoin = states["zookeeper-service-running-rejoined-zookeeper_quorum-node_serving"]
    args = {k: v for arg in rejoin["zookeeper_quorum"] if isinstance(arg, dict)
            for k, v in arg.items()}
    assert args["address"] == "192.0.2.11"
    assert args["onchanges"] == [{"service": "zookeeper-service-running-service-running"}]


def test_a_host_outside_the_quorum_is_refused(minion):
    with pytest.raises(RenderError, match="minion nimbus1 is not a member of cluster:zookeeper"):
        minion(PILLARS / "zk3", "nimbus1").show_sls("zookeeper")


def test_clean_keeps_data_unless_asked(minion, pillar):
    kept = minion(PILLARS / "zk3", "zk1").show_sls("zookeeper.clean")
    assert not [s for s in kept if "data-dir" in s or "user-clean" in s]
    root = pillar({"cluster": {"zookeeper": [{"id": 1, "minion": "zk1"}]},
                   "zookeeper": {"clean": {"remove_data": True}}})
    removed = minion(root, "zk1").show_sls("zookeeper.clean")
    assert "zookeeper-config-clean-data-dir-file-absent" in removed
    assert "zookeeper-user-clean-user-absent" in removed


def test_archive_install_renders_with_pinned_hash(minion, pillar):
    root = pillar({"cluster": {"zookeeper": [{"id": 1, "minion": "zk1"}]},
                   "zookeeper": {"install_method": "archive",
                                 "archive": {"source_hash": "sha512=" + "ab" * 64}}})
    states = minion(root, "zk1").show_sls("zookeeper")
    extracted = states["zookeeper-archive-install-archive-extracted"]["archive"]
    args = {k: v for arg in extracted if isinstance(arg, dict) for k, v in arg.items()}
    # The pin is written beside the install at apply time, where archive.extracted reads it.
    checksum = states["zookeeper-archive-install-checksum-apache_dist-checksum_file"]
    pinned = {k: v for arg in checksum["apache_dist"] if isinstance(arg, dict)
              for k, v in arg.items()}
    assert pinned["source_hash"] == "sha512=" + "ab" * 64
    assert args["source_hash"] == "file://" + pinned["name"]
    assert args["source"].endswith("apache-zookeeper-3.8.4-bin.tar.gz")
    assert "zookeeper-package-install-pkg-installed" not in states
    assert pinned["signature"] is None


def test_archive_signature_is_passed_checked_and_normalized(minion, pillar):
    fpr = "7C5F 1D9B 0A3E 4C21 9F88  2B6D 55E0 A1C3 94D7 0B2E"
    root = pillar({"cluster": {"zookeeper": [{"id": 1, "minion": "zk1"}]},
                   "zookeeper": {"install_method": "archive",
                                 "archive": {"signature": {"enabled": True,
                                                           "fingerprints": [fpr]}}}})
    states = minion(root, "zk1").show_sls("zookeeper.install")
    checksum = states["zookeeper-archive-install-checksum-apache_dist-checksum_file"]
    args = {k: v for arg in checksum["apache_dist"] if isinstance(arg, dict)
            for k, v in arg.items()}
    source = ("https://archive.apache.org/dist/zookeeper/zookeeper-3.8.4/"
              "apache-zookeeper-3.8.4-bin.tar.gz")
    assert args["signature"] == {
        "source": source + ".asc", "keys": "https://archive.apache.org/dist/zookeeper/KEYS",
        "fingerprints": [fpr.replace(" ", "")], "key": "zookeeper:archive:signature"}


def test_the_unit_is_sandboxed_and_can_be_unsandboxed(minion, pillar):
    unit = minion(PILLARS / "zk3", "zk1").files()["unit"].splitlines()
    for line in ("ProtectSystem=strict", "ProtectHome=true", "PrivateTmp=true",
                 "CapabilityBoundingSet=", "SystemCallFilter=@system-service",
                 "ReadWritePaths=/var/lib/zookeeper/data /var/lib/zookeeper/txlog "
                 "/var/log/zookeeper"):
        assert line in unit, line
    data = yaml.safe_load((PILLARS / "zk3" / "cluster.sls").read_text())
    data["zookeeper"] = dict(data.get("zookeeper") or {}, service={"hardening": False})
    plain = minion(pillar(data), "zk1").files()["unit"].splitlines()
    assert "ProtectSystem=full" in plain and "CapabilityBoundingSet=" not in plain
