"""Small helpers shared by the lab modules: commands, waits, processes, progress."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path


class LabError(RuntimeError):
    """Something of the lab did not work; the message says what and shows its log."""


def run(cmd, check=True, capture=True, **kw) -> subprocess.CompletedProcess:
    """Run a machine-side command; on failure raise LabError with its output."""
    res = subprocess.run(
        [str(c) for c in cmd],
        text=True,
        stdout=subprocess.PIPE if capture else None,
        stderr=subprocess.PIPE if capture else None,
        **kw,
    )
    if check and res.returncode != 0:
        out = ((res.stdout or "") + (res.stderr or "")).strip()[-3000:]
        raise LabError(f"command failed ({res.returncode}): {' '.join(map(str, cmd))}\n{out}")
    return res


def tail(path, lines=30) -> str:
    """Last lines of a log file, for error messages."""
    try:
        data = Path(path).read_bytes()[-20000:].decode(errors="replace")
    except OSError as exc:
        return f"(no log {path}: {exc.strerror})"
    return "\n".join(data.splitlines()[-lines:])


def wait_until(what, predicate, timeout, log=None, interval=0.5):
    """Poll predicate() until it returns a true value; bounded, with a clear error.

    predicate may raise LabError to give up early (e.g. the process died).
    """
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            msg = f"timed out after {timeout:.0f}s waiting for {what}"
            if log:
                msg += f"\n--- tail of {log} ---\n{tail(log)}"
            raise LabError(msg)
        time.sleep(interval)


class Progress:
    """Prints one line per finished phase with the elapsed seconds since start."""

    def __init__(self, stream=None):
        self.start = time.monotonic()
        self.last = self.start
        self.stream = stream or sys.stderr
        self.phases = {}

    def done(self, phase, detail=""):
        now = time.monotonic()
        self.phases[phase] = round(now - self.last, 1)
        print(
            f"[lab {now - self.start:6.1f}s] {phase} (+{now - self.last:.1f}s) {detail}".rstrip(),
            file=self.stream,
            flush=True,
        )
        self.last = now


# ---- processes -----------------------------------------------------------------

def start_daemon(cmd, log_path, env=None) -> subprocess.Popen:
    """Start a background process in its own session (so a Ctrl-C or the caller's
    process group being killed does not take it down) with output to log_path."""
    Path(log_path).parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "ab") as log:
        return subprocess.Popen(
            [str(c) for c in cmd],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env=env,
            close_fds=True,
        )


def proc_starttime(pid):
    """Start time (clock ticks since boot) of pid, or None if gone; with the pid it
    identifies a process even after pid reuse."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat[stat.rindex(")") + 2:].split()
    if fields[0] == "Z":  # a zombie is as good as gone
        return None
    return int(fields[19])


def alive(pid, starttime=None) -> bool:
    if not pid:
        return False
    st = proc_starttime(pid)
    return st is not None and (starttime is None or st == starttime)


def cmdline(pid) -> list:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return []
    return [a.decode(errors="replace") for a in raw.split(b"\0") if a]


def all_pids():
    return [int(p) for p in os.listdir("/proc") if p.isdigit()]


def ppid(pid):
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return int(stat[stat.rindex(")") + 2:].split()[1])


def reap(pid):
    """Collect a child's exit status if it is ours (avoids zombies in long sessions)."""
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass


def kill_wait(pid, starttime=None, sig=signal.SIGTERM, timeout=10.0, group=False) -> bool:
    """Send sig (to the process group if group), wait up to timeout, then SIGKILL.
    Returns True when the process is gone."""
    if not alive(pid, starttime):
        return True
    try:
        if group:
            os.killpg(pid, sig)
        else:
            os.kill(pid, sig)
    except ProcessLookupError:
        return True
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        reap(pid)
        if not alive(pid, starttime):
            return True
        time.sleep(0.2)
    try:
        if group:
            os.killpg(pid, signal.SIGKILL)
        else:
            os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        return True
    for _ in range(50):
        reap(pid)
        if not alive(pid, starttime):
            return True
        time.sleep(0.1)
    return False
