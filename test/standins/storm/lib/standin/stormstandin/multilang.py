"""Storm's multilang protocol, the JSON serializer (ShellProcess + JsonSerializer).

Every message is one JSON document followed by a line `end`.  Storm starts the component
as argv [execution_command, script] in the topology's resources directory, sends
{conf, pidDir, context} and reads back {"pid": N} (the component also touches
pidDir/<pid>).  Afterwards a reader thread queues whatever the component sends, so the
caller can wait with a timeout and notice a silent subprocess.
"""

import json
import logging
import queue
import subprocess
import threading
import time

EOF = object()


class ShellDied(Exception):
    """The subprocess exited, closed its pipes or broke the protocol."""


class ShellProcess:
    def __init__(self, argv, cwd, env, name):
        self.argv, self.cwd, self.env, self.name = argv, cwd, env, name
        self.log = logging.getLogger(f"ShellLog.{name}")
        self.messages = queue.Queue()
        self.write_lock = threading.Lock()
        self.last_message = time.time()
        self.proc = None
        self.pid = None

    def launch(self, conf, context, pid_dir, timeout):
        """Start the subprocess and do the handshake; returns the pid it reported."""
        try:
            self.proc = subprocess.Popen(self.argv, cwd=self.cwd, env=self.env,
                                         stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                         stderr=subprocess.PIPE)
        except OSError as exc:
            raise ShellDied(f"cannot run {self.argv}: {exc}") from exc
        threading.Thread(target=self._read_stdout, name=f"{self.name}-stdout",
                         daemon=True).start()
        threading.Thread(target=self._read_stderr, name=f"{self.name}-stderr",
                         daemon=True).start()
        self.send({"conf": conf, "pidDir": str(pid_dir), "context": context})
        reply = self.receive(timeout)
        if not isinstance(reply, dict) or "pid" not in reply:
            raise ShellDied(f"bad handshake reply {reply!r}")
        self.pid = reply["pid"]
        return self.pid

    def send(self, message):
        data = (json.dumps(message, default=str) + "\nend\n").encode()
        with self.write_lock:
            try:
                self.proc.stdin.write(data)
                self.proc.stdin.flush()
            except (BrokenPipeError, ValueError, OSError) as exc:
                raise ShellDied(f"cannot write to subprocess: {exc}") from exc

    def receive(self, timeout):
        """The next message, or None after `timeout` seconds of silence."""
        try:
            message = self.messages.get(timeout=timeout)
        except queue.Empty:
            return None
        if message is EOF:
            self.messages.put(EOF)  # every later receive fails the same way
            raise ShellDied(f"subprocess exited (code {self.proc.poll()})")
        return message

    def _read_stdout(self):
        lines = []
        try:
            for raw in self.proc.stdout:
                line = raw.decode("utf-8", "replace")
                if line.rstrip("\n") == "end":
                    text = "".join(lines).strip()
                    lines = []
                    if not text:
                        continue
                    self.last_message = time.time()
                    self.messages.put(json.loads(text))
                else:
                    lines.append(line)
        except (ValueError, OSError) as exc:
            self.log.error("Bad message from subprocess: %s", exc)
        self.messages.put(EOF)

    def _read_stderr(self):
        for raw in self.proc.stderr:
            self.log.info("%s", raw.decode("utf-8", "replace").rstrip())

    def kill(self, grace=1.0):
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(grace)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)
