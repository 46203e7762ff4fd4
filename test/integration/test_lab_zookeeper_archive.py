"""
The archive install path on a real host: the formula downloads Apache's layout from the
master's file server, verifies it against an old-format (gpg --print-md) .sha512 file and
its .asc signature by a pinned key, unpacks it into a versioned directory, links
`current`, and runs a standalone server.
"""

import pytest
from orchestrate import run
from verifiers import zookeeper as verifiers

pytestmark = [pytest.mark.lab, pytest.mark.lab_topology("test/lab_topologies/zk1_archive.yaml")]


@pytest.fixture(scope="module")
def standalone(lab):
    import subprocess
    import sys

    from lab import config
    subprocess.run([sys.executable, str(config.REPO_ROOT / "test/standins/build_zookeeper.py"),
                    "--out", str(config.REPO_ROOT / "build/standins")], check=True)
    lab.salt_run("saltutil.sync_all", check=True)
    first = run(lab)
    assert first.ok, first.describe()
    lab.collect_artifacts()
    return lab


def test_versioned_install_with_current_link(standalone):
    host = standalone.testinfra_host("zka")
    home = host.file("/opt/zookeeper/apache-zookeeper-3.8.0-bin")
    assert home.is_directory and home.user == "root"
    assert host.file("/opt/zookeeper/apache-zookeeper-3.8.0-bin/STANDIN.txt").exists
    assert host.file("/opt/zookeeper/current").linked_to == home.path
    env = host.file("/etc/zookeeper/conf.cluster/zookeeper-env").content_string
    assert "/opt/zookeeper/current/lib/*" in env


def test_the_release_signature_was_checked_against_the_pinned_key(standalone):
    from lab import config
    pinned = (config.REPO_ROOT / "build/standins/KEYS.fingerprint").read_text().strip()
    marker = "/opt/zookeeper/.checksums/apache-zookeeper-3.8.0-bin.tar.gz.sha512.signed"
    assert standalone.exec("zka", f"cat {marker}").stdout.strip() == pinned


def test_a_release_not_signed_by_a_pinned_key_is_refused_and_nothing_changes(standalone):
    """Pinning another key makes the host check the release again, and refuse it: the
    install and its checksum stay as they were."""
    import json
    before = standalone.exec("zka", "readlink /opt/zookeeper/current").stdout
    other = {"zookeeper": {"archive": {"signature": {"fingerprints": ["A" * 40]}}}}
    ret = standalone.salt("zka", "state.apply", "zookeeper.install",
                          f"pillar={json.dumps(other)}", timeout=300)["zka"]
    checksum = next(v for k, v in ret.items() if "checksum_file" in k)
    assert checksum["result"] is False and "no key pinned" in checksum["comment"], checksum
    assert standalone.exec("zka", "readlink /opt/zookeeper/current").stdout == before


@pytest.mark.parametrize("verify", [verifiers.verify_service, verifiers.verify_ports],
                         ids=lambda f: f.__name__)
def test_standalone_server(standalone, verify):
    verify(standalone.testinfra_host("zka"))


def test_standalone_mode(standalone):
    state = standalone.salt("zka", "zookeeper_quorum.status", "10.77.0.41")["zka"]
    assert state["serving"] and state["mode"] == "standalone", state


def test_second_run_changes_nothing(standalone):
    again = run(standalone)
    assert again.ok, again.describe()
    assert again.changed_states() == []
