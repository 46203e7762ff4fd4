"""bin/storm's command line: the daemons and the few client commands the formula uses.

    storm [--config FILE] [-c key=value ...] COMMAND [ARGS]

Daemons run in the foreground (systemd Type=simple) and exit 0 on SIGTERM.  A bad
storm.yaml (unknown key, wrong type) makes any command exit 1 with the key named.
"""

import errno
import json
import os
import pathlib
import subprocess
import sys

from . import NOTICE, VERSION, config

USAGE = """Usage: storm [--config FILE] [-c key=value ...] COMMAND [ARGS]

Commands of this stand-in (Storm {version}):
  nimbus | supervisor | ui | logviewer | drpc   run that daemon in the foreground
  version                                       print the version
  list                                          list the topologies (nimbus Thrift)
  kill NAME [-w SECS]                           kill a topology after SECS seconds
  activate NAME | deactivate NAME               change a topology's status
  localconfvalue KEY | remoteconfvalue KEY      print a configuration value
{notice}
"""
DAEMONS = ("nimbus", "supervisor", "ui", "logviewer", "drpc")


def split_global(argv):
    """Pull --config FILE and -c key=value out of argv, wherever they are."""
    config_file, overrides, rest = None, [], []
    args = iter(argv)
    for arg in args:
        if arg == "--config":
            config_file = next(args, None)
        elif arg.startswith("--config="):
            config_file = arg.split("=", 1)[1]
        elif arg == "-c":
            overrides.append(next(args, ""))
        else:
            rest.append(arg)
    return config_file, overrides, rest


def source_storm_env():
    """Like Apache's bin/storm: source $STORM_CONF_DIR/storm-env.sh (default conf/) and
    take the variables it exports (STORM_LOG_DIR above all; JAVA_HOME is unused)."""
    conf_dir = os.environ.get("STORM_CONF_DIR") or str(config.STORM_HOME / "conf")
    script = pathlib.Path(conf_dir) / "storm-env.sh"
    if not script.is_file():
        return
    try:
        out = subprocess.run(["bash", "-c", '. "$1" >/dev/null 2>&1; env -0', "storm-env",
                              str(script)], capture_output=True, timeout=10, check=True).stdout
    except (OSError, subprocess.SubprocessError) as exc:
        print(f"storm: warning: could not source {script}: {exc}", file=sys.stderr)
        return
    for item in out.decode(errors="replace").split("\0"):
        key, sep, value = item.partition("=")
        if sep and key not in ("_", "SHLVL", "PWD", "OLDPWD") and os.environ.get(key) != value:
            os.environ[key] = value


def fail(message, code=1):
    print(f"storm: {message}", file=sys.stderr)
    return code


def run_daemon(name, conf, config_args):
    from .stormthrift import NimbusUnavailable
    from .zk import ZkUnavailable

    try:
        if name == "supervisor":
            from .supervisor import main as daemon_main

            daemon_main(conf, config_args)
        else:
            module = __import__(f"stormstandin.{name}", fromlist=["main"])
            module.main(conf)
    except (ZkUnavailable, NimbusUnavailable) as exc:
        return fail(f"{name}: {exc}")
    except OSError as exc:
        hint = " (is the port already in use?)" if exc.errno == errno.EADDRINUSE else ""
        return fail(f"{name}: {exc}{hint}")
    return 0


def client_command(command, args, conf):
    from .stormthrift import NimbusUnavailable, leader_client, storm

    try:
        with leader_client(conf) as c:
            if command == "list":
                topologies = c.getClusterInfo().topologies
                if not topologies:
                    print("No topologies running.")
                    return 0
                row = "{:<20} {:<10} {:<10} {:<12} {:<12} {:<30} {:<10}"
                print(row.format("Topology_name", "Status", "Num_tasks", "Num_workers",
                                 "Uptime_secs", "Topology_Id", "Owner"))
                print("-" * 108)
                for t in topologies:
                    print(row.format(t.name, t.status, t.num_tasks, t.num_workers,
                                     t.uptime_secs, t.id, t.owner or ""))
            elif command == "remoteconfvalue":
                value = json.loads(c.getNimbusConf()).get(args[0])
                print(f"{args[0]}: {value}")
            elif command == "kill":
                wait = int(args[args.index("-w") + 1]) if "-w" in args else None
                c.killTopologyWithOpts(args[0], storm.KillOptions(wait_secs=wait))
                print(f"Killed topology: {args[0]}")
            else:
                getattr(c, command)(args[0])
                print(f"{command.capitalize()}d topology: {args[0]}")
    except NimbusUnavailable as exc:
        return fail(str(exc))
    except storm.NotAliveException as exc:
        return fail(f"{exc.msg}")
    except (IndexError, ValueError):
        return fail(f"{command}: missing or bad arguments", 2)
    return 0


def main(argv=None):
    config_file, overrides, rest = split_global(sys.argv[1:] if argv is None else argv)
    if not rest or rest[0] in ("help", "-h", "--help"):
        print(USAGE.format(version=VERSION, notice=NOTICE))
        return 0
    command, args = rest[0], rest[1:]
    source_storm_env()
    if command == "version":
        print(f"Storm {VERSION}")
        print(NOTICE)
        return 0
    known = (*DAEMONS, "list", "kill", "activate", "deactivate", "localconfvalue",
             "remoteconfvalue", "__worker")
    if command not in known:
        return fail(f"'{command}' is not implemented by this Storm stand-in "
                    "(see `storm help`)", 2)
    try:
        conf = config.load(config_file, overrides)
    except config.ConfigError as exc:
        return fail(str(exc))
    config_args = (["--config", config_file] if config_file else []) + \
        [arg for o in overrides for arg in ("-c", o)]
    if command in DAEMONS:
        return run_daemon(command, conf, config_args)
    if command == "__worker":
        from .worker import main as worker_main

        worker_main(conf, *args[:3], args[3])
        return 0
    if command == "localconfvalue":
        if not args:
            return fail("localconfvalue: which key?", 2)
        print(f"{args[0]}: {conf.get(args[0])}")
        return 0
    if command != "list" and not args:
        return fail(f"{command}: which topology?", 2)
    return client_command(command, args, conf)
