"""Storm's Thrift IDL (storm.thrift, as streamparse ships it) loaded with thriftpy2.

Also: Storm's znode/blob encoding (GzipThriftSerializationDelegate: gzip of the binary
protocol), a threaded framed-transport server, and the client side that finds the leader
nimbus the way Storm's NimbusClient does (ask each seed for getLeader).
"""

import contextlib
import gzip
import logging
import socket
import struct
import threading

import thriftpy2
from thriftpy2.protocol import TBinaryProtocolFactory
from thriftpy2.rpc import make_client
from thriftpy2.thrift import TApplicationException, TProcessor, TType
from thriftpy2.transport import TFramedTransportFactory, TSocket, TTransportException
from thriftpy2.utils import serialize

from . import PACKAGE_DIR

storm = thriftpy2.load(str(PACKAGE_DIR / "storm.thrift"), module_name="storm_thrift")
# Map keys must hash by value (thriftpy2 structs hash by identity), as streamparse does.
storm.GlobalStreamId.__hash__ = lambda self: hash((self.componentId, self.streamId))

log = logging.getLogger("stormstandin.thrift")


def to_bytes(obj):
    """Storm's GzipThriftSerializationDelegate: gzip(TBinaryProtocol(obj))."""
    return gzip.compress(serialize(obj, TBinaryProtocolFactory()), mtime=0)


def from_bytes(cls, data):
    return decode(cls, gzip.decompress(data))


# thriftpy2 cannot read maps keyed by lists (Assignment.executor_node_port), so reading
# uses this small binary-protocol decoder that turns list keys into tuples.
_SCALARS = {TType.BYTE: ">b", TType.I16: ">h", TType.I32: ">i", TType.I64: ">q",
            TType.DOUBLE: ">d"}


class _Reader:
    def __init__(self, data):
        self.data, self.pos = data, 0

    def take(self, n):
        chunk = self.data[self.pos:self.pos + n]
        if len(chunk) != n:
            raise ValueError("truncated Thrift data")
        self.pos += n
        return chunk

    def unpack(self, fmt):
        return struct.unpack(fmt, self.take(struct.calcsize(fmt)))


def _hashable(value):
    if isinstance(value, list):
        return tuple(_hashable(v) for v in value)
    if isinstance(value, set):
        return frozenset(value)
    return value


def _value(r, wire, tspec):
    kind, sub = (tspec, None) if isinstance(tspec, int) else tspec
    if wire == TType.BOOL:
        return r.take(1) != b"\x00"
    if wire in _SCALARS:
        return r.unpack(_SCALARS[wire])[0]
    if wire == TType.STRING:
        raw = r.take(r.unpack(">i")[0])
        return raw if kind == TType.BINARY else raw.decode("utf-8", "replace")
    if wire == TType.STRUCT:
        return _struct(r, sub if kind == TType.STRUCT else None)
    if wire == TType.MAP:
        ktype, vtype, size = r.unpack(">bbi")
        kspec, vspec = sub if sub else (ktype, vtype)
        return {_hashable(_value(r, ktype, kspec)): _value(r, vtype, vspec) for _ in range(size)}
    if wire in (TType.LIST, TType.SET):
        etype, size = r.unpack(">bi")
        items = [_value(r, etype, sub if sub else etype) for _ in range(size)]
        return {_hashable(i) for i in items} if wire == TType.SET else items
    raise ValueError(f"unknown Thrift type {wire}")


def _struct(r, cls):
    obj = cls() if cls else None
    while True:
        (wire,) = r.unpack(">b")
        if wire == TType.STOP:
            return obj
        (fid,) = r.unpack(">h")
        fspec = cls.thrift_spec.get(fid) if cls else None
        if fspec is None:
            _value(r, wire, wire)  # a field this IDL does not know: skip it
            continue
        tspec = fspec[0] if len(fspec) == 3 else (fspec[0], fspec[2])
        setattr(obj, fspec[1], _value(r, wire, tspec))


def decode(cls, data):
    return _struct(_Reader(data), cls)


class _Processor(TProcessor):
    """Undeclared exceptions become TApplicationException INTERNAL_ERROR replies (as a
    Java Thrift server answers) instead of a dropped connection."""

    def process(self, iprot, oprot):
        api, seqid, result, call = self.process_in(iprot)
        if isinstance(result, TApplicationException):
            return self.send_exception(oprot, api, result, seqid)
        try:
            result.success = call()
        except TApplicationException as exc:
            return self.send_exception(oprot, api, exc, seqid)
        except Exception as exc:  # every failure must reach the client
            if not self.handle_exception(exc, result):
                log.warning("%s failed: %s", api, exc)
                error = TApplicationException(TApplicationException.INTERNAL_ERROR, str(exc))
                return self.send_exception(oprot, api, error, seqid)
        if not result.oneway:
            self.send_result(oprot, api, result, seqid)


class ThriftServer:
    """Framed transport, binary protocol, one thread per connection, all addresses.

    Binds in the constructor (a busy port fails the daemon at start) and, unlike
    thriftpy2's own server, without SO_REUSEPORT: two daemons must not share a port.
    """

    def __init__(self, service, handler, port, host="0.0.0.0", client_timeout=600.0):
        self.processor = _Processor(service, handler)
        self.client_timeout = client_timeout
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((host, port))
        self.sock.listen(128)
        self.sock.settimeout(0.5)
        self.closed = threading.Event()

    def serve(self):
        while not self.closed.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            except OSError:
                if self.closed.is_set():
                    return
                raise
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def start(self):
        threading.Thread(target=self.serve, name="thrift-server", daemon=True).start()

    def _handle(self, conn):
        conn.settimeout(self.client_timeout)
        trans = TFramedTransportFactory().get_transport(TSocket(sock=conn))
        prot = TBinaryProtocolFactory().get_protocol(trans)
        try:
            while not self.closed.is_set():
                self.processor.process(prot, prot)
        except (TTransportException, OSError, EOFError):
            pass
        except Exception as exc:  # a bad client must not kill the daemon
            log.warning("thrift connection failed: %s", exc)
        finally:
            conn.close()

    def close(self):
        self.closed.set()
        self.sock.close()


class NimbusUnavailable(Exception):
    pass


@contextlib.contextmanager
def client(service, host, port, timeout_ms=10000):
    c = make_client(service, host, port, proto_factory=TBinaryProtocolFactory(),
                    trans_factory=TFramedTransportFactory(), timeout=timeout_ms)
    try:
        yield c
    finally:
        c.close()


@contextlib.contextmanager
def leader_client(conf, timeout_ms=10000):
    """Connect to the leader nimbus: ask each of nimbus.seeds for getLeader, as Storm."""
    port = conf["nimbus.thrift.port"]
    errors = []
    for seed in conf["nimbus.seeds"]:
        try:
            with client(storm.Nimbus, seed, port, timeout_ms) as c:
                leader = c.getLeader()
        except Exception as exc:  # try the next seed, report all
            errors.append(f"{seed}:{port}: {exc}")
            continue
        with client(storm.Nimbus, leader.host, leader.port, timeout_ms) as c:
            yield c
        return
    raise NimbusUnavailable("no leader nimbus reachable through nimbus.seeds: "
                            + "; ".join(errors))
