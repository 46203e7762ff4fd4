"""
The state of a Storm cluster from its UI REST API (``/api/v1/...``, field names as in
Storm's docs/STORM-UI-REST-API.md): cluster, nimbuses (Leader / Not a Leader / Offline),
supervisors with their slots, topologies with their status.
"""

import json
import urllib.error
import urllib.request

from salt.exceptions import CommandExecutionError

__virtualname__ = "storm_ui"


def __virtual__():
    return __virtualname__


def get(ui_url, path, timeout=5):
    """
    GET ``<ui_url>/api/v1/<path>`` and return the decoded JSON.

    CLI Example:

    .. code-block:: bash

        salt nimbus1 storm_ui.get http://10.0.0.21:8080 cluster/summary
    """
    url = f"{ui_url.rstrip('/')}/api/v1/{path.lstrip('/')}"
    try:
        with urllib.request.urlopen(url, timeout=timeout) as answer:
            return json.loads(answer.read().decode("utf-8"))
    except (OSError, urllib.error.URLError, ValueError) as exc:
        raise CommandExecutionError(f"Storm UI {url}: {exc}") from None


def summary(ui_url, timeout=5):
    """
    Everything an operator checks first, in one call: ``cluster`` (cluster/summary),
    ``nimbuses``, ``leader`` (host:port or None), ``supervisors``, ``topologies``.

    CLI Example:

    .. code-block:: bash

        salt nimbus1 storm_ui.summary http://10.0.0.21:8080
    """
    nimbuses = get(ui_url, "nimbus/summary", timeout).get("nimbuses", [])
    leaders = [f"{n['host']}:{n['port']}" for n in nimbuses if n.get("status") == "Leader"]
    return {
        "cluster": get(ui_url, "cluster/summary", timeout),
        "nimbuses": nimbuses,
        "leader": leaders[0] if len(leaders) == 1 else None,
        "supervisors": get(ui_url, "supervisor/summary", timeout).get("supervisors", []),
        "topologies": get(ui_url, "topology/summary", timeout).get("topologies", []),
    }
