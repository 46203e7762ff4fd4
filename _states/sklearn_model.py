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
import re
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
    """A pinned 'sha256=<hex>', or the salt:// URL of a sha256sum-style file (what the
    orchestrate's build step publishes through the master)."""
    text = str(source_hash)
    if text.startswith("salt://"):
        published = __salt__["cp.get_file_str"](text) or ""
        found = re.match(r"\s*([0-9a-fA-F]{64})\b", published)
        return found.group(1).lower() if found else f"(no sha256 in {text})"
    return text.partition("=")[2].lower()


def deployed(name, version, source, source_hash, root, python, keep=3):
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
    """
    ret = {"name": name, "changes": {}, "result": True, "comment": ""}
    version = str(version)
    model_dir = os.path.join(root, name)
    target = os.path.join(model_dir, version)
    current = __salt__["sklearn_model.current"](root, name)
    if current == version and os.path.isdir(target):
        ret["comment"] = f"{name} {version} is current"
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
            checked = __salt__["sklearn_model.verify"](incoming, python)
            os.rename(incoming, target)
        else:
            # A version that is already here (a rollback) is verified again, never rewritten.
            checked = __salt__["sklearn_model.verify"](target, python)
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
    ``<output>/<name>-<version>.tar`` with a ``.sha256`` beside it, and push both to the
    master (``file_recv: True``), whose ``minionfs`` backend then serves them to every worker
    as ``salt://<this minion>/<output>/...``.  A version already built and served changes
    nothing.

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
    for path in (artifact, checksum):
        if not __salt__["cp.push"](path):
            ret.update(result=False, changes=changes, comment=f"cp.push {path} failed; the "
                       "master needs file_recv: True (and minionfs to serve it back)")
            return ret
    changes["published"] = served
    ret.update(changes=changes, comment=f"{name} {version} built and published as {served}")
    return ret
