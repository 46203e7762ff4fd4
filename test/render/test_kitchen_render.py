"""
Each Kitchen suite compiled by Salt as `kitchen converge` would compile it: the suite's
state_top, SLS by SLS, with the suite's own pillar files and top (kitchen.yml) and the
minion id kitchen.yml gives the container.  Offline, before anyone starts a container:
the suites download for real when they converge, but rendering never fetches (the .sha512
URLs are fetched by the checksum states at apply time), so their pillars render as they are.
"""

import copy
import ipaddress
import shutil

import pytest
import yaml
from saltrender import ROOT

KITCHEN = yaml.safe_load((ROOT / "kitchen.yml").read_text())
SUITES = {suite["name"]: {**KITCHEN["provisioner"], **suite.get("provisioner", {})}
          for suite in KITCHEN["suites"]}


@pytest.fixture
def kitchen_minion(tmp_path, minion):
    """The suite's pillar tree as kitchen-salt writes it."""
    def make(suite):
        prov = SUITES[suite]
        root = tmp_path / f"pillar-{suite}"
        root.mkdir()
        for name, source in prov["pillars_from_files"].items():
            shutil.copy(ROOT / source, root / name)
        top = copy.deepcopy(prov["pillars"]["top.sls"])
        (root / "top.sls").write_text(yaml.safe_dump(top))
        return minion(root, prov["salt_minion_id"])
    return make


def args(states, state_id):
    """A rendered state's arguments as one dict."""
    body = next(v for k, v in states[state_id].items() if not k.startswith("__"))
    return {k: v for item in body if isinstance(item, dict) for k, v in item.items()}


@pytest.mark.parametrize("suite", sorted(SUITES))
def test_state_top_renders_with_the_suite_pillar(kitchen_minion, suite):
    host = kitchen_minion(suite)
    for sls in SUITES[suite]["state_top"]["base"]["*"]:
        assert host.show_sls(sls), sls


@pytest.mark.parametrize("suite", sorted(SUITES))
def test_the_container_is_zookeeper_member_1_of_1(kitchen_minion, suite):
    files = kitchen_minion(suite).files("zookeeper")
    assert files["myid"] == 1
    assert "server." not in files["zoo_cfg"]


def test_archive_suite_installs_apaches_release_by_its_sha512(kitchen_minion):
    pillar = yaml.safe_load((ROOT / SUITES["zookeeper-archive"]["pillars_from_files"][
        "zookeeper.sls"]).read_text())["zookeeper"]["archive"]
    host = kitchen_minion("zookeeper-archive")
    extracted = args(host.show_sls("zookeeper"), "zookeeper-archive-install-archive-extracted")
    url = pillar["source"].replace("{version}", str(pillar["version"]))
    assert url.startswith("https://archive.apache.org/dist/zookeeper/")
    assert pillar["source_hash"].replace("{version}", str(pillar["version"])) == url + ".sha512"
    assert extracted["source"] == url
    assert "/opt/zookeeper/current/lib/*" in host.files("zookeeper")["env"]


def test_package_suite_installs_debians_package(kitchen_minion):
    states = kitchen_minion("zookeeper").show_sls("zookeeper")
    assert "zookeeper-package-install-pkg-installed" in states
    assert "zookeeper-archive-install-archive-extracted" not in states


def test_storm_single_puts_every_role_on_the_host_at_its_own_address(kitchen_minion):
    host = kitchen_minion("storm-single")
    files = host.files("storm")
    conf = yaml.safe_load(files["storm_yaml"])
    assert files["roles"] == ["nimbus", "supervisor"]
    assert sorted(files["units"]) == ["logviewer", "nimbus", "supervisor", "ui"]
    # What the pillar's Jinja found: an address of the rendering machine, not loopback
    # (the storm verifier looks for it in `hostname -I`).
    address = conf["storm.local.hostname"]
    assert not ipaddress.ip_address(address).is_loopback
    assert conf["storm.zookeeper.servers"] == [address] and conf["nimbus.seeds"] == [address]
    # The ZooKeeper verifier asserts that nothing listens on 8080 on this host.
    assert conf["ui.port"] != 8080
    leader = args(host.show_sls("storm.health.leader"),
                  "storm-health-leader-storm_cluster-nimbus_leader")
    assert leader["seeds"] == [address] and leader["port"] == 6627
    # The real release from its default location, and no topology to submit.
    states = host.show_sls("storm")
    assert args(states, "storm-archive-install-archive-extracted")["source"].startswith(
        "https://archive.apache.org/dist/storm/apache-storm-2.8.3/")
    assert not [s for s in states if s.startswith("storm-topology-")], list(states)
