"""
conda environments with honest change reporting: created when absent, updated (with
``--prune``) only when their spec changed, left alone otherwise; ``test=True`` says what
would change.  The spec is the one ``conda_env.spec_of`` normalised from pillar.
"""

import os
import tempfile

__virtualname__ = "conda_env"


def __virtual__():
    if "conda_env.run" in __salt__:
        return __virtualname__
    return (False, "the conda_env execution module is not synced")


def _environment_file(name, spec):
    """(path of an environment.yml for conda, spec with its content for the fingerprint)"""
    if "environment_file" in spec:
        cached = __salt__["cp.cache_file"](spec["environment_file"])
        if not cached:
            raise ValueError(f"cannot fetch {spec['environment_file']}")
        with open(cached, encoding="utf-8") as handle:
            content = handle.read()
        return cached, dict(spec, content=content), None
    handle, path = tempfile.mkstemp(prefix=f"conda-{name}-", suffix=".yml")
    with os.fdopen(handle, "w", encoding="utf-8") as out:
        out.write(__salt__["conda_env.environment_yml"](name, spec))
    return path, spec, path


def present(name, conda, prefix, spec):
    """
    Make the environment at ``prefix`` match ``spec``.

    .. code-block:: yaml

        storm-worker:
          conda_env.present:
            - conda: /opt/conda/bin/conda
            - prefix: /opt/conda/envs/storm-worker
            - spec:
                channels: []
                packages: [python=3.11, numpy=2.4.6, pip]
                pip: [streamparse==5.0.1]
    """
    ret = {"name": name, "changes": {}, "result": True, "comment": ""}
    try:
        env_file, full_spec, temporary = _environment_file(name, spec)
    except ValueError as exc:
        ret.update(result=False, comment=str(exc))
        return ret
    try:
        wanted = __salt__["conda_env.fingerprint"](full_spec)
        exists = os.path.isdir(os.path.join(prefix, "conda-meta"))
        held = __salt__["conda_env.recorded"](prefix) if exists else None
        if exists and held == wanted:
            ret["comment"] = f"environment {name} at {prefix} is as specified"
            return ret
        action = "update" if exists else "create"
        if __opts__["test"]:
            ret["result"] = None
            ret["comment"] = f"would {action} environment {name} at {prefix}"
            ret["changes"] = {action: prefix}
            return ret
        before = __salt__["conda_env.installed"](conda, prefix) if exists else {}
        args = (["env", "update", "--prune"] if exists else ["env", "create"]) + [
            "-f", env_file, "-p", prefix]
        try:
            __salt__["conda_env.run"](conda, args)
        except Exception as exc:  # noqa: BLE001 - conda's message is the comment
            ret.update(result=False, comment=f"conda env {action} failed: {exc}")
            return ret
        after = __salt__["conda_env.installed"](conda, prefix)
        __salt__["conda_env.record"](prefix, full_spec)
        diff = {pkg: {"old": before.get(pkg), "new": after.get(pkg)}
                for pkg in sorted(set(before) | set(after)) if before.get(pkg) != after.get(pkg)}
        ret["changes"] = {action: prefix, "packages": diff}
        ret["comment"] = f"environment {name} {action}d at {prefix} ({len(diff)} packages changed)"
        return ret
    finally:
        if temporary:
            os.unlink(temporary)


def absent(name, conda, prefix):
    """
    Remove the environment at ``prefix``.

    .. code-block:: yaml

        old-env:
          conda_env.absent:
            - conda: /opt/conda/bin/conda
            - prefix: /opt/conda/envs/old-env
    """
    ret = {"name": name, "changes": {}, "result": True, "comment": ""}
    if not os.path.isdir(prefix):
        ret["comment"] = f"{prefix} is already absent"
        return ret
    if __opts__["test"]:
        ret.update(result=None, comment=f"would remove {prefix}", changes={"removed": prefix})
        return ret
    if os.access(conda, os.X_OK):
        __salt__["conda_env.run"](conda, ["remove", "-y", "--all", "-p", prefix])
    if os.path.isdir(prefix):
        __salt__["file.remove"](prefix)
    ret.update(comment=f"removed {prefix}", changes={"removed": prefix})
    return ret
