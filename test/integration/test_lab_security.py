"""
What a host on the cluster's network that is not in the cluster can do to it, on the six
real hosts the orchestrate built (the `cluster` fixture).  The outsider is a network
namespace with its own address on the lab bridge (lab.network.outsider); each refusal is
checked against the same attempt made with the cluster's own credentials, which must
succeed, so a test fails if the protection is off.
"""

import json
import re
import sys

import pytest
import yaml
from lab import config, network

pytestmark = [pytest.mark.lab, pytest.mark.lab_topology("test/lab_topologies/cluster6.yaml")]
ZOOKEEPER = "10.77.0.11:2181,10.77.0.12:2181,10.77.0.13:2181"
STORM_ZNODES = ["/storm", "/storm/supervisors", "/storm/nimbuses", "/storm/storms",
                "/storm/assignments"]

# Run by the test venv's Python, from the outsider's namespace or from the machine: for
# each znode, whether its children and data could be read, as JSON on stdout.
READ_ZNODES = """
import json, sys
from kazoo.client import KazooClient
from kazoo.exceptions import NoAuthError
hosts, auth, paths = sys.argv[1], sys.argv[2], sys.argv[3:]
client = KazooClient(hosts=hosts, timeout=10,
                     auth_data=[("digest", auth)] if auth else None)
client.start(timeout=20)
found = {}
for path in paths:
    try:
        client.get_children(path)
        client.get(path)
        found[path] = "read"
    except NoAuthError:
        found[path] = "refused"
client.stop()
print(json.dumps(found))
"""


# Nimbus' Thrift calls that read the cluster, upload a topology and kill one, by name only
# (Thrift needs no more of Storm's IDL to send them).  A reachable Nimbus answers every
# one (the kill with NotAliveException: no topology has that name), so none does harm.
PROBE_NIMBUS = r"""
import io, json, sys
import thriftpy2
from thriftpy2.rpc import make_client
from thriftpy2.transport import TFramedTransportFactory
IDL = '''
exception NotAliveException { 1: required string msg; }
exception AuthorizationException { 1: required string msg; }
service Nimbus {
  string getNimbusConf() throws (1: AuthorizationException aze);
  string beginFileUpload() throws (1: AuthorizationException aze);
  void killTopology(1: string name)
    throws (1: NotAliveException e, 2: AuthorizationException aze);
}
'''
storm = thriftpy2.load_fp(io.StringIO(IDL), module_name="probe_thrift")
host, port = sys.argv[1], int(sys.argv[2])
found = {}
for call, args in (("getNimbusConf", ()), ("beginFileUpload", ()),
                   ("killTopology", ("no-such-topology",))):
    try:
        client = make_client(storm.Nimbus, host, port, timeout=5000,
                             trans_factory=TFramedTransportFactory())
    except Exception:
        found[call] = "refused"
        continue
    try:
        getattr(client, call)(*args)
        found[call] = "answered"
    except (storm.NotAliveException, storm.AuthorizationException):
        found[call] = "answered"
    except Exception:
        found[call] = "refused"
    finally:
        client.close()
print(json.dumps(found))
"""
# TCP connections to each host:port: "open", or "refused" (a reset, or no answer in 3 s).
PROBE_PORTS = r"""
import json, socket, sys
found = {}
for target in sys.argv[1:]:
    host, port = target.rsplit(":", 1)
    try:
        socket.create_connection((host, int(port)), timeout=3).close()
        found[target] = "open"
    except OSError:
        found[target] = "refused"
print(json.dumps(found))
"""


def last_json(proc):
    return json.loads(proc.stdout.strip().splitlines()[-1])


def storm_yaml(host="sup1"):
    return yaml.safe_load((config.ARTIFACTS_DIR / host / "etc/storm/storm.yaml").read_text())


def read_znodes(run, auth):
    return last_json(run([sys.executable, "-c", READ_ZNODES, ZOOKEEPER, auth or "",
                          *STORM_ZNODES]))


def test_storms_znodes_refuse_an_outsider(cluster):
    # (.get: with storm:zookeeper_auth off the checks below fail on the open znodes.)
    payload = storm_yaml().get("storm.zookeeper.auth.payload")
    user = (payload or "storm:").split(":", 1)[0]
    # With the cluster's secret, from the machine: everything reads.
    assert read_znodes(network.run, payload) == {p: "read" for p in STORM_ZNODES}
    with network.outsider() as outsider:
        # Anonymous, and with the right user but a wrong password: nothing reads.
        assert read_znodes(outsider.run, None) == {p: "refused" for p in STORM_ZNODES}
        assert read_znodes(outsider.run, f"{user}:not-the-password") == {
            p: "refused" for p in STORM_ZNODES}


def test_storms_znodes_carry_no_open_acl(cluster):
    from kazoo.client import KazooClient
    payload = storm_yaml().get("storm.zookeeper.auth.payload")
    client = KazooClient(hosts=ZOOKEEPER, timeout=10,
                         auth_data=[("digest", payload)] if payload else None)
    client.start(timeout=20)
    try:
        nodes = list(STORM_ZNODES)
        for topology in client.get_children("/storm/storms"):
            nodes.append(f"/storm/storms/{topology}")
        open_nodes = {}
        for path in nodes:
            acls, _ = client.get_acls(path)
            ids = [f"{a.id.scheme}:{a.id.id}" for a in acls]
            if any(i.startswith("world:") for i in ids):
                open_nodes[path] = ids
        assert open_nodes == {}
        # The daemons' own identity owns them: the superACL storm.yaml names.
        acls, _ = client.get_acls("/storm/supervisors")
        assert [f"{a.id.scheme}:{a.id.id}" for a in acls] == [
            storm_yaml().get("storm.zookeeper.superACL")]
    finally:
        client.stop()


def lab_password():
    """The lab pillar's storm:zookeeper_auth:password, as the test pillar writes it."""
    text = (config.REPO_ROOT / "test/pillar/lab_cluster6/storm.sls").read_text()
    return re.search(r"^    password: (\S+)$", text, re.M).group(1)


def test_secrets_stay_out_of_world_readable_files_and_dumps(cluster):
    password = lab_password()
    for host in ("nimbus1", "sup1"):
        mode = cluster.exec(host, ["stat", "-c", "%a %U:%G", "/etc/storm/storm.yaml"]).stdout
        assert mode.split() == ["640", "root:storm"], (host, mode)
        dump = cluster.salt(host, "state.apply", "storm._mapdata")[host]
        assert dump, dump
        text = cluster.exec(host, ["cat", "/var/cache/salt/minion/formula-mapdata/storm.yaml"]
                            ).stdout
        assert "<redacted>" in text
        assert password not in text, f"{host}: the ZooKeeper password is in the _mapdata dump"
    config_json = cluster.exec("nimbus1", ["bash", "-c",
                                           "stat -c '%a' /opt/storm/topologies/*/config.json"])
    assert set(config_json.stdout.split()) == {"600"}


def test_nimbus_thrift_refuses_an_outsider(cluster):
    calls = ("getNimbusConf", "beginFileUpload", "killTopology")
    # From the lab's operator host (storm:firewall:allow), Nimbus answers every call.
    assert last_json(network.run([sys.executable, "-c", PROBE_NIMBUS, "10.77.0.21",
                                  "6627"])) == dict.fromkeys(calls, "answered")
    with network.outsider() as outsider:
        assert last_json(outsider.run([sys.executable, "-c", PROBE_NIMBUS, "10.77.0.21",
                                       "6627"])) == dict.fromkeys(calls, "refused")


def test_supervisor_and_slot_ports_refuse_an_outsider(cluster):
    sup = storm_yaml("sup1")
    targets = [f"10.77.0.31:{port}" for port in
               [sup.get("supervisor.thrift.port", 6628), *sup["supervisor.slots.ports"]]]
    inside = last_json(cluster.exec("sup2", ["/usr/bin/python3", "-c", PROBE_PORTS,
                                             *targets]))
    # From another supervisor: the supervisor's Thrift port and the busy slot (its worker
    # runs the iris topology) accept; an idle slot has nothing listening either way.
    assert inside[targets[0]] == "open"
    assert "open" in [inside[t] for t in targets[1:]], inside
    with network.outsider() as outsider:
        outside = last_json(outsider.run([sys.executable, "-c", PROBE_PORTS, *targets]))
    assert outside == dict.fromkeys(targets, "refused")
