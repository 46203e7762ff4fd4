"""Two nimbus seeds: one leads, the other is "Not a Leader" and takes over when the
leader is SIGKILLed and its ZooKeeper session (storm.zookeeper.session.timeout) ends."""

import signal
import time

from standin_helpers import api, free_port, wait_for

ROOT = "/t-failover"
SESSION_MS = 3000


def statuses(ui_port):
    return {n["port"]: n["status"] for n in api(ui_port, "nimbus/summary")["nimbuses"]}


def test_second_nimbus_takes_over_when_the_leader_dies(cluster_factory, zk_client):
    c = cluster_factory(ROOT)
    first, second, ui = free_port(), free_port(), free_port()
    session = {"storm.zookeeper.session.timeout": SESSION_MS}
    leader = c.start("nimbus", c.conf("nimbus1", **session, **{"nimbus.thrift.port": first}))
    wait_for(lambda: zk_client.exists(f"{ROOT}/nimbuses/127.0.0.1:{first}"), 60,
             "the first nimbus to register")
    # Both nimbuses run on 127.0.0.1, so they differ by port; the UI reaches the cluster
    # through the second one's port and follows getLeader to the first.
    conf2 = c.conf("nimbus2", **session, **{"nimbus.thrift.port": second, "ui.port": ui})
    c.start("nimbus", conf2)
    c.start("ui", conf2)
    wait_for(lambda: statuses(ui) == {first: "Leader", second: "Not a Leader"}, 60,
             "nimbus summary: first Leader, second Not a Leader")
    assert len(zk_client.get_children(f"{ROOT}/leader-lock")) == 2

    killed = time.time()
    c.stop(leader, signal.SIGKILL)
    wait_for(lambda: statuses(ui) == {second: "Leader"}, SESSION_MS / 1000 + 30,
             "the second nimbus to lead alone")
    took = time.time() - killed
    assert not zk_client.exists(f"{ROOT}/nimbuses/127.0.0.1:{first}")
    assert len(zk_client.get_children(f"{ROOT}/leader-lock")) == 1
    # Not before the dead leader's session expired, not long after.
    assert SESSION_MS / 1000 * 0.5 < took < SESSION_MS / 1000 + 20, took
