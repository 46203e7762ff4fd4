"""
What `kitchen verify` runs against a converged container (kitchen.yml's shell verifier):

    pytest test/kitchen --hosts=ssh://kitchen@<host>:<port> --ssh-identity-file=... --sudo

Kitchen exports the suite as KITCHEN_SUITE, which picks the checks below.  Without it (any
other pytest run, `make test` included) everything here is skipped.

The host checks are the lab's own (test/integration/verifiers); the few added here are
what only a one-host suite can assert.  Versions, ports and addresses come from the host
and the repository (the suite's pillar, the formulas' defaults), not from constants here.
"""

import json
import os
import pathlib
import re

import pytest
import yaml
from verifiers import storm, zookeeper

ROOT = pathlib.Path(__file__).resolve().parents[2]
SUITE = os.environ.get("KITCHEN_SUITE")
PIN = re.compile(r"^([A-Za-z0-9_.-]+)==?([0-9][0-9A-Za-z.]*)$")

pytestmark = [pytest.mark.kitchen,
              pytest.mark.skipif(not SUITE, reason="runs from `kitchen verify` (KITCHEN_SUITE)")]


def suite_pillar(name):
    return yaml.safe_load((ROOT / "test/kitchen/pillar" / SUITE / name).read_text())


def srvr(host):
    port = zookeeper.zoo_cfg(host)["clientPort"]
    return host.check_output(
        "bash -c 'exec 3<>/dev/tcp/127.0.0.1/%s; printf srvr >&3; cat <&3'", port)


def standalone_member(host):
    """A 1-member ensemble: no server.N lines, myid 1, and the server says standalone."""
    cfg = zookeeper.zoo_cfg(host)
    assert not [key for key in cfg if key.startswith("server.")], cfg
    assert host.file(f"{cfg['dataDir']}/myid").content_string.strip() == "1"
    assert "Mode: standalone" in srvr(host)


def archive_release(host):
    """The server is Apache's release at the pillar's version, from its versioned directory
    behind `current`, not Debian's package."""
    version = str(suite_pillar("zookeeper.sls")["zookeeper"]["archive"]["version"])
    home = host.file(f"/opt/zookeeper/apache-zookeeper-{version}-bin")
    assert home.is_directory and home.user == "root"
    assert host.file("/opt/zookeeper/current").linked_to == home.path
    assert "/opt/zookeeper/current/lib/*" in host.file(
        f"{zookeeper.CONFIG_DIR}/zookeeper-env").content_string
    assert f"Zookeeper version: {version}" in srvr(host)


def one_host_in_every_role(host):
    """nimbus, ui, supervisor and logviewer here, and storm.yaml points every role at this
    host's own address."""
    assert sorted(storm.daemons(host)) == ["logviewer", "nimbus", "supervisor", "ui"]
    conf = storm.storm_yaml(host)
    me = conf["storm.local.hostname"]
    assert conf["storm.zookeeper.servers"] == [me] and conf["nimbus.seeds"] == [me], conf


def ui_sees_leader_and_supervisor(host):
    """The UI's REST API: this host is the leader nimbus and the one supervisor, with all
    the slots storm.yaml gives it."""
    conf = storm.storm_yaml(host)
    me, port = conf["storm.local.hostname"], conf.get("ui.port", 8080)

    def get(path):
        return json.loads(host.check_output(f"curl -sf http://127.0.0.1:{port}/api/v1/{path}"))

    nimbuses = get("nimbus/summary")["nimbuses"]
    assert [(n["host"], n["status"]) for n in nimbuses] == [(me, "Leader")], nimbuses
    supervisors = get("supervisor/summary")["supervisors"]
    assert [(s["host"], s["slotsTotal"]) for s in supervisors] == [
        (me, len(conf["supervisor.slots.ports"]))], supervisors


def worker_environment_pins(host):
    """The conda formula's default environments, with the versions its defaults pin."""
    values = yaml.safe_load((ROOT / "conda/parameters/defaults.yaml").read_text())["values"]
    code = ("import importlib.metadata as m, json, platform, sys; "
            "print(json.dumps({'python': platform.python_version(), "
            "**{d: m.version(d) for d in sys.argv[1:]}}))")
    for name, env in values["environments"].items():
        # name=1.2 (conda) or name==1.2 (pip); ranges and bare names pin nothing.
        pins = dict(m.groups() for m in map(PIN.match, env["packages"] + env.get("pip", []))
                    if m)
        dists = [d for d in pins if d != "python"]
        have = json.loads(host.check_output(
            f"{values['prefix']}/envs/{name}/bin/python -c %s" + " %s" * len(dists),
            code, *dists))
        for dist, pin in pins.items():
            # conda's `=` matches a prefix: python=3.11 is any 3.11.x.
            assert have[dist] == pin or have[dist].startswith(pin + "."), (name, dist, have)


CHECKS = {
    "zookeeper": (*zookeeper.ALL, standalone_member),
    # verify_files expects Debian's /etc/zookeeper/conf alternatives link, which only the
    # package install registers (the lab's archive test leaves it out too).
    "zookeeper-archive": (zookeeper.verify_service, zookeeper.verify_ports,
                          standalone_member, archive_release),
    "storm-single": (*zookeeper.ALL, standalone_member, *storm.ALL, one_host_in_every_role,
                     ui_sees_leader_and_supervisor, worker_environment_pins),
}
CASES = [(suite, check) for suite, checks in CHECKS.items() for check in checks
         if SUITE not in CHECKS or suite == SUITE]


def label(check):
    """zookeeper.verify_files, storm.verify_files, standalone_member ..."""
    module = check.__module__
    return f"{module.split('.')[-1]}.{check.__name__}" if module.startswith("verifiers") \
        else check.__name__


def test_suite_has_checks():
    assert SUITE in CHECKS, f"no checks for Kitchen suite {SUITE!r}; add it to CHECKS"


@pytest.mark.parametrize(("suite", "check"), CASES,
                         ids=[f"{suite}-{label(check)}" for suite, check in CASES])
def test_instance(host, suite, check):
    if suite != SUITE:
        pytest.skip(f"a check of suite {suite}")
    check(host)
