"""
Run on the nimbus host by bench/storm.py with the workers' conda Python (which has
streamparse's Thrift client): pause, resume or kill topologies through Nimbus's Thrift API.

    nimbus_ctl.py HOST PORT activate|deactivate|kill NAME...

Prints ``{name: status}`` afterwards (``null`` for a topology Nimbus no longer lists).
The bench interleaves its designs by resuming one topology at a time: a deactivated
spout gets no ``next`` calls, what it has in flight is still acked.
"""

import json
import sys

from streamparse.thrift import storm_thrift
from thriftpy2.protocol import TBinaryProtocolFactory
from thriftpy2.rpc import make_client
from thriftpy2.transport import TFramedTransportFactory


def main(host, port, op, names):
    client = make_client(storm_thrift.Nimbus, host, int(port),
                         proto_factory=TBinaryProtocolFactory(),
                         trans_factory=TFramedTransportFactory(), timeout=30000)
    try:
        for name in names:
            if op == "activate":
                client.activate(name)
            elif op == "deactivate":
                client.deactivate(name)
            elif op == "kill":
                client.killTopologyWithOpts(name, storm_thrift.KillOptions(wait_secs=0))
            else:
                raise SystemExit(f"nimbus_ctl: unknown operation {op!r}")
        listed = {t.name: t.status for t in client.getClusterInfo().topologies or []}
        return {name: listed.get(name) for name in names}
    finally:
        client.close()


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:])))
