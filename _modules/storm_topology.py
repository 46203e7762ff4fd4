"""
The streamparse topologies the storm formula submits, and what they write.

``resolve`` validates pillar ``storm:topologies`` (called by storm/map.jinja, so bad input
stops the render naming the key).  The rest is what the ``storm_topology`` states and an
operator use on the hosts: build a project's jar reproducibly, the deployment fingerprint,
the running topology as the leader nimbus reports it, ``sparse`` submit and kill against the leader
nimbus, and a summary of the iris sink's prediction files on a worker.

CLI Examples:

.. code-block:: bash

    salt nimbus1 storm_topology.running 10.0.0.21 iris
    salt sup1 storm_topology.predictions /var/lib/storm/iris/predictions-{task}.jsonl
"""

import collections
import glob
import hashlib
import json
import os
import re
import subprocess

from salt.exceptions import CommandExecutionError

__virtualname__ = "storm_topology"

# The topology configuration key that carries the formula's fingerprint of a deployment
# (jar + settings [+ model version]); read back from the topology's configuration.
FINGERPRINT_KEY = "salt.fingerprint"
# What a deployment's code is: the topology definitions sparse reads on the nimbus host
# and the component sources the jar carries.
CODE_DIRS = ("topologies", "src")
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def __virtual__():
    return __virtualname__


# Set by the formula from storm:zookeeper_auth, never by a topology's options.
ZOOKEEPER_AUTH_KEYS = ("storm.zookeeper.auth.scheme", "storm.zookeeper.auth.payload",
                       "storm.zookeeper.superACL", "storm.zookeeper.topology.auth.scheme",
                       "storm.zookeeper.topology.auth.payload")


def _fail(key, message):
    raise CommandExecutionError(f"storm:topologies:{key}: {message}")


def resolve(storm, known_keys=None, sklearn_model=None):
    """
    The enabled topologies of the merged storm map (``storm:topologies``, whose keys and
    types the schema has checked) as a list, each completed with ``name``,
    ``definition`` (default: the name), ``workdir``,
    ``sparse``, ``python``, ``virtualenv_root``, ``virtualenv_name``, ``workers``
    (default: one per supervisor) and ``model_version`` (from the sklearn_model formula's
    map, ``sklearn_model``).  Storm's own keys among the ``options`` (``known_keys``, the
    release's generated list) must have the types Storm's validators take; other keys
    (``iris.*``) are the topology's own.
    """
    models = (sklearn_model or {}).get("deploy") or {}
    release = (storm.get("release") or {}).get("keys") or "2.8.3"
    resolved = []
    for name, given in sorted(storm["topologies"].items()):
        if given is None or not given.get("enabled", True):
            continue
        topo = dict(given, name=str(name))
        options = topo.get("options") or {}
        for key, value in options.items():
            if isinstance(known_keys, dict) and key in known_keys:
                __salt__["storm_config.check_type"](key, value, known_keys[key], release,
                                                    path=f"topologies:{name}:options:{key}")
        for key in options:
            if key in ZOOKEEPER_AUTH_KEYS:
                _fail(f"{name}:options:{key}", "is set by the formula from "
                      "storm:zookeeper_auth (each topology gets its own identity)")
        if FINGERPRINT_KEY in options or "topology.workers" in options:
            _fail(f"{name}:options", f"{FINGERPRINT_KEY} and topology.workers are set by "
                  "the formula (use `workers` for the number of workers)")
        model = topo.get("model")
        version = None
        if model:
            if model not in models:
                _fail(f"{name}:model", f"{model!r} is not in pillar sklearn_model:models; "
                      "add the model, or disable the topology with "
                      f"storm:topologies:{name}:enabled: false")
            version = models[model]["version"]
        supervisors = len(storm["members"]["supervisor"])
        topo.update(
            options=options,
            if_changed=topo.get("if_changed", "replace"),
            model_change=topo.get("model_change", "follow"),
            kill_wait=topo.get("kill_wait", 30),
            workers=topo.get("workers") or max(1, supervisors),
            model_version=version,
            virtualenv_root=os.path.dirname(topo["virtualenv"].rstrip("/")),
            virtualenv_name=os.path.basename(topo["virtualenv"].rstrip("/")),
            sparse=os.path.join(topo["virtualenv"], "bin", "sparse"),
            python=os.path.join(topo["virtualenv"], "bin", "python"),
            workdir=os.path.join(storm["archive"]["install_dir"], "topologies", str(name)),
            definition=str(topo.get("definition") or name),
            worker_dirs=list(topo.get("worker_dirs") or []),
            # The workers' own ZooKeeper identity, passed to sparse in config.json only.
            zookeeper_payload=(__salt__["storm_config.topology_payload"](
                storm["zookeeper_auth"], name) if storm["zookeeper_auth"]["enabled"]
                else None),
        )
        resolved.append(topo)
    return resolved


def _tail(proc, limit=1200):
    """The end of both streams, without colour codes (sparse reports errors on stdout)."""
    text = "\n".join(part.strip() for part in (proc.stdout, proc.stderr) if part.strip())
    return ANSI.sub("", text)[-limit:]


def _run(argv, what, cwd=None, timeout=300):
    env = dict(os.environ, LEIN_ROOT="1", PYTHONDONTWRITEBYTECODE="1",
               PYTHONWARNINGS="ignore")
    try:
        proc = subprocess.run(argv, cwd=cwd, env=env, timeout=timeout, capture_output=True,
                              text=True, check=False)
    except FileNotFoundError:
        raise CommandExecutionError(
            f"{argv[0]} not found: the topology's environment (conda) must be on the "
            "nimbus host too") from None
    except subprocess.TimeoutExpired:
        raise CommandExecutionError(f"{what} did not finish in {timeout}s") from None
    if proc.returncode:
        raise CommandExecutionError(f"{what} failed ({proc.returncode}): {_tail(proc)}")
    return proc.stdout


def code_digest(project):
    """
    sha256 over the project's code (``topologies/`` and ``src/``: names and contents,
    without bytecode), the part of a deployment that is neither settings nor model.
    """
    digest = hashlib.sha256()
    found = False
    for top in CODE_DIRS:
        for directory, dirs, files in os.walk(os.path.join(project, top)):
            dirs[:] = sorted(d for d in dirs if d != "__pycache__")
            for name in sorted(f for f in files if not f.endswith((".pyc", ".pyo"))):
                path = os.path.join(directory, name)
                digest.update(os.path.relpath(path, project).encode() + b"\0")
                with open(path, "rb") as handle:
                    digest.update(hashlib.sha256(handle.read()).digest())
                found = True
    if not found:
        raise CommandExecutionError(f"{project}: no topologies/ or src/ in the project")
    return digest.hexdigest()


def build_jar(project, out, python="python3"):
    """
    Build ``out`` from the streamparse project directory ``project`` with its own
    ``build_jar.py`` (a reproducible zip of ``resources/``); returns the jar's sha256.
    """
    script = os.path.join(project, "build_jar.py")
    if not os.path.isfile(script):
        raise CommandExecutionError(f"{project}: no build_jar.py in the project")
    _run([python, script, "--src", os.path.join(project, "src"), "--out", out],
         f"building {out}", timeout=120)
    with open(out, "rb") as handle:
        return hashlib.sha256(handle.read()).hexdigest()


def fingerprint(code, conf):
    """The deployment's identity: the code's digest and the settings that reach Storm."""
    text = json.dumps({"code": code, "conf": conf}, sort_keys=True, default=str)
    # Not all hex digits: sparse reads -o values as YAML, and "1e5..." would be a float.
    return "sha256-" + hashlib.sha256(text.encode()).hexdigest()[:32]


def running(seeds, name, port=6627, timeout=5):
    """
    The topology ``name`` as the leader nimbus reports it (getClusterInfo,
    getTopologyInfo, getTopologyConf over Thrift): ``None`` when not running, else
    ``id``, ``status`` (ACTIVE, INACTIVE, KILLED, REBALANCING), ``fingerprint`` (from its
    configuration, None when it was not submitted by the formula), ``placed`` (tasks per
    component on each host: {host: {component: tasks}}; empty until Storm has assigned
    it), ``tasks`` (assigned tasks per component), ``acked``/``failed``/``emitted``
    (all-time counts per component, 0 until the first 60 s metrics bucket) and
    ``errors`` (the last errors per component).

    CLI Example:

    .. code-block:: bash

        salt nimbus1 storm_topology.running 10.0.0.21 iris
    """
    found = __salt__["storm_nimbus.topology"](seeds, name, port, timeout)
    if not found:
        return None
    placed, tasks = {}, {}
    for executor in found.get("executors", []):
        component = executor["component"]
        if component.startswith("__"):
            continue
        count = executor["task_end"] - executor["task_start"] + 1
        here = placed.setdefault(executor["host"], {})
        here[component] = here.get(component, 0) + count
        tasks[component] = tasks.get(component, 0) + count
    components = found.get("components", {})
    return {"id": found["id"], "status": found["status"],
            "fingerprint": (found.get("conf") or {}).get(FINGERPRINT_KEY),
            "placed": placed, "tasks": tasks, "workers": found.get("workers", []),
            "acked": {c: v.get("acked", 0) for c, v in components.items()},
            "failed": {c: v.get("failed", 0) for c, v in components.items()},
            "emitted": {c: v.get("emitted", 0) for c, v in components.items()},
            "errors": found.get("errors", {})}


def leader(seeds, port=6627, timeout=5):
    """``host:port`` of the leader nimbus, asked over Thrift (uploads go there only)."""
    return __salt__["storm_nimbus.leader_address"](seeds, port, timeout)


def config_json(path, nimbus, virtualenv_root, virtualenv_name, options, env="prod",
                workers=None):
    """
    Write streamparse's config.json for ``env``: the leader ``nimbus`` (host:port), the
    supervisors' addresses as ``workers``, the topology ``options``; no ssh tunnel, no
    virtualenv installs (the conda environment is already on every worker).
    """
    config = {
        "serializer": "json", "topology_specs": "topologies/",
        "virtualenv_specs": "virtualenvs/",
        "envs": {env: {
            "user": "storm", "nimbus": nimbus, "workers": list(workers or []),
            "log": {"level": "info"},
            "use_ssh_for_nimbus": False, "use_virtualenv": True,
            "install_virtualenv": False, "virtualenv_root": virtualenv_root,
            "virtualenv_name": virtualenv_name, "options": options}},
    }
    tmp = f"{path}.tmp"
    # 0600: the options may carry the workers' ZooKeeper secret.
    if os.path.exists(tmp):
        os.unlink(tmp)
    with os.fdopen(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w",
                   encoding="utf-8") as handle:
        json.dump(config, handle, indent=2, sort_keys=True)
        handle.write("\n")
    os.replace(tmp, path)
    return config


def sparse(sparse_bin, project, args, timeout=300):
    """
    Run ``sparse <args>`` in the project directory (sparse imports topologies/ from the
    working directory) as root, which sparse allows only with LEIN_ROOT set.
    """
    return _run([sparse_bin, *args], f"sparse {args[0]}", cwd=project, timeout=timeout)


def predictions(path, tail=5):
    """
    Summary of the iris sink's JSON-lines files on this host: ``path`` is
    ``iris.results.path`` (``{task}`` matches every task's file).  Returns ``files``,
    ``lines``, ``labelled``, ``correct``, ``accuracy`` (None without labels),
    ``model_versions`` (count per version) and the last ``tail`` records.
    """
    pattern = path.replace("{task}", "*")
    files = sorted(glob.glob(pattern))
    summary = {"files": files, "lines": 0, "labelled": 0, "correct": 0, "bad": 0,
               "model_versions": {}, "latest": []}
    latest = []
    for name in files:
        with open(name, encoding="utf-8", errors="replace") as handle:
            last = collections.deque(maxlen=tail)
            for line in handle:
                try:
                    record = json.loads(line)
                    version = str(record["model_version"])
                except (ValueError, KeyError, TypeError):
                    summary["bad"] += 1
                    continue
                summary["lines"] += 1
                summary["model_versions"][version] = \
                    summary["model_versions"].get(version, 0) + 1
                if record.get("label") is not None:
                    summary["labelled"] += 1
                    summary["correct"] += bool(record.get("prediction") == record["label"])
                last.append(record)
            latest.extend(last)
    # Files of other tasks (or of an earlier topology) can hold older lines: the latest
    # are the newest by their time stamps, whichever file they are in.
    summary["latest"] = sorted(latest, key=lambda r: str(r.get("time", "")))[-tail:] \
        if tail else []
    summary["accuracy"] = (round(summary["correct"] / summary["labelled"], 4)
                           if summary["labelled"] else None)
    return summary


def sizes(path):
    """{file: size} of the files ``path`` (``{task}`` as a wildcard) matches."""
    return {name: os.path.getsize(name) for name in glob.glob(path.replace("{task}", "*"))}


def new_records(path, since):
    """Records appended after ``since`` ({file: size}; new files from their start)."""
    records = []
    for name, size in sizes(path).items():
        start = since.get(name, 0)
        if size < start:  # rotated since: a new file under the same name
            start = 0
        if size <= start:
            continue
        with open(name, "rb") as handle:
            handle.seek(start)
            for line in handle.read(size - start).splitlines():
                try:
                    records.append(json.loads(line))
                except ValueError:
                    continue
    return records
