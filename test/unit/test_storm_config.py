"""storm_config without a render: Storm's own types from the generated key list, the
release table (lines, Java minimum, key lists), and the launcher's command line."""

import pytest
import yaml
from modloader import ROOT, load
from salt.exceptions import CommandExecutionError
from settings_harness import Render, example

KEYS = yaml.safe_load((ROOT / "storm/parameters/storm_keys/2.8.3.yaml").read_text())["keys"]
RELEASES = yaml.safe_load((ROOT / "storm/parameters/releases.yaml").read_text())
DEFAULTS = yaml.safe_load((ROOT / "storm/parameters/defaults.yaml").read_text())["values"]


@pytest.fixture
def config():
    return load("_modules", "storm_config")


def test_the_shipped_settings_have_storms_types(config):
    """What the formula, pillar.example and the lab ship pass Storm's own validators."""
    example = yaml.safe_load((ROOT / "pillar.example").read_text())["storm"]["config"]
    lab = {"worker.heap.memory.mb": 384, "topology.worker.max.heap.size.mb": 512.0}
    for key, value in {**DEFAULTS["config"], **example, **lab}.items():
        config.check_type(key, value, KEYS[key])


@pytest.mark.parametrize("key,value,message", [
    ("worker.heap.memory.mb", "768", "'768' (string) is not a whole number"),
    ("topology.message.timeout.secs", "3m", "'3m' (string) is not a whole number"),
    ("topology.workers", 2.5, "2.5 (float) is not a whole number"),
    ("nimbus.thrift.port", [6627], "[6627] (list) is not a whole number"),
    ("nimbus.thrift.port", -1, "-1 (int) is not a positive number"),
    ("topology.debug", "false", "'false' (string) is not true or false"),
    ("drpc.servers", "h1", "'h1' (string) is not a list of strings"),
    ("isolation.scheduler.machines", {"host": "x"},
     "is not a mapping of String to Number"),
    ("nimbus.executors.perTopology", -1, "-1 (int) is not a number of 0 or more"),
])
def test_values_storm_would_refuse_are_refused_naming_key_and_value(config, key, value,
                                                                    message):
    with pytest.raises(CommandExecutionError) as refused:
        config.check_type(key, value, KEYS[key])
    assert str(refused.value).startswith(f"storm:config:{key}: ")
    assert message in str(refused.value)
    assert str(refused.value).endswith("Storm 2.8.3 refuses it for this key")


def test_storms_own_leniency_is_kept(config):
    # Storm's IntegerValidator takes an integral float; a null passes unless NotNull.
    config.check_type("topology.workers", 2.0, KEYS["topology.workers"])
    config.check_type("topology.workers", None, KEYS["topology.workers"])
    assert "NotNull" in KEYS["drpc.request.timeout.secs"]["validators"]
    with pytest.raises(CommandExecutionError, match="is empty; Storm 2.8.3 needs a value"):
        config.check_type("drpc.request.timeout.secs", None, KEYS["drpc.request.timeout.secs"])


def settings(**overrides):
    return {"version": "2.8.3", "java": {"version": 17}, **overrides}


def test_release_lines_and_java(config):
    info = config.release(settings(), RELEASES)
    assert (info["line"], info["keys"], info["java"]) == ("2.8", "2.8.3", 11)
    with pytest.raises(CommandExecutionError,
                       match=r"^storm:java:version: Java 17 is older than Storm 3.1's "
                             r"minimum, Java 25"):
        config.release(settings(version="3.1.0"), RELEASES)
    with pytest.raises(CommandExecutionError,
                       match=r"^storm:version: 3.1.0: the formula ships no key list"):
        config.release(settings(version="3.1.0", java={"version": 25}), RELEASES)
    # A quoted version is the schema's to refuse, before the release is looked up.
    with pytest.raises(CommandExecutionError,
                       match=r"^storm:java:version: '17' \(string\) is not a whole number"):
        Render({**example(), "storm": {"java": {"version": "17"}}}).map("storm")
    # Every line names a key list that exists, or none.
    for line, known in RELEASES["lines"].items():
        if known["keys"]:
            assert (ROOT / f"storm/parameters/storm_keys/{known['keys']}.yaml").exists(), line
            assert known["keys"].startswith(line + "."), line


def launched(config, daemon, lib_common=False, childopts="-Xmx256m"):
    resolved = {"archive": {"home": "/opt/storm/apache-storm-3.1.0"}, "config_dir": "/etc/storm",
                "log_dir": "/var/log/storm", "java": {"home": "/usr/lib/jvm/j25"},
                "storm_yaml": {f"{daemon}.childopts": childopts}}
    main = RELEASES["daemons"][daemon]["main"]
    return config.launch(resolved, daemon, main, RELEASES["daemons"][daemon]["webapp"],
                         lib_common)


def test_3x_classpath_has_lib_common_and_webapp_daemons_lib_webapp(config):
    argv = launched(config, "ui", lib_common=True)["argv"]
    home = "/opt/storm/apache-storm-3.1.0"
    assert argv[argv.index("-cp") + 1].split(":") == [
        f"{home}/*", f"{home}/lib-common/*", f"{home}/lib/*", f"{home}/extlib/*",
        f"{home}/extlib-daemon/*", f"{home}/lib-webapp/*", "/etc/storm"]
    assert argv[-1] == "org.apache.storm.daemon.ui.UIServer"
    # Storm's default java.library.path when storm.yaml does not set one.
    assert "-Djava.library.path=/usr/local/lib:/opt/local/lib:/usr/lib:/usr/lib64" in argv


def test_childopts_as_a_list_keep_their_spaces(config):
    launch = launched(config, "nimbus", childopts=["-Xmx1g", "-Dmsg=two words"])
    assert launch["argv"][2:4] == ["-Xmx1g", "-Dmsg=two words"]
    assert ' "-Dmsg=two words" ' in launch["exec_start"]
