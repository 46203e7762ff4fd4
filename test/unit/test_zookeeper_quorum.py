"""zookeeper_quorum: config resolution and refusals, and health read from a real socket."""

import socket
import threading

import pytest
import yaml
from modloader import ROOT
from salt.exceptions import CommandExecutionError
from settings_harness import Render, example, nested

DEFAULTS = yaml.safe_load((ROOT / "zookeeper/parameters/defaults.yaml").read_text())["values"]
MEMBERS = [{"id": 1, "minion": "zk1", "address": "10.0.0.1"},
           {"id": 2, "minion": "zk2", "address": "10.0.0.2"},
           {"id": 3, "minion": "zk3", "address": "10.0.0.3"}]


def module(loader, members=MEMBERS, minion="zk2", extra=None):
    salt = {"clustermap.members": lambda: {"zookeeper": [dict(m) for m in members]}}
    salt.update(extra or {})
    return loader("_modules", "zookeeper_quorum", salt=salt, opts={"id": minion})


def config(**changes):
    data = yaml.safe_load(yaml.safe_dump(DEFAULTS))
    for key, value in changes.items():
        target = data
        *path, last = key.split("__")
        for part in path:
            target = target[part]
        target[last] = value
    return data


def test_three_members(loader):
    resolved = module(loader).resolve(config())
    cfg = dict(resolved["zoo_cfg"])
    assert resolved["myid"] == 2
    assert cfg["server.1"] == "10.0.0.1:2888:3888"
    assert [k for k, _ in resolved["zoo_cfg"]][-3:] == ["server.1", "server.2", "server.3"]
    assert cfg["clientPort"] == 2181 and cfg["dataDir"] == "/var/lib/zookeeper/data"
    assert cfg["admin.enableServer"] == "false"
    assert cfg["4lw.commands.whitelist"] == "srvr,mntr,ruok"
    assert resolved["classpath"][0] == "/etc/zookeeper/conf.cluster"


def test_single_member_is_standalone(loader):
    resolved = module(loader, MEMBERS[:1], minion="zk1").resolve(config())
    assert resolved["myid"] == 1
    assert not [k for k, _ in resolved["zoo_cfg"] if k.startswith("server.")]


def test_non_member_has_no_myid(loader):
    assert module(loader, minion="nimbus1").resolve(config())["myid"] is None


@pytest.mark.parametrize("changes, message", [
    ({"install_method": "docker"}, r"^zookeeper:install_method: 'docker' is not one of"),
    ({"ports__client": 70000},
     r"^zookeeper:ports:client: 70000 is out of range: a TCP port from 1 to 65535"),
    ({"ports__quorum": 0}, r"^zookeeper:ports:quorum: 0 is out of range"),
    ({"ports__election": "3888"},
     r"^zookeeper:ports:election: '3888' \(string\) is not a TCP port"),
    ({"ports__election": 2888},
     r"^zookeeper:ports:election: port 2888 is also zookeeper:ports:quorum; every port"),
    ({"data_dir": "var/lib/zk"},
     r"^zookeeper:data_dir: 'var/lib/zk' \(string\) is not an absolute"),
    ({"heap_mb": 0}, r"^zookeeper:heap_mb: 0 is out of range: a heap size in MB"),
    ({"user__uid": None}, r"^zookeeper:user:uid: is empty; expected a whole number"),
    ({"properties__clientPort": 2182}, r"^zookeeper:properties:clientPort: is computed by the "
                                       r"formula; set zookeeper:ports:client"),
    ({"properties__server.4": "x:1:2"}, r"^zookeeper:properties:server.4: server lines come"),
    ({"install_method": "archive", "archive__source_hash": None},
     r"^zookeeper:archive:source_hash: is empty"),
    ({"install_method": "archive", "archive__source_hash": "md5=" + "a" * 32},
     r"^zookeeper:archive:source_hash: 'md5' is not a checksum the formulas accept"),
    ({"install_method": "archive", "archive__source_hash": "sha256=abc"},
     r"^zookeeper:archive:source_hash: sha256 needs 64 hex digits"),
])
def test_bad_settings_are_refused_naming_the_key(changes, message):
    # Through the map as map.jinja computes it: schema, then zookeeper_quorum.resolve.
    pillar = {"cluster": example()["cluster"], "zookeeper": nested(changes)}
    with pytest.raises(CommandExecutionError, match=message):
        Render(pillar, "zk2").map("zookeeper")


def test_the_admin_servers_port_is_one_of_the_members_ports():
    pillar = {"cluster": example()["cluster"], "zookeeper": {"properties": {
        "admin.enableServer": True, "admin.serverPort": 2888}}}
    with pytest.raises(CommandExecutionError, match=r"^zookeeper:properties:admin.serverPort: "
                       r"port 2888 is also zookeeper:ports:quorum"):
        Render(pillar, "zk2").map("zookeeper")
    pillar["zookeeper"]["properties"]["admin.serverPort"] = 8081
    assert ("zookeeper:properties:admin.serverPort", 8081) in \
        Render(pillar, "zk2").map("zookeeper")["listening"]


def test_archive_install_is_versioned(loader):
    dist = loader("_modules", "apache_dist")
    mod = module(loader, extra={"apache_dist.checked_hash": dist.checked_hash,
                                "apache_dist.checked_signature": dist.checked_signature})
    resolved = mod.resolve(config(install_method="archive", archive__source_hash="a" * 128))
    archive = resolved["archive"]
    assert archive["source"].endswith("/zookeeper-3.8.4/apache-zookeeper-3.8.4-bin.tar.gz")
    assert archive["source_hash"] == "sha512=" + "a" * 128
    assert archive["home"] == "/opt/zookeeper/apache-zookeeper-3.8.4-bin"
    assert resolved["home"] == "/opt/zookeeper/current"
    assert resolved["classpath"][-1] == "/opt/zookeeper/current/lib/*"
    assert archive["hash_file"] == \
        "/opt/zookeeper/.checksums/apache-zookeeper-3.8.4-bin.tar.gz.sha512"
    assert archive["signature"] is None


class FourLetterServer:
    """A loopback socket that answers one fixed text to whatever word it is sent."""

    def __init__(self, answer, address="127.0.0.1", port=0):
        self.answer = answer.encode()
        self.sock = socket.socket()
        self.sock.bind((address, port))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        self.words = []
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn:
                self.words.append(conn.recv(16).decode())
                conn.sendall(self.answer)


SRVR_FOLLOWER = ("Zookeeper version: 3.8.0-1, built on 2024-12-29\nLatency min/avg/max: 0/0.0/0\n"
                 "Received: 3\nSent: 2\nConnections: 1\nOutstanding: 0\nZxid: 0x100000002\n"
                 "Mode: follower\nNode count: 5\n")


def test_status_of_a_follower(loader):
    server = FourLetterServer(SRVR_FOLLOWER)
    state = module(loader).status("127.0.0.1", server.port)
    assert server.words == ["srvr"]
    assert state["serving"] and state["mode"] == "follower" and state["zxid"] == "0x100000002"


def test_status_of_an_electing_node(loader):
    server = FourLetterServer("This ZooKeeper instance is not currently serving requests\n")
    state = module(loader).status("127.0.0.1", server.port)
    assert not state["serving"] and "electing" in state["error"]


def test_status_of_a_closed_port(loader):
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    state = module(loader).status("127.0.0.1", port, timeout=0.5)
    assert not state["serving"] and "ConnectionRefused" in state["error"]


def test_quorum_verdicts(loader):
    # Three members on distinct loopback addresses and one port, as in a real ensemble;
    # quorum() itself runs unpatched against them.
    leader = FourLetterServer(SRVR_FOLLOWER.replace("follower", "leader"), "127.0.0.11")
    FourLetterServer(SRVR_FOLLOWER, "127.0.0.12", leader.port)
    FourLetterServer(SRVR_FOLLOWER, "127.0.0.13", leader.port)
    members = [{"id": i, "minion": f"zk{i}", "address": f"127.0.0.1{i}"} for i in (1, 2, 3)]
    verdict = module(loader, members).quorum(port=leader.port)
    assert verdict["healthy"] and verdict["leaders"] == ["zk1"] and verdict["writable"]
    assert verdict["serving"] == ["zk1", "zk2", "zk3"]
    # zk3 moved to an address where nothing listens: a member down.
    members[2]["address"] = "127.0.0.14"
    verdict = module(loader, members).quorum(port=leader.port, timeout=0.5)
    assert not verdict["healthy"] and verdict["writable"]
    assert verdict["serving"] == ["zk1", "zk2"]
    assert "ConnectionRefused" in verdict["members"]["zk3"]["error"]


def test_restart_order_puts_the_leader_last_as_the_members_report_it(loader):
    asked = []

    def cmd(**kwargs):
        asked.append(kwargs)
        return {"zk1": {"ret": {"leaders": ["zk1"], "serving": ["zk1", "zk2", "zk3"]},
                        "retcode": 0},
                "zk3": {"ret": "'zookeeper_quorum.quorum' is not available.", "retcode": 1}}
    quorum = loader("_modules", "zookeeper_quorum", opts={"id": "master", "__role": "master"},
                    salt={"clustermap.members": lambda: {"zookeeper": MEMBERS},
                          "saltutil.cmd": cmd})
    assert quorum.restart_order(port=2182) == ["zk2", "zk3", "zk1"]
    assert asked[0]["tgt"] == ["zk1", "zk2", "zk3"] and asked[0]["kwarg"] == {"port": 2182}


@pytest.mark.parametrize("role, answer", [
    ("minion", {"zk1": {"ret": {"leaders": ["zk1"]}}}),  # outside the master: not asked
    ("master", {}),  # nobody answered (first start)
    ("master", {"zk2": {"ret": {"leaders": []}}, "zk3": False}),  # electing, or garbage
    ("master", RuntimeError("the master's publisher is down")),
])
def test_restart_order_is_memberships_when_nobody_names_a_leader(loader, role, answer):
    def cmd(**kwargs):
        if isinstance(answer, Exception):
            raise answer
        return answer
    quorum = loader("_modules", "zookeeper_quorum", opts={"id": "master", "__role": role},
                    salt={"clustermap.members": lambda: {"zookeeper": MEMBERS},
                          "saltutil.cmd": cmd})
    assert quorum.restart_order() == ["zk1", "zk2", "zk3"]
