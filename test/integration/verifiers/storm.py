"""
Verifiers of one Storm host (testinfra ``host``), reusable from Test Kitchen.  What a host
should run is read from its own storm.yaml and units, not from the test.
"""

import yaml

CONFIG = "/etc/storm/storm.yaml"
# The classes Apache's bin/storm runs for each daemon: what must be running, nothing else.
MAIN_CLASS = {
    "nimbus": "org.apache.storm.daemon.nimbus.Nimbus",
    "supervisor": "org.apache.storm.daemon.supervisor.Supervisor",
    "ui": "org.apache.storm.daemon.ui.UIServer",
    "logviewer": "org.apache.storm.daemon.logviewer.LogviewerServer",
    "drpc": "org.apache.storm.daemon.drpc.DRPCServer",
}


def storm_yaml(host):
    return yaml.safe_load(host.file(CONFIG).content_string)


def daemons(host):
    units = host.check_output("ls /etc/systemd/system/ | grep '^storm-.*\\.service$' || true")
    # storm-firewall loads the formula's nftables table: not a Storm daemon.
    return [u[len("storm-"):-len(".service")] for u in units.split()
            if u != "storm-firewall.service"]


def verify_files(host):
    conf = host.file(CONFIG)
    assert conf.user == "root" and conf.group == "storm" and conf.mode == 0o640
    data = storm_yaml(host)
    for key in ("storm.local.dir", "storm.log.dir"):
        d = host.file(data[key])
        assert d.is_directory and d.user == "storm" and d.mode == 0o750, key
    assert data["storm.local.hostname"] in host.check_output("hostname -I").split()
    current = host.file("/opt/storm/current")
    assert current.is_symlink and current.linked_to.startswith("/opt/storm/apache-storm-")
    release = host.file("/opt/storm/current/RELEASE")
    assert release.user == "root" and release.content_string.strip() in current.linked_to
    for name in ("cluster", "worker"):
        xml = host.file(f"/etc/storm/log4j2/{name}.xml")
        assert xml.user == "root" and xml.group == "storm" and xml.mode == 0o640, name
    assert data["storm.log4j2.conf.dir"] == "/etc/storm/log4j2"
    assert data["storm.metricstore.rocksdb.location"].startswith(data["storm.local.dir"])


def verify_own_name_resolves(host):
    """Nimbus calls getLocalHost() before it reads storm.local.hostname."""
    name = host.check_output("hostname")
    assert storm_yaml(host)["storm.local.hostname"] in host.check_output(
        f"getent ahostsv4 {name} | cut -d' ' -f1 | sort -u").split()


def verify_services(host):
    running = daemons(host)
    assert running, "no storm-* unit on this host"
    for daemon in running:
        service = host.service(f"storm-{daemon}")
        assert service.is_enabled and service.is_running, daemon
        unit = host.file(f"/etc/systemd/system/storm-{daemon}.service").content_string
        assert "User=storm" in unit and "Restart=on-failure" in unit and "LimitNOFILE=" in unit
        pid = host.check_output(f"systemctl show -p MainPID --value storm-{daemon}")
        assert host.check_output(f"ps -o user= -p {pid}") == "storm", daemon
        # Apache's daemon class in a JVM the unit started itself (no bin/storm, python3).
        argv = host.check_output(f"tr '\\0' ' ' < /proc/{pid}/cmdline")
        assert argv.split()[0].endswith("/bin/java"), argv[:200]
        assert argv.split()[-1] == MAIN_CLASS[daemon], argv[-200:]
        assert "-Dstorm.home=/opt/storm/apache-storm-" in argv
        if daemon == "supervisor":
            # Workers must outlive a supervisor restart.
            assert "KillMode=process" in unit


def verify_ports(host):
    data = storm_yaml(host)
    expected = {"nimbus": data.get("nimbus.thrift.port", 6627), "ui": data.get("ui.port", 8080),
                "logviewer": data.get("logviewer.port", 8000)}
    for daemon in daemons(host):
        if daemon in expected:
            port = expected[daemon]
            # The UI listens where ui.host says (the formula's default: loopback only).
            where = data.get("ui.host", "0.0.0.0") if daemon == "ui" else "0.0.0.0"
            assert (host.socket(f"tcp://{where}:{port}").is_listening
                    or host.socket(f"tcp://:::{port}").is_listening), (daemon, where, port)


def verify_firewall(host):
    """Where the formula wrote its nftables table, the unit is active and the table is
    loaded, ending in the reset for everyone not let in (storm:firewall)."""
    if not host.file("/etc/storm/firewall.nft").exists:
        return
    assert host.service("storm-firewall").is_enabled
    assert host.run("systemctl is-active storm-firewall").stdout.strip() == "active"
    table = host.check_output("nft list table inet storm_formula")
    assert "reject with tcp reset" in table, table
    assert "iifname \"lo\" accept" in table, table


ALL = (verify_files, verify_own_name_resolves, verify_services, verify_ports,
       verify_firewall)
