"""
Verifiers of one Storm host (testinfra ``host``), reusable from Test Kitchen.  What a host
should run is read from its own storm.yaml and units, not from the test.
"""

import yaml

CONFIG = "/etc/storm/storm.yaml"


def storm_yaml(host):
    return yaml.safe_load(host.file(CONFIG).content_string)


def daemons(host):
    units = host.check_output("ls /etc/systemd/system/ | grep '^storm-.*\\.service$' || true")
    return [u[len("storm-"):-len(".service")] for u in units.split()]


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
    assert host.file("/opt/storm/current/bin/storm").user == "root"


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


def verify_ports(host):
    data = storm_yaml(host)
    expected = {"nimbus": data.get("nimbus.thrift.port", 6627), "ui": data.get("ui.port", 8080),
                "logviewer": data.get("logviewer.port", 8000)}
    for daemon in daemons(host):
        if daemon in expected:
            port = expected[daemon]
            assert (host.socket(f"tcp://0.0.0.0:{port}").is_listening
                    or host.socket(f"tcp://:::{port}").is_listening), (daemon, port)


ALL = (verify_files, verify_services, verify_ports)
