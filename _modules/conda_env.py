"""
conda for the formulas: the validated settings of the conda formula (``resolve``, called
from ``conda/map.jinja`` at render time) and the environments of an installation, read
through conda's own JSON output (``conda ... --json``).

An environment's wanted state is its *spec*: channels, conda packages with pins and an
optional pip list (or an environment.yml).  The spec's fingerprint is kept in
``<env>/conda-meta/salt-spec`` (no ``.json``: conda reads every ``conda-meta/*.json`` as
a package record and fails on anything else), so a run can tell "as wanted" from
"changed" without asking the solver anything, and reports no change when nothing changed.
"""

import hashlib
import json
import os
import re
import subprocess

import salt.utils.yaml
from salt.exceptions import CommandExecutionError

__virtualname__ = "conda_env"

SPEC_FILE = "conda-meta/salt-spec"


def __virtual__():
    return __virtualname__


def _fail(key, message):
    raise CommandExecutionError(f"conda:{key}: {message}")


def spec_of(name, env):
    """The normalised spec of one pillar environment; raises naming the key."""
    key = f"environments:{name}"
    # Keys and types are the schema's (parameters/schema.yaml); what is left is what one
    # key alone cannot say.
    if name == "base":
        _fail(key, "'base' is the installation itself; name the environment otherwise")
    if env.get("environment_file"):
        if env.get("packages") or env.get("pip"):
            _fail(key, "give either environment_file or packages/pip, not both")
        return {"environment_file": str(env["environment_file"])}
    packages, pip = env.get("packages") or [], env.get("pip") or []
    channels = env.get("channels") or []
    if not packages:
        _fail(f"{key}:packages", "no packages; an environment needs at least python and "
              "what runs in it (or an environment_file)")
    for field, specs in (("packages", packages), ("pip", pip), ("channels", channels)):
        for index, spec in enumerate(specs):
            if " " in spec.strip():
                _fail(f"{key}:{field}:{index}", f"{spec!r} is not a package spec such as "
                      "'numpy=2.4.6' (no spaces)")
    if pip and not any(re.match(r"^pip([=<>!~ ]|$)", p) for p in packages):
        _fail(f"{key}:packages", "a pip section needs 'pip' among the conda packages")
    return {"channels": channels, "packages": packages, "pip": pip}


def resolve(config):
    """
    Validate the merged conda settings and add the resolved ``installer`` (source and
    checksum with placeholders filled), ``conda`` (the binary), and ``envs``
    (name -> {prefix, spec}).

    CLI Example:

    .. code-block:: bash

        salt worker1 state.apply conda._mapdata
    """
    config = dict(config)
    prefix = config["prefix"].rstrip("/")
    if prefix in ("", "/usr", "/opt"):
        _fail("prefix", f"{config['prefix']!r} is not an absolute directory of its own")
    installer = dict(config["installer"])
    version = installer["version"]
    arch = __grains__.get("cpuarch", "x86_64")
    for key in ("source", "source_hash"):
        installer[key] = installer[key].replace("{version}", version).replace("{arch}", arch)
    installer["source_hash"] = __utils__["formula_schema.hash_setting"](
        installer["source_hash"], "conda:installer:source_hash", ("sha256",))
    envs = config["environments"]
    config.update({
        "prefix": prefix,
        "installer": installer,
        "conda": f"{prefix}/bin/conda",
        "envs": {name: {"prefix": f"{prefix}/envs/{name}", "spec": spec_of(name, env)}
                 for name, env in sorted(envs.items())},
    })
    return config


def fingerprint(spec):
    """A stable digest of a spec (environment files by their content)."""
    return hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()


def environment_yml(name, spec):
    """The environment.yml text conda is given for a pillar spec."""
    deps = list(spec["packages"])
    if spec["pip"]:
        deps.append({"pip": list(spec["pip"])})
    doc = {"name": name, "channels": list(spec["channels"]), "dependencies": deps}
    return salt.utils.yaml.safe_dump(doc, default_flow_style=False)


def run(conda, args, timeout=1800):
    """
    Run ``conda ARGS --json`` and return its JSON; a conda error (non-zero exit, or an
    ``exception_name`` in the JSON) raises with conda's own message.

    CLI Example:

    .. code-block:: bash

        salt worker1 conda_env.run /opt/conda/bin/conda '["env", "list"]'
    """
    if not os.access(conda, os.X_OK):
        raise CommandExecutionError(f"{conda} is not an executable conda")
    proc = subprocess.run([conda, *args, "--json"], capture_output=True, text=True,
                          timeout=timeout, check=False)
    try:
        data = json.loads(proc.stdout) if proc.stdout.strip() else {}
    except ValueError:
        data = {}
    if proc.returncode != 0 or (isinstance(data, dict) and data.get("exception_name")):
        message = (data.get("message") or data.get("error") if isinstance(data, dict) else None)
        raise CommandExecutionError(
            f"conda {' '.join(args)}: {message or proc.stderr.strip()[-2000:] or proc.returncode}")
    return data


def installed(conda, prefix):
    """
    ``{name: version}`` of everything in the environment at ``prefix``.

    CLI Example:

    .. code-block:: bash

        salt worker1 conda_env.installed /opt/conda/bin/conda /opt/conda/envs/storm-worker
    """
    return {p["name"]: p["version"] for p in run(conda, ["list", "-p", prefix])}


def recorded(prefix):
    """The spec fingerprint recorded when the environment was last made, or None."""
    try:
        with open(os.path.join(prefix, SPEC_FILE), encoding="utf-8") as handle:
            return json.load(handle).get("fingerprint")
    except (OSError, ValueError):
        return None


def record(prefix, spec):
    """Write the spec and its fingerprint into the environment (after a successful run)."""
    path = os.path.join(prefix, SPEC_FILE)
    tmp = f"{path}.tmp"
    with open(tmp, "w", encoding="utf-8") as handle:
        json.dump({"fingerprint": fingerprint(spec), "spec": spec}, handle, sort_keys=True)
    os.replace(tmp, path)
    return fingerprint(spec)
