"""
A streamparse topology submitted to the leader nimbus, and its output seen on the workers.

``submitted`` builds the project's jar (a reproducible zip of ``resources/``, no
Leiningen), computes the deployment's fingerprint (jar + the configuration Storm gets,
and the model version when ``model_change: resubmit``), and compares it with the
fingerprint the running topology carries in its configuration.  The same one, ACTIVE, is
left alone (INACTIVE: the state fails asking for `storm activate`, since someone paused
it on purpose).  A different one is kept (``if_changed: keep``) or replaced: ``sparse kill``
with a wait, a bounded wait until Storm has removed it, ``sparse submit -j``, and a
bounded wait for ACTIVE.  With ``model_change: follow`` (the default) a new model version
needs no resubmission: the classifier switches to it when ``current`` moves.

``predictions_seen`` waits (bounded) on a worker until the sink writes new predictions
there (with the expected model version); a host that runs no sink task passes.
"""

import os
import time

from salt.exceptions import CommandExecutionError

__virtualname__ = "storm_topology"
# As in the storm_topology execution module, which reads it back from the UI.
FINGERPRINT_KEY = "salt.fingerprint"


def __virtual__():
    if "storm_topology.running" in __salt__ and "storm_nimbus.topology" in __salt__:
        return __virtualname__
    return (False, "the storm_topology and storm_nimbus execution modules are not loaded")


def _until(check, timeout, interval):
    """Poll check() -> (done, detail) until done or timeout; returns (done, detail)."""
    deadline = time.monotonic() + float(timeout)
    while True:
        try:
            done, detail = check()
        except CommandExecutionError as exc:
            done, detail = False, str(exc)
        if done or time.monotonic() >= deadline:
            return done, detail
        time.sleep(float(interval))


def submitted(name, project, nimbus_seeds, virtualenv_root, virtualenv_name,
              options=None, workers=1, nimbus_port=6627, model_version=None,
              model_change="follow", if_changed="replace", kill_wait=30, workdir=None,
              environment="prod", worker_hosts=None, timeout=180, interval=3,
              submit_timeout=300, definition=None, zookeeper_payload=None):
    """
    Ensure the topology ``name`` from the streamparse project directory ``project`` runs
    ACTIVE with this code and configuration.  ``definition`` is the project's topology
    definition, ``topologies/<definition>.py`` (default: ``name``), so that one project can
    run under several names (sparse's ``-N``).  ``zookeeper_payload`` (``user:password``)
    is the digest identity its workers log in to ZooKeeper with, required by a cluster
    whose daemons authenticate; it reaches Storm through config.json (mode 0600) only,
    never a command line, the state's output or the fingerprint.

    .. code-block:: yaml

        iris:
          storm_topology.submitted:
            - project: /opt/storm/topologies/iris/project
            - nimbus_seeds: [10.0.0.21]
            - virtualenv_root: /opt/conda/envs
            - virtualenv_name: storm-worker
            - options: {iris.batch.size: 16}
            - workers: 2
    """
    ret = {"name": name, "changes": {}, "result": False, "comment": ""}
    mod = __salt__
    workdir = workdir or os.path.dirname(project.rstrip("/"))
    sparse = os.path.join(virtualenv_root, virtualenv_name, "bin", "sparse")
    python = os.path.join(virtualenv_root, virtualenv_name, "bin", "python")
    conf = dict(options or {}, **{"topology.workers": int(workers)})
    identity = dict(conf, virtualenv=os.path.join(virtualenv_root, virtualenv_name))
    if zookeeper_payload:
        # Turning authentication on replaces a topology submitted without it.
        conf["storm.zookeeper.topology.auth.scheme"] = "digest"
        identity["storm.zookeeper.topology.auth.scheme"] = "digest"
    if model_change == "resubmit" and model_version is not None:
        identity["model.version"] = str(model_version)
    jar = os.path.join(workdir, f"{name}.jar")
    if __opts__["test"] and not os.path.isdir(project):
        ret["result"] = None
        ret["comment"] = f"would copy the project to {project} and submit {name}"
        return ret
    try:
        wanted = mod["storm_topology.fingerprint"](
            mod["storm_topology.code_digest"](project), identity)
        current = mod["storm_topology.running"](nimbus_seeds, name, nimbus_port)
    except CommandExecutionError as exc:
        ret["comment"] = str(exc)
        return ret

    if current and current["status"] != "KILLED" and current["fingerprint"] == wanted:
        if current["status"] == "ACTIVE":
            ret["result"] = True
            ret["comment"] = f"{name} ({current['id']}) is ACTIVE with fingerprint {wanted}"
            return ret
        if current["status"] == "INACTIVE":
            # Deactivated by someone on purpose (the UI, `storm deactivate`): not ours to
            # undo, nor to replace.  Say so at once instead of waiting.
            ret["comment"] = (f"{name} ({current['id']}) runs this deployment but is "
                              f"INACTIVE; activate it (`storm activate {name}` or the UI) "
                              "and re-run")
            return ret
        # REBALANCING: Storm is mid-operation; wait for ACTIVE rather than kill it.
        return _active(ret, nimbus_seeds, nimbus_port, name, timeout, interval,
                       f"{name} is {current['status']}")
    if current and current["status"] != "KILLED" and if_changed == "keep":
        ret["result"] = True
        ret["comment"] = (f"{name} ({current['id']}) runs fingerprint "
                          f"{current['fingerprint']}, the pillar's is {wanted}; kept as "
                          "if_changed: keep says")
        return ret
    verb = "replace" if current else "submit"
    if __opts__["test"]:
        ret["result"] = None
        ret["comment"] = f"would {verb} {name} (fingerprint {wanted})"
        ret["changes"] = {"fingerprint": {"old": (current or {}).get("fingerprint"),
                                          "new": wanted}}
        return ret

    config = os.path.join(workdir, "config.json")
    try:
        os.makedirs(workdir, exist_ok=True)
        mod["storm_topology.build_jar"](project, jar, python)
        nimbus = mod["storm_topology.leader"](nimbus_seeds, nimbus_port)
        secret = ({"storm.zookeeper.topology.auth.payload": zookeeper_payload}
                  if zookeeper_payload else {})
        mod["storm_topology.config_json"](config, nimbus, virtualenv_root, virtualenv_name,
                                          dict(conf, **secret), environment, worker_hosts)
        common = ["-e", environment, "--config", config, "-n", name]
        if current and current["status"] != "KILLED":
            mod["storm_topology.sparse"](sparse, project,
                                         ["kill", *common, "--wait", str(kill_wait)])
        # sparse submit finds topologies/<-n>.py and names the topology -N.
        named = ["-e", environment, "--config", config, "-n", definition or name]
        named += ["-N", name] if definition and definition != name else []
        if current:
            gone, detail = _until(
                lambda: (mod["storm_topology.running"](nimbus_seeds, name, nimbus_port) is None,
                         f"{name} is still listed"),
                float(kill_wait) + float(timeout), interval)
            if not gone:
                ret["comment"] = f"killed {name} but it was not removed: {detail}"
                return ret
        mod["storm_topology.sparse"](
            sparse, project,
            ["submit", *named, "-j", jar, "-w", str(int(workers)),
             "-o", f"{FINGERPRINT_KEY}={wanted}"],
            timeout=submit_timeout)
    except CommandExecutionError as exc:
        ret["comment"] = str(exc)
        return ret
    ret["changes"] = {"fingerprint": {"old": (current or {}).get("fingerprint"),
                                      "new": wanted},
                      "topology": {"old": (current or {}).get("id"), "new": None}}
    ret = _active(ret, nimbus_seeds, nimbus_port, name, timeout, interval,
                  f"{verb}ed {name} on {nimbus}")
    try:
        now = mod["storm_topology.running"](nimbus_seeds, name, nimbus_port)
        ret["changes"]["topology"]["new"] = (now or {}).get("id")
    except CommandExecutionError:
        pass
    return ret


def _active(ret, seeds, port, name, timeout, interval, what):
    def check():
        now = __salt__["storm_topology.running"](seeds, name, port)
        status = (now or {}).get("status", "absent")
        return status == "ACTIVE", f"{name}: {status}"
    done, detail = _until(check, timeout, interval)
    ret["result"] = done
    ret["comment"] = (f"{what}; {detail}" if done
                      else f"{what}; not ACTIVE after {timeout}s: {detail}")
    return ret


# Storm's executor counters move in 60 s metrics buckets: a stream is idle only when they
# stood still for longer than one.
IDLE_WINDOW = 75


def predictions_seen(name, results_path, nimbus_seeds, host, component="sink",
                     model_version=None, nimbus_port=6627, timeout=120, interval=2,
                     idle_window=IDLE_WINDOW):
    """
    Wait until the sink of topology ``name`` writes new predictions into
    ``results_path`` (``{task}`` matches every task's file) on this host, with
    ``model_version`` when given.  Passes at once where no ``component`` task runs on
    ``host`` (this host's storm.local.hostname), and when the stream is idle: the
    topology's components emitted nothing and failed nothing for ``idle_window`` seconds
    by Storm's own counters (a healthy cluster whose input has stopped has nothing to
    classify).  Tuples failed while waiting are reported.  Changes nothing.

    .. code-block:: yaml

        iris-predictions:
          storm_topology.predictions_seen:
            - name: iris
            - results_path: /var/lib/storm/iris/predictions-{task}.jsonl
            - nimbus_seeds: [10.0.0.21]
            - host: 10.0.0.31
    """
    ret = {"name": name, "changes": {}, "result": False, "comment": ""}
    mod = __salt__
    try:
        current = mod["storm_topology.running"](nimbus_seeds, name, nimbus_port)
    except CommandExecutionError as exc:
        ret["comment"] = str(exc)
        return ret
    if not current or current["status"] != "ACTIVE":
        ret["comment"] = f"{name} is {(current or {}).get('status', 'not running')}"
        ret["result"] = None if __opts__["test"] else False
        return ret

    # ACTIVE comes before the assignment: wait until the component is placed (Nimbus
    # writes a topology's assignment whole), or "no task on this host" would be said of
    # every host.
    def placed():
        now = mod["storm_topology.running"](nimbus_seeds, name, nimbus_port) or {
            "placed": {}, "tasks": {}}
        current.update(now)
        total = now["tasks"].get(component, 0)
        return bool(total), f"{total} {component} tasks of {name} assigned"
    done, detail = _until(placed, 0 if __opts__["test"] else timeout, interval)
    if not done:
        ret["result"] = None if __opts__["test"] else False
        ret["comment"] = f"not after {timeout}s: {detail}"
        return ret
    tasks = current["placed"].get(host, {}).get(component, 0)
    if not tasks:
        ret["result"] = True
        ret["comment"] = f"no {component} task of {name} runs on {host}"
        return ret
    since = mod["storm_topology.sizes"](results_path)
    wanted = None if model_version is None else str(model_version)
    # (emitted, failed, since when) by Storm's counters: the stream's motion.
    still = {}

    def counts():
        now = mod["storm_topology.running"](nimbus_seeds, name, nimbus_port) or {}
        return (sum((now.get("emitted") or {}).values()),
                sum((now.get("failed") or {}).values()), now.get("status"))

    def check():
        records = mod["storm_topology.new_records"](results_path, since)
        good = [r for r in records if wanted is None or str(r.get("model_version")) == wanted]
        labelled = [r for r in good if r.get("label") is not None]
        right = sum(r.get("prediction") == r.get("label") for r in labelled)
        accuracy = f", {right}/{len(labelled)} correct" if labelled else ""
        version = f" with model version {wanted}" if wanted else ""
        emitted, failed, status = counts()
        if status != "ACTIVE":
            return False, f"{name} is {status or 'not running'}"
        failures = failed - still.setdefault("failed", failed)
        lost = f"; {failures} tuples failed meanwhile (Storm's counters)" if failures else ""
        if good:
            return True, (f"{len(good)} new predictions{version} from {tasks} {component} "
                          f"task(s) on {host}{accuracy}{lost}")
        # Idle means nothing moved at all: a failure (a timeout, a replay) is motion.
        if still.get("emitted") != (emitted, failed):
            still.update(emitted=(emitted, failed), since=time.monotonic())
        quiet = time.monotonic() - still["since"]
        if quiet >= float(idle_window):
            return True, (f"stream idle: {name} emitted and failed nothing for "
                          f"{quiet:.0f}s (Storm's counters); no new predictions to check")
        return False, (f"no new predictions{version} in {results_path} ({len(records)} other "
                       f"new lines); {name}'s counters last moved {quiet:.0f}s ago")
    done, detail = _until(check, 0 if __opts__["test"] else timeout, interval)
    ret["result"] = done if done or not __opts__["test"] else None
    ret["comment"] = detail if done else f"not after {timeout}s: {detail}"
    return ret
