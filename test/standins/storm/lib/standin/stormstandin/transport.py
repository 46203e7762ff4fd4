"""Messages between workers: each worker listens on its slot port (as Storm's Netty
transport does) and takes newline-delimited JSON {"task": N, "msg": {...}}.

Delivery is best effort, as in Storm: a message to an unreachable worker is dropped and
the spout's tuple times out and is failed (and replayed by a reliable spout).
"""

import json
import logging
import queue
import socket
import threading
import time

log = logging.getLogger("stormstandin.transport")
QUEUE_LIMIT = 100000
CONNECT_TIMEOUT = 5.0


class Transport:
    def __init__(self, port, deliver, stop, bind_timeout=15.0):
        self.deliver, self.stop = deliver, stop
        self.senders = {}
        self.lock = threading.Lock()
        self.server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        deadline = time.time() + bind_timeout
        while True:  # a previous worker on this slot may still be exiting
            try:
                self.server.bind(("0.0.0.0", port))
                break
            except OSError:
                if time.time() > deadline:
                    raise
                time.sleep(0.5)
        self.server.listen(64)
        self.server.settimeout(0.5)

    def start(self):
        threading.Thread(target=self._accept, name="transport-accept", daemon=True).start()

    def _accept(self):
        while not self.stop.is_set():
            try:
                conn, _ = self.server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            threading.Thread(target=self._receive, args=(conn,), daemon=True).start()

    def _receive(self, conn):
        with conn, conn.makefile("rb") as stream:
            for line in stream:
                try:
                    item = json.loads(line)
                    self.deliver(item["task"], item["msg"])
                except (ValueError, KeyError) as exc:
                    log.warning("Dropping a bad message: %s", exc)

    def send(self, host, port, task, message):
        with self.lock:
            sender = self.senders.get((host, port))
            if sender is None:
                sender = self.senders[(host, port)] = _Sender(host, port, self.stop)
        sender.put(json.dumps({"task": task, "msg": message}).encode() + b"\n")

    def close(self):
        self.server.close()


class _Sender:
    def __init__(self, host, port, stop):
        self.address, self.stop = (host, port), stop
        self.queue = queue.Queue(QUEUE_LIMIT)
        threading.Thread(target=self._run, name=f"send-{host}:{port}", daemon=True).start()

    def put(self, data):
        try:
            self.queue.put_nowait(data)
        except queue.Full:
            log.warning("Send queue to %s:%s full, dropping a message", *self.address)

    def _run(self):
        sock, delay = None, 0.1
        while not self.stop.is_set():
            try:
                data = self.queue.get(timeout=0.5)
            except queue.Empty:
                continue
            while sock is None and not self.stop.is_set():
                try:
                    sock = socket.create_connection(self.address, timeout=CONNECT_TIMEOUT)
                    sock.settimeout(30.0)
                    delay = 0.1
                except OSError as exc:
                    log.warning("Cannot reach worker %s:%s (%s); retrying", *self.address, exc)
                    time.sleep(delay)
                    delay = min(delay * 2, 5.0)
            try:
                sock.sendall(data)
            except (OSError, AttributeError) as exc:
                log.warning("Lost connection to %s:%s (%s); a message dropped", *self.address,
                            exc)
                if sock is not None:
                    sock.close()
                sock = None
