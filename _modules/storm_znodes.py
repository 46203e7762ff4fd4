"""
The Storm cluster's znodes (``storm.zookeeper.root``, /storm by default), for
``storm.clean`` with ``remove_state``: storm.local.dir and the znodes must go together.

Needs the kazoo Python package where the salt-minion runs (Salt 3008 no longer ships its
own zookeeper modules).
"""

try:
    from kazoo.client import KazooClient

    HAS_KAZOO = True
except ImportError:
    HAS_KAZOO = False

__virtualname__ = "storm_znodes"


def __virtual__():
    if HAS_KAZOO:
        return __virtualname__
    return (False, "storm_znodes needs the kazoo Python package for the salt-minion")


def _client(hosts, timeout, auth=None):
    # ``auth``: the daemons' digest payload (``user:password``), without which the znodes
    # of a cluster with storm:zookeeper_auth refuse to be read or removed.
    client = KazooClient(hosts=hosts, timeout=timeout,
                         auth_data=[("digest", auth)] if auth else None)
    client.start(timeout=timeout)
    return client


def exists(hosts, root="/storm", timeout=10, auth=None):
    """
    Whether ``root`` exists on the ZooKeeper ensemble ``hosts`` (``h1:2181,h2:2181``).

    CLI Example:

    .. code-block:: bash

        salt nimbus1 storm_znodes.exists 10.0.0.11:2181,10.0.0.12:2181 /storm
    """
    client = _client(hosts, timeout, auth)
    try:
        return client.exists(root) is not None
    finally:
        client.stop()


def remove(hosts, root="/storm", timeout=10, auth=None):
    """
    Remove ``root`` and everything under it; True when something was removed.

    CLI Example:

    .. code-block:: bash

        salt nimbus1 storm_znodes.remove 10.0.0.11:2181 /storm
    """
    if root in ("", "/"):
        raise ValueError("refusing to remove the ZooKeeper root")
    client = _client(hosts, timeout, auth)
    try:
        if client.exists(root) is None:
            return False
        client.delete(root, recursive=True)
        return True
    finally:
        client.stop()
