"""
Verifiers of one ZooKeeper host, written against testinfra's ``host`` object so the same
checks run on the lab's nspawn hosts and, through Test Kitchen, in Docker containers.
Each takes what it expects from the host itself (the rendered zoo.cfg), not from the test.
"""

CONFIG_DIR = "/etc/zookeeper/conf.cluster"
DATA_DIR = "/var/lib/zookeeper/data"


def zoo_cfg(host):
    text = host.file(f"{CONFIG_DIR}/zoo.cfg").content_string
    return dict(line.split("=", 1) for line in text.splitlines()
                if line.strip() and not line.startswith("#"))


def verify_service(host):
    service = host.service("zookeeper")
    assert service.is_enabled, "zookeeper.service is not enabled"
    assert service.is_running, "zookeeper.service is not running"
    unit = host.file("/etc/systemd/system/zookeeper.service")
    assert unit.user == "root" and unit.mode == 0o644
    assert "Restart=on-failure" in unit.content_string
    assert "LimitNOFILE=" in unit.content_string
    # The JVM runs as the dedicated user with its fixed ids.
    java = [p for p in host.process.filter(comm="java") if "QuorumPeerMain" in p.args]
    assert len(java) == 1, f"expected one ZooKeeper JVM, found {len(java)}"
    assert java[0].user == "zookeeper"
    user = host.user("zookeeper")
    assert (user.uid, user.gid) == (390, 390)


def verify_files(host):
    cfg = zoo_cfg(host)
    for path in (f"{CONFIG_DIR}/zoo.cfg", f"{CONFIG_DIR}/zookeeper-env"):
        f = host.file(path)
        assert f.is_file and f.user == "root" and f.mode == 0o644, path
    for key in ("dataDir", "dataLogDir"):
        d = host.file(cfg[key])
        assert d.is_directory and d.user == "zookeeper" and d.mode == 0o750, cfg[key]
    myid = host.file(f"{cfg['dataDir']}/myid")
    assert myid.user == "zookeeper"
    servers = {k.split(".")[1]: v.split(":")[0] for k, v in cfg.items()
               if k.startswith("server.")}
    mine = myid.content_string.strip()
    if servers:
        # myid must name the server line that carries this host's own address.
        addresses = host.check_output("hostname -I").split()
        assert servers[mine] in addresses, (mine, servers, addresses)
    assert cfg["4lw.commands.whitelist"] == "srvr,mntr,ruok"
    assert cfg["admin.enableServer"] == "false"
    # Debian's tools read the formula's config through the alternatives link.
    assert host.file("/etc/zookeeper/conf").linked_to == CONFIG_DIR


def verify_ports(host):
    cfg = zoo_cfg(host)
    port = cfg["clientPort"]
    bound = cfg.get("clientPortAddress")
    if bound:
        # The member's cluster address only, not every address of the host.
        assert host.socket(f"tcp://{bound}:{port}").is_listening, f"nothing on {bound}:{port}"
        assert not host.socket(f"tcp://0.0.0.0:{port}").is_listening
        assert not host.socket(f"tcp://:::{port}").is_listening
    else:
        assert host.socket(f"tcp://0.0.0.0:{port}").is_listening or host.socket(
            f"tcp://:::{port}").is_listening
    # The admin server (8080 by default) is off.
    assert not host.socket("tcp://0.0.0.0:8080").is_listening
    assert not host.socket("tcp://:::8080").is_listening
    answer = host.check_output(
        "bash -c 'exec 3<>/dev/tcp/%s/%s; printf srvr >&3; cat <&3'", bound or "127.0.0.1", port)
    assert "Mode: " in answer, answer


ALL = (verify_service, verify_files, verify_ports)
