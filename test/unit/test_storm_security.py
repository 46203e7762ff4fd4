"""
The security settings of the storm and zookeeper maps, computed by the real modules
(settings_harness): ZooKeeper digest authentication, the firewall table's ports and
sources, the redaction of secrets, the client port's address.  The render tests prove
the same through Salt; the lab tests (test_lab_security.py) against the real cluster.
"""

import copy

import pytest
from modloader import load
from salt.exceptions import CommandExecutionError
from settings_harness import Render, example

SECRET = "unit-test-digest-secret-0001"
# ZooKeeper's own DigestAuthenticationProvider, run once with Debian's zookeeper.jar:
# `java -cp zookeeper.jar:... org.apache.zookeeper.server.auth.DigestAuthenticationProvider
# storm:render-test-digest-secret`.
ZOOKEEPER_DIGEST = ("storm:render-test-digest-secret",
                    "storm:gEAbD9eOT3TXIoLJHcR5nkF4tEU=")


def pillar(**storm):
    data = example()
    data["storm"]["zookeeper_auth"] = {"password": SECRET}
    for key, value in storm.items():
        data["storm"][key] = value
    return data


def storm_map(data, minion="nimbus1"):
    return Render(data, minion).map("storm")


def refusal(data, minion="nimbus1", formula="storm"):
    with pytest.raises(CommandExecutionError) as refused:
        Render(data, minion).map(formula)
    return str(refused.value)


def test_digest_id_is_zookeepers():
    user_password, expected = ZOOKEEPER_DIGEST
    user, password = user_password.split(":", 1)
    assert load("_modules", "storm_config").digest_id(user, password) == expected


def test_daemons_authenticate_and_name_their_own_id_super():
    yaml = storm_map(pillar(), "sup1")["storm_yaml"]
    config = load("_modules", "storm_config")
    assert yaml["storm.zookeeper.auth.scheme"] == "digest"
    assert yaml["storm.zookeeper.auth.payload"] == f"storm:{SECRET}"
    assert yaml["storm.zookeeper.superACL"] == "digest:" + config.digest_id("storm", SECRET)


def test_each_topology_gets_its_own_stable_identity():
    first = storm_map(pillar())["topologies"][0]
    again = storm_map(pillar())["topologies"][0]
    payload = first["zookeeper_payload"]
    assert payload == again["zookeeper_payload"]
    user, password = payload.split(":", 1)
    assert user == "topology-iris"
    assert SECRET not in payload and len(password) == 64
    other = copy.deepcopy(pillar())
    other["storm"]["zookeeper_auth"]["password"] = SECRET + "x"
    assert storm_map(other)["topologies"][0]["zookeeper_payload"] != payload


def test_disabled_leaves_storms_znodes_open():
    data = pillar(zookeeper_auth={"enabled": False})
    found = storm_map(data)
    assert not any("auth" in k or "ACL" in k for k in found["storm_yaml"])
    assert found["topologies"][0]["zookeeper_payload"] is None


@pytest.mark.parametrize("auth,message", [
    ({}, "storm:zookeeper_auth:password: is required while storm:zookeeper_auth:enabled "
         "is true"),
    ({"password": None}, "storm:zookeeper_auth:password: is required"),
    ({"password": 12345678901234567}, "storm:zookeeper_auth:password: a whole number is "
                                      "not a secret"),
    ({"password": ["a" * 20]}, "storm:zookeeper_auth:password: a list is not a secret"),
    ({"password": "short-one"}, "storm:zookeeper_auth:password: is 9 characters long; a "
                                "secret needs at least 16"),
    ({"password": "has a space in it somewhere"}, "storm:zookeeper_auth:password: contains "
                                                  "whitespace"),
    ({"password": SECRET, "user": "a:b"}, "storm:zookeeper_auth:user: 'a:b' is not a user "
                                          "name"),
])
def test_bad_secrets_are_refused_naming_the_key_and_never_showing_it(auth, message):
    data = example()
    data["storm"]["zookeeper_auth"] = auth
    text = refusal(data)
    assert text.startswith(message), text
    shown = auth.get("password")
    if shown is not None:
        assert str(shown) not in text and repr(shown) not in text


@pytest.mark.parametrize("key", ["storm.zookeeper.auth.payload", "storm.zookeeper.superACL",
                                 "storm.zookeeper.auth.scheme"])
def test_storm_yaml_cannot_set_the_auth_keys(key):
    data = pillar(config={key: "digest:x:y"})
    assert refusal(data).startswith(f"storm:config:{key}: is computed by the formula; set "
                                    "storm:zookeeper_auth")


def test_a_topology_cannot_set_its_own_zookeeper_identity():
    data = pillar()
    data["storm"]["topologies"]["iris"]["options"][
        "storm.zookeeper.topology.auth.payload"] = "me:mine"
    assert refusal(data).startswith(
        "storm:topologies:iris:options:storm.zookeeper.topology.auth.payload: is set by "
        "the formula")


def test_dumps_show_no_secret():
    found = storm_map(pillar())
    render = Render(pillar())
    shown = render.salt["formula_settings.redacted"](
        found, _schema(), ["zookeeper_payload"])
    text = repr(shown)
    assert SECRET not in text
    assert found["topologies"][0]["zookeeper_payload"].split(":")[1] not in text
    assert shown["zookeeper_auth"]["password"] == "<redacted>"
    assert shown["storm_yaml"]["storm.zookeeper.auth.payload"] == "<redacted>"
    # What is not secret stays: the dump is still worth reading.
    assert shown["storm_yaml"]["storm.zookeeper.superACL"].startswith("digest:storm:")
    assert shown["zookeeper_auth"]["user"] == "storm"


def _schema():
    from settings_harness import schema
    return schema("storm")


def test_firewall_guards_the_ports_of_the_roles_here():
    nimbus = storm_map(pillar(), "nimbus1")["firewall"]
    sup = storm_map(pillar(), "sup1")["firewall"]
    assert nimbus["enabled"] and sup["enabled"]
    # pillar.example: nimbus Thrift on nimbus1 (the UI's port for web_allow only); the
    # supervisor's Thrift port and four slots on sup1 (the logviewer's for web_allow).
    assert nimbus["ports"] == [6627] and nimbus["web_ports"] == [8080]
    assert sup["ports"] == [6628, 6700, 6701, 6702, 6703] and sup["web_ports"] == [8000]
    assert nimbus["web_ipv4"] == sup["web_ipv4"] == []
    # Sources: every nimbus and supervisor host, not the ZooKeeper hosts.
    members = Render(pillar()).salt["clustermap.members"]()
    storm_hosts = sorted(f"{m['address']}/32" for r in ("nimbus", "supervisor")
                         for m in members[r])
    assert nimbus["cluster_ipv4"] == storm_hosts == sup["cluster_ipv4"]
    assert not set(nimbus["cluster_ipv4"]) & {f"{m['address']}/32" for m in members["zookeeper"]}


def test_firewall_allow_and_tls_port():
    data = pillar(firewall={"allow": ["192.0.2.99", "2001:db8::/64"],
                            "web_allow": ["198.51.100.0/24"]},
                  config={"nimbus.thrift.tls.port": 6629})
    found = storm_map(data, "nimbus1")["firewall"]
    assert "192.0.2.99/32" in found["cluster_ipv4"]
    assert found["cluster_ipv6"] == ["2001:db8::/64"]
    assert 6629 in found["ports"]
    assert found["web_ipv4"] == ["198.51.100.0/24"]


def test_firewall_allow_takes_networks_and_members_may_be_names():
    data = pillar(firewall={"allow": ["ops.example.com"]})
    assert refusal(data).startswith("storm:firewall:allow:0: 'ops.example.com' (string) is "
                                    "not a network")
    # cluster's shorthand (a minion id that resolves): nft resolves it when it loads.
    data = pillar()
    data["cluster"] = dict(data["cluster"], nimbus=["nimbus1"], supervisor=["sup1"])
    found = storm_map(data, "sup1")["firewall"]
    assert found["cluster_ipv4"] == ["nimbus1", "sup1"]


def test_firewall_off():
    found = storm_map(pillar(firewall={"enabled": False}), "sup1")["firewall"]
    assert found["enabled"] is False and found["ports"] == []


def test_zookeeper_client_port_on_the_members_address():
    zoo = dict(Render(pillar(), "zk2").map("zookeeper")["zoo_cfg"])
    members = Render(pillar()).salt["clustermap.members"]()["zookeeper"]
    assert zoo["clientPortAddress"] == next(m["address"] for m in members
                                            if m["minion"] == "zk2")
    data = pillar()
    data["zookeeper"]["client_on_member_address"] = False
    assert "clientPortAddress" not in dict(Render(data, "zk2").map("zookeeper")["zoo_cfg"])
