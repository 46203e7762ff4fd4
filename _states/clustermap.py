"""
Keep this host's membership record in the Salt mine current (``cluster:discovery: mine``).

Unlike a bare ``mine.update`` (which always reports a change), ``published`` compares what
the mine holds for this minion with what :func:`clustermap.node` says now and only sends
when they differ, so a converged cluster reports no changes.
"""

__virtualname__ = "clustermap"


def __virtual__():
    if "clustermap.node" in __salt__:
        return __virtualname__
    return (False, "the clustermap execution module is not synced")


def published(name, function="clustermap.node"):
    """
    Make the mine's ``function`` entry for this minion equal to its current value.

    .. code-block:: yaml

        cluster-node-published:
          clustermap.published
    """
    ret = {"name": name, "changes": {}, "result": True, "comment": ""}
    minion = __opts__["id"]
    current = __salt__["clustermap.node"]()
    held = (__salt__["mine.get"](minion, function, tgt_type="list") or {}).get(minion)
    if held == current:
        ret["comment"] = f"the mine holds this host's current record: {current}"
        return ret
    if __opts__["test"]:
        ret["result"] = None
        ret["comment"] = f"would publish {current} (mine holds {held})"
        ret["changes"] = {"old": held, "new": current}
        return ret
    if not __salt__["mine.send"](function):
        ret["result"] = False
        ret["comment"] = f"mine.send {function} failed"
        return ret
    ret["changes"] = {"old": held, "new": current}
    ret["comment"] = f"published {current}"
    return ret
