"""The storm formula's protections as Salt renders them: the ZooKeeper identity in
storm.yaml (and nowhere it would be shown), the hardened units, the firewall table (checked
by nft itself), and bad secrets refused before any state exists."""

import shutil
import subprocess

import pytest
import yaml
from saltrender import ROOT, RenderError

PILLARS = ROOT / "test" / "pillar"
SECRET = "render-test-digest-secret"
EXAMPLE_SECRET = "example-only-replace-me-0123456789"


def test_storm_yaml_carries_the_identity_and_is_never_diffed(minion):
    host = minion(PILLARS / "example", "sup1")
    conf = yaml.safe_load(host.files("storm")["storm_yaml"])
    assert conf["storm.zookeeper.auth.scheme"] == "digest"
    assert conf["storm.zookeeper.auth.payload"] == f"storm:{EXAMPLE_SECRET}"
    assert conf["storm.zookeeper.superACL"].startswith("digest:storm:")
    state = host.show_sls("storm.config")["storm-config-file-storm-yaml-file-managed"]
    args = {k: v for item in state["file"] if isinstance(item, dict) for k, v in item.items()}
    assert args["mode"] == "0640" and args["show_changes"] is False


def test_the_mapdata_dump_is_redacted(minion):
    states = minion(PILLARS / "example", "nimbus1").show_sls("storm._mapdata")
    state = states["storm-mapdata-file-managed"]["file"]
    contents = next(i["contents"] for i in state if isinstance(i, dict) and "contents" in i)
    assert EXAMPLE_SECRET not in contents
    dumped = yaml.safe_load(contents)["storm"]
    assert dumped["zookeeper_auth"]["password"] == "<redacted>"
    assert dumped["storm_yaml"]["storm.zookeeper.auth.payload"] == "<redacted>"
    assert dumped["topologies"][0]["zookeeper_payload"] == "<redacted>"


def test_the_submit_hands_the_topology_its_identity(minion):
    states = minion(PILLARS / "example", "nimbus1").show_sls("storm.topology.submit")
    state = states["storm-topology-submit-iris-storm_topology-submitted"]["storm_topology"]
    args = {k: v for item in state if isinstance(item, dict) for k, v in item.items()}
    assert args["zookeeper_payload"].startswith("topology-iris:")
    assert EXAMPLE_SECRET not in args["zookeeper_payload"]


@pytest.mark.parametrize("host,daemon", [("nimbus1", "nimbus"), ("sup1", "supervisor")])
def test_units_are_sandboxed(minion, host, daemon):
    unit = minion(PILLARS / "example", host).files("storm")["units"][daemon]
    lines = unit.splitlines()
    for line in ("ProtectSystem=strict", "ReadWritePaths=/var/lib/storm /var/log/storm",
                 "ReadWritePaths=-/var/lib/storm/iris", "PrivateTmp=true",
                 "ProtectHome=true", "CapabilityBoundingSet=",
                 "SystemCallFilter=@system-service", "NoNewPrivileges=true",
                 "After=storm-firewall.service"):
        assert line in lines, (line, unit)
    # The JIT writes code: refusing W+X memory would stop every JVM.
    assert not any(line.startswith("MemoryDenyWriteExecute") for line in lines)


def test_hardening_and_firewall_can_be_turned_off(minion, pillar):
    root = pillar({"cluster": yaml.safe_load((PILLARS / "storm3/cluster.sls").read_text())[
        "cluster"], "storm": {"zookeeper_auth": {"password": SECRET},
                              "archive": {"source_hash": "sha512=" + "a" * 128},
                              "service": {"hardening": False}, "firewall": {"enabled": False},
                              "topologies": {"iris": {"enabled": False}}}})
    host = minion(root, "sup1")
    files = host.files("storm")
    assert "ProtectSystem" not in files["units"]["supervisor"]
    assert "storm-firewall" not in files["units"]["supervisor"]
    states = host.show_sls("storm")
    assert "storm-firewall-rules-service-dead" in states
    assert "storm-firewall-package-pkg-installed" not in states


@pytest.mark.parametrize("host,guarded,cluster", [
    ("nimbus1", "6627, 8080", "6627"),
    ("sup1", "6628, 6700, 6701, 6702, 6703, 8000", "6628, 6700, 6701, 6702, 6703")])
def test_the_firewall_table(minion, tmp_path, host, guarded, cluster):
    files = minion(PILLARS / "example", host).files("storm")
    table = files["firewall_nft"]
    assert f"tcp dport != {{ {guarded} }} accept" in table
    assert "elements = { 10.0.0.21/32, 10.0.0.31/32, 10.0.0.32/32 }" in table
    assert f"tcp dport {{ {cluster} }} ip saddr @cluster_ipv4 accept" in table
    # The UI's and logviewer's ports: loopback only (no web_allow in pillar.example).
    assert "@web_ipv4" not in table
    assert "counter reject with tcp reset" in table
    assert "ExecStart=/usr/sbin/nft -f /etc/storm/firewall.nft" in files["firewall_unit"]
    nft = shutil.which("nft") or "/usr/sbin/nft"
    path = tmp_path / "storm.nft"
    path.write_text(table)
    # nft's own parser and the kernel's checks, without loading anything.
    checked = subprocess.run([nft, "--check", "-f", str(path)], capture_output=True, text=True)
    assert checked.returncode == 0, checked.stderr


@pytest.mark.parametrize("auth,message", [
    ({"user": "storm"}, "storm:zookeeper_auth:password: is required while "
                        "storm:zookeeper_auth:enabled is true"),
    ({"password": 1234567890123456789}, "storm:zookeeper_auth:password: a whole number is "
                                        "not a secret"),
    ({"password": "tooshort"}, "storm:zookeeper_auth:password: is 8 characters long"),
])
def test_bad_secrets_stop_the_render_naming_the_key(minion, pillar, auth, message):
    root = pillar({"cluster": yaml.safe_load((PILLARS / "storm3/cluster.sls").read_text())[
        "cluster"], "storm": {"zookeeper_auth": auth,
                              "archive": {"source_hash": "sha512=" + "a" * 128}}})
    with pytest.raises(RenderError) as refused:
        minion(root, "nimbus1").show_sls("storm")
    assert message in str(refused.value)
    if "password" in auth:
        assert str(auth["password"]) not in str(refused.value)
