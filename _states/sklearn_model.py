"""
A scikit-learn model version on a worker host, switched in only after it verified there.

``deployed`` fetches the artifact (a tar of ``model.joblib`` + ``model.json``), checks its
checksum, unpacks it into a hidden directory beside the versions, verifies it in the
workers' own Python environment (``sklearn_model.verify``: hash, scikit-learn version,
memory-mapped load, recorded predictions), then renames it into place and switches
``current`` atomically.  A version directory is never written into once it exists, and a
failed verification leaves ``current`` where it was and names the failed check.
"""

import io
import os
import shutil
import subprocess
import tarfile
import tempfile
import uuid

__virtualname__ = "sklearn_model"


def __virtual__():
    if "sklearn_model.verify" in __salt__:
        return __virtualname__
    return (False, "the sklearn_model execution module is not synced")


def _unpack(archive, dest):
    """Extract the artifact's regular files (flat, or under one top directory) into dest."""
    os.makedirs(dest)
    with tarfile.open(archive) as tar:
        members = [m for m in tar.getmembers() if m.isfile()]
        names = {os.path.basename(m.name) for m in members}
        if not {"model.joblib", "model.json"} <= names:
            raise ValueError(f"the artifact holds {sorted(names)}, not model.joblib and "
                             "model.json")
        for member in members:
            if os.path.basename(member.name) not in ("model.joblib", "model.json"):
                continue
            source = tar.extractfile(member)
            with open(os.path.join(dest, os.path.basename(member.name)), "wb") as out:
                shutil.copyfileobj(source, out)


def _wanted_sha256(source_hash):
    """The hex digest of a pinned 'sha256=<hex>' (the schema refused everything else)."""
    return str(source_hash).partition("=")[2].lower()


def deployed(name, version, source, source_hash, root, python, keep=3, verify_user=None):
    """
    Make ``<root>/<name>/current`` point at a verified ``version``.

    .. code-block:: yaml

        iris:
          sklearn_model.deployed:
            - version: '1'
            - source: salt://models/iris-1.tar
            - source_hash: sha256=...
            - root: /srv/models
            - python: /opt/conda/envs/storm-worker/bin/python
            - keep: 3
            - verify_user: nobody

    ``source_hash`` is null for a model the orchestrate builds until the master has
    published it: a version already current stays, any other is refused.
    """
    ret = {"name": name, "changes": {}, "result": True, "comment": ""}
    version = str(version)
    model_dir = os.path.join(root, name)
    target = os.path.join(model_dir, version)
    current = __salt__["sklearn_model.current"](root, name)
    if current == version and os.path.isdir(target):
        ret["comment"] = f"{name} {version} is current"
        return ret
    if not source_hash and not os.path.isdir(target):
        ret.update(result=False, comment=(
            f"{name} {version} is built by the orchestrate and has no sha256 from the "
            "master yet: run `salt-run state.orchestrate storm.orchestrate`, which "
            f"publishes it and hands its hash over; current stays {current}"))
        return ret
    if __opts__["test"]:
        ret["result"] = None
        ret["comment"] = f"would verify {name} {version} and switch current to it"
        ret["changes"] = {"current": {"old": current, "new": version}}
        return ret
    os.makedirs(model_dir, mode=0o755, exist_ok=True)
    # Staged as <model dir>/.incoming-<random>/<name>/<version>: verify reads the name and
    # version from the path, and the final rename into <model dir>/<version> is atomic.
    staging = os.path.join(model_dir, f".incoming-{uuid.uuid4().hex[:8]}")
    incoming = os.path.join(staging, name, version)
    try:
        if not os.path.isdir(target):
            os.makedirs(staging)
            fetched = __salt__["cp.get_url"](source, staging + ".tar")
            if not fetched:
                ret.update(result=False, comment=f"could not fetch {source}")
                return ret
            wanted = _wanted_sha256(source_hash)
            got = __salt__["file.get_hash"](staging + ".tar", "sha256")
            if got != wanted:
                ret.update(result=False, comment=f"checksum: {source} has sha256 {got}, "
                           f"not {source_hash}; current stays {current}")
                return ret
            _unpack(staging + ".tar", incoming)
            checked = __salt__["sklearn_model.verify"](incoming, python, user=verify_user)
            os.rename(incoming, target)
        else:
            # A version that is already here (a rollback) is verified again, never rewritten.
            checked = __salt__["sklearn_model.verify"](target, python, user=verify_user)
    except Exception as exc:  # noqa: BLE001 - the failed check is the comment
        ret.update(result=False, comment=f"{name} {version} refused: {exc}; "
                   f"current stays {current}")
        return ret
    finally:
        for leftover in (staging, staging + ".tar"):
            if os.path.isdir(leftover):
                shutil.rmtree(leftover, ignore_errors=True)
            elif os.path.exists(leftover):
                os.unlink(leftover)
    __salt__["sklearn_model.switch"](root, name, version)
    pruned = __salt__["sklearn_model.prune"](root, name, keep)
    ret["changes"] = {"current": {"old": current, "new": version}, "verified": checked}
    if pruned:
        ret["changes"]["pruned"] = pruned
    ret["comment"] = f"{name} {version} verified and current"
    return ret


def _pack(version_dir, dest):
    """A tar of model.joblib + model.json with fixed metadata: the same files, the same
    bytes."""
    with tarfile.open(dest, "w", format=tarfile.GNU_FORMAT) as tar:
        for filename in ("model.joblib", "model.json"):
            with open(os.path.join(version_dir, filename), "rb") as handle:
                data = handle.read()
            info = tarfile.TarInfo(filename)
            info.size, info.mode, info.mtime = len(data), 0o644, 0
            tar.addfile(info, io.BytesIO(data))


def built(name, version, script, python, output):
    """
    Train ``version`` of model ``name`` once, with the workers' python, pack it as
    ``<output>/<name>-<version>.tar`` (a ``.sha256`` beside it, for the operator) and push
    the artifact alone to the master (``file_recv: True``), whose ``minionfs`` backend
    serves it to every worker as ``salt://<this minion>/<output>/...``.  The workers check
    it against the sha256 the master fixes from its own copy (``published``), never
    against anything this host says.  A version already built and served changes nothing.

    .. code-block:: yaml

        iris-build:
          sklearn_model.built:
            - name: iris
            - version: '1'
            - script: salt://sklearn_model/files/default/train_iris.py
            - python: /opt/conda/envs/storm-worker/bin/python
            - output: /var/cache/sklearn_model/build
    """
    ret = {"name": name, "changes": {}, "result": True, "comment": ""}
    version = str(version)
    artifact = os.path.join(output, f"{name}-{version}.tar")
    checksum = artifact + ".sha256"
    served = f"salt://{__opts__['id']}{artifact}"
    if os.path.exists(artifact) and os.path.exists(checksum):
        local = __salt__["file.get_hash"](artifact, "sha256")
        if (__salt__["cp.hash_file"](served) or {}).get("hsum") == local:
            ret["comment"] = f"{name} {version} is built and served as {served}"
            return ret
    if __opts__["test"]:
        ret.update(result=None, comment=f"would build and publish {name} {version}",
                   changes={"built": artifact})
        return ret
    changes = {}
    if not (os.path.exists(artifact) and os.path.exists(checksum)):
        trainer = __salt__["cp.cache_file"](script)
        if not trainer:
            ret.update(result=False, comment=f"cannot fetch the training script {script}")
            return ret
        os.makedirs(output, mode=0o755, exist_ok=True)
        work = tempfile.mkdtemp(prefix=f".build-{name}-", dir=output)
        try:
            version_dir = os.path.join(work, name, version)
            proc = subprocess.run([python, trainer, "--out", version_dir, "--version", version,
                                   "--name", name], capture_output=True, text=True,
                                  timeout=1800, check=False)
            if proc.returncode != 0:
                ret.update(result=False, comment=f"training {name} {version} failed: "
                           f"{(proc.stderr or proc.stdout).strip()[-2000:]}")
                return ret
            _pack(version_dir, artifact + ".tmp")
            digest = __salt__["file.get_hash"](artifact + ".tmp", "sha256")
            with open(checksum + ".tmp", "w", encoding="utf-8") as handle:
                handle.write(f"{digest}  {os.path.basename(artifact)}\n")
            os.replace(artifact + ".tmp", artifact)
            os.replace(checksum + ".tmp", checksum)
        finally:
            shutil.rmtree(work, ignore_errors=True)
        changes["built"] = {"artifact": artifact, "sha256": digest}
    if not __salt__["cp.push"](artifact):
        ret.update(result=False, changes=changes, comment=f"cp.push {artifact} failed; the "
                   "master needs file_recv: True (and minionfs to serve it back)")
        return ret
    changes["published"] = served
    ret.update(changes=changes, comment=f"{name} {version} built and published as {served}")
    return ret


def published(name, version, minion, path, others=(), strict=True):
    """
    On the master, as a step of the orchestrate: fix the sha256 of the artifact the build
    host ``minion`` pushed from ``path``, from the master's own received copy, before any
    worker fetches it (``sklearn_model.publish``; the deploy step then gets the hash
    through ``sklearn_model.handoff``).  First the master's configuration is checked
    (``sklearn_model.minionfs_exposure``): with ``strict``, a minionfs that would serve the
    pushed files of any of ``others`` (the cluster's other hosts) is refused.

    .. code-block:: yaml

        publish-iris:
          sklearn_model.published:
            - name: iris
            - version: '1'
            - minion: sup1
            - path: /var/cache/sklearn_model/build/iris-1.tar
            - others: [zk1, nimbus1, sup2]
    """
    ret = {"name": name, "changes": {}, "result": True, "comment": ""}
    version = str(version)
    found = __salt__["sklearn_model.minionfs_exposure"]([minion], list(others or ()))
    refused = found["errors"] + (found["exposure"] if strict else [])
    if refused:
        ret.update(result=False, comment=f"the master cannot publish {name} {version} "
                   "safely: " + "; ".join(refused) + (
                       " (sklearn_model:build:minionfs_strict: false takes the exposure)"
                       if found["exposure"] and strict else ""))
        return ret
    problems = found["exposure"]
    try:
        fixed = __salt__["sklearn_model.publish"](name, version, minion, path,
                                                  test=bool(__opts__["test"]))
    except Exception as exc:  # noqa: BLE001 - the refusal is the comment
        if __opts__["test"]:
            ret.update(result=None, comment=f"would publish {name} {version}: {exc}")
        else:
            ret.update(result=False, comment=str(exc))
        return ret
    warned = f" (warnings: {'; '.join(problems)})" if problems else ""
    if not fixed["new"]:
        ret["comment"] = (f"{name} {version} is published, sha256 {fixed['sha256']} fixed "
                          f"by the master at {fixed['recorded']}{warned}")
        return ret
    ret["changes"] = {"sha256": fixed["sha256"], "from": f"{minion}:{path}"}
    if __opts__["test"]:
        ret.update(result=None, comment=f"would fix {name} {version} at sha256 "
                   f"{fixed['sha256']}{warned}")
        return ret
    ret["comment"] = (f"{name} {version} published: the master fixed sha256 "
                      f"{fixed['sha256']} from its copy{warned}")
    return ret
