"""What every daemon shares: its log file, SIGTERM handling, the host name it reports."""

import logging
import signal
import socket
import sys
import threading
import time

from . import NOTICE, VERSION, config

FORMAT = "%(asctime)s.%(msecs)03d %(name)s %(threadName)s [%(levelname)s] %(message)s"


def setup_logging(path, also_stderr=True):
    """Log to `path` (Storm's <logs>/<daemon>.log) and to stderr (the journal)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handlers = [logging.FileHandler(path)]
    if also_stderr:
        handlers.append(logging.StreamHandler(sys.stderr))
    formatter = logging.Formatter(FORMAT, datefmt="%Y-%m-%d %H:%M:%S")
    root = logging.getLogger()
    for handler in handlers:
        handler.setFormatter(formatter)
        root.addHandler(handler)
    root.setLevel(logging.INFO)
    logging.getLogger("kazoo").setLevel(logging.WARNING)


def start(conf, name):
    """Set up <logs>/<name>.log and SIGTERM/SIGINT; returns (logger, stop event)."""
    setup_logging(config.log_dir(conf) / f"{name}.log")
    log = logging.getLogger(f"stormstandin.{name}")
    log.info("Starting %s: Storm %s stand-in. %s", name, VERSION, NOTICE)
    stop = threading.Event()

    def on_signal(signum, _frame):
        log.info("Received %s, shutting down", signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    return log, stop


def hostname(conf):
    """storm.local.hostname, else the canonical host name (as Storm's Utils.hostname)."""
    return conf.get("storm.local.hostname") or socket.getfqdn()


def now():
    return int(time.time())


def pretty_uptime(secs):
    """Storm UI's format: '5m 58s', '3h 0m 0s', '1d 0h 0m 0s'."""
    secs = max(0, int(secs))
    days, rest = divmod(secs, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, seconds = divmod(rest, 60)
    parts = [(days, "d"), (hours, "h"), (minutes, "m"), (seconds, "s")]
    while len(parts) > 1 and parts[0][0] == 0:
        parts.pop(0)
    return " ".join(f"{value}{unit}" for value, unit in parts)
