"""ZooKeeper: the quorum from storm.yaml and Storm's znode layout under storm.zookeeper.root.

    <root>/nimbuses/<host>:<port>          EPHEMERAL   NimbusSummary (uptime_secs = start)
    <root>/leader-lock/_c_<uuid>-latch-N   EPH. SEQ.   "host:port" (Curator LeaderLatch)
    <root>/supervisors/<supervisor-id>     EPHEMERAL   SupervisorInfo
    <root>/storms/<topology-id>            persistent  StormBase
    <root>/assignments/<topology-id>       persistent  Assignment
    <root>/errors/<topology-id>/<comp>/eN  persistent  ErrorInfo
Data is Storm's own encoding: gzip of the Thrift binary protocol.
"""

import logging

from kazoo.client import KazooClient
from kazoo.exceptions import NodeExistsError, NoNodeError
from kazoo.retry import KazooRetry

from .stormthrift import from_bytes, to_bytes

SUBDIRS = ("storms", "assignments", "supervisors", "nimbuses", "leader-lock", "errors",
           "workerbeats", "blobstore", "credentials", "logconfigs", "backpressure")


class ZkUnavailable(Exception):
    pass


class Cluster:
    """A kazoo session plus Storm's paths; all paths absolute (root prefix, no chroot)."""

    def __init__(self, conf, name):
        servers = ",".join(f"{h}:{conf['storm.zookeeper.port']}"
                           for h in conf["storm.zookeeper.servers"])
        self.root = conf["storm.zookeeper.root"].rstrip("/")
        self.log = logging.getLogger(f"stormstandin.{name}.zk")
        retry = {"delay": conf["storm.zookeeper.retry.interval"] / 1000.0,
                 "max_delay": conf["storm.zookeeper.retry.intervalceiling.millis"] / 1000.0}
        self.client = KazooClient(
            hosts=servers, timeout=conf["storm.zookeeper.session.timeout"] / 1000.0,
            connection_retry=KazooRetry(max_tries=-1, **retry),
            command_retry=KazooRetry(max_tries=conf["storm.zookeeper.retry.times"], **retry),
            logger=self.log)
        self.connect_timeout = conf["storm.zookeeper.connection.timeout"] / 1000.0
        self.servers = servers

    def start(self):
        try:
            self.client.start(timeout=self.connect_timeout)
        except Exception as exc:
            self.client.stop()
            raise ZkUnavailable(f"cannot reach ZooKeeper at {self.servers} within "
                                f"{self.connect_timeout:g}s: {exc}") from exc
        for sub in SUBDIRS:
            self.client.ensure_path(self.path(sub))
        return self

    def stop(self):
        try:
            self.client.stop()
            self.client.close()
        except Exception as exc:  # shutting down anyway
            self.log.debug("zk stop: %s", exc)

    def path(self, *parts):
        return "/".join([self.root, *parts])

    def children(self, *parts, watch=None):
        try:
            return sorted(self.client.get_children(self.path(*parts), watch=watch))
        except NoNodeError:
            return []

    def read(self, cls, *parts):
        """The decoded struct at the path, or None when the node does not exist."""
        try:
            data, _ = self.client.get(self.path(*parts))
        except NoNodeError:
            return None
        return from_bytes(cls, data) if data else None

    def write(self, obj, *parts):
        """Create or overwrite a persistent node with the encoded struct."""
        path, data = self.path(*parts), to_bytes(obj)
        try:
            self.client.set(path, data)
        except NoNodeError:
            try:
                self.client.create(path, data, makepath=True)
            except NodeExistsError:
                self.client.set(path, data)

    def register(self, obj, *parts):
        """Create or refresh an EPHEMERAL node owned by this session.

        A node left by a previous process (same id, session not yet expired) is replaced,
        not updated: it would vanish when that old session expires.
        """
        path, data = self.path(*parts), to_bytes(obj)
        try:
            _, stat = self.client.get(path)
            if stat.ephemeralOwner == self.client.client_id[0]:
                self.client.set(path, data)
                return
            self.client.delete(path)
        except NoNodeError:
            pass
        self.client.create(path, data, ephemeral=True, makepath=True)

    def delete(self, *parts):
        try:
            self.client.delete(self.path(*parts), recursive=True)
        except NoNodeError:
            pass
