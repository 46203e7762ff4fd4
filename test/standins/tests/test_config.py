"""bin/storm and storm.yaml: version, bad keys and bad types stop a daemon with the key
named, before it touches ZooKeeper."""

import pytest
import yaml
from standin_helpers import StormCluster, free_port, wait_for


@pytest.fixture
def storm(storm_home, tmp_path):
    return StormCluster(storm_home, tmp_path, zk_port=1, root="/unused")


def write_conf(tmp_path, keys):
    (tmp_path / "storm.yaml").write_text(yaml.safe_dump(keys))
    return tmp_path


def test_version(storm, tmp_path, is_standin):
    result = storm.run(write_conf(tmp_path, {}), "version")
    assert result.returncode == 0, result.stderr
    assert "Storm 2.8.8" in result.stdout
    if is_standin:
        assert "stand-in" in result.stdout and "not an Apache release" in result.stdout


def test_unknown_key_stops_the_daemon_naming_it(storm, tmp_path, standin_only):
    conf = write_conf(tmp_path, {"storm.zookeeper.servers": ["127.0.0.1"],
                                 "nimbus.host": "old-style-key"})
    result = storm.run(conf, "nimbus", timeout=30)
    assert result.returncode != 0
    assert "nimbus.host" in result.stderr


@pytest.mark.parametrize("key, value", [
    ("storm.zookeeper.port", "not-a-port"),
    ("storm.zookeeper.servers", "zk1"),
    ("supervisor.slots.ports", [6700, "6701"]),
    ("nimbus.seeds", "nimbus1"),
    ("ui.port", 70000),
])
def test_wrong_type_stops_the_daemon_naming_the_key(storm, tmp_path, standin_only, key,
                                                    value):
    result = storm.run(write_conf(tmp_path, {key: value}), "supervisor", timeout=30)
    assert result.returncode != 0
    assert key in result.stderr


def test_config_file_and_overrides(storm, tmp_path, standin_only):
    other = tmp_path / "other.yaml"
    other.write_text(yaml.safe_dump({"nimbus.thrift.port": 7777}))
    result = storm.run(write_conf(tmp_path, {}), "--config", str(other), "-c",
                       "ui.port=9999", "localconfvalue", "nimbus.thrift.port")
    assert result.stdout.strip() == "nimbus.thrift.port: 7777", result.stderr
    result = storm.run(tmp_path, "-c", "ui.portt=1", "localconfvalue", "ui.port")
    assert result.returncode != 0 and "ui.portt" in result.stderr


def test_storm_env_sh_is_sourced_for_the_log_dir(storm, tmp_path):
    """bin/storm sources $STORM_CONF_DIR/storm-env.sh: its STORM_LOG_DIR moves the logs
    (the formula sets it there).  A logviewer needs no ZooKeeper, so it shows this alone."""
    logs = tmp_path / "elsewhere"
    conf = write_conf(tmp_path, {"logviewer.port": free_port()})
    (conf / "storm-env.sh").write_text(f"export STORM_LOG_DIR={logs}\n")
    proc = storm.start("logviewer", conf)
    try:
        wait_for(lambda: (logs / "logviewer.log").exists(), 60, "logviewer.log in STORM_LOG_DIR")
    finally:
        assert storm.stop(proc) in (0, 143)
