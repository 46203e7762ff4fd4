"""`storm drpc`: starts, listens on drpc.port, and answers every DistributedRPC call with
a DRPCExecutionException saying DRPC is not implemented by the stand-in (the formula
keeps DRPC off by default; this only lets a unit that starts it be tested)."""

from . import daemon
from .stormthrift import ThriftServer, storm

MESSAGE = "DRPC is not implemented by the Storm stand-in (test equipment)"


class DrpcHandler:
    def execute(self, functionName, funcArgs):  # the IDL's names
        raise storm.DRPCExecutionException(msg=f"{MESSAGE}: {functionName}")


def main(conf):
    log, stop = daemon.start(conf, "drpc")
    server = ThriftServer(storm.DistributedRPC, DrpcHandler(), conf["drpc.port"])
    server.start()
    log.info("DRPC serving 0.0.0.0:%d; %s", conf["drpc.port"], MESSAGE)
    stop.wait()
    server.close()
    log.info("DRPC stopped")
