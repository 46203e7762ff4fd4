"""
A release's checksum, fetched at apply time and kept beside the install, so that
``archive.extracted`` verifies the download without the render ever reaching the network.

``checksum_file`` writes ``<hex>  <file name>`` (the ``sha512sum`` way, which Salt's
``source_hash`` reads) from a pinned ``sha512=``/``sha256=`` or from the release's
``.sha512`` URL in either of Apache's formats.  A URL is fetched once per file name: a
release's checksum never changes, so later runs touch neither the network nor the file.
A fetch that fails fails the state naming the pillar key and the URL, and what requires
it (the download, the unpacking, the ``current`` switch) does not run: nothing already
installed is replaced.

With ``signature``, the release itself is downloaded first (into Salt's file cache, where
``archive.extracted`` finds it again), its ``.asc`` checked against the pinned key
fingerprints, and its digest compared with the checksum, all before the checksum file is
written; the signer's fingerprint is kept beside it (``<name>.signed``), so a release is
checked once and later runs change nothing.
"""

import os

from salt.exceptions import CommandExecutionError

__virtualname__ = "apache_dist"


def __virtual__():
    if "apache_dist.resolve_hash" in __salt__:
        return __virtualname__
    return (False, "the apache_dist execution module is not synced")


def _line_for(path, filename):
    try:
        with open(path, encoding="utf-8") as handle:
            for line in handle:
                parts = line.split()
                if len(parts) == 2 and parts[1].lstrip("*") == filename:
                    return line.strip()
    except OSError:
        return None
    return None


def _signed_by(name):
    try:
        with open(f"{name}.signed", encoding="utf-8") as handle:
            return handle.read().strip()
    except OSError:
        return None


def _verify_release(source, resolved, signature):
    """Download ``source`` into the file cache, check it against ``resolved`` and its
    signature; returns the fingerprint that signed it."""
    key = signature["key"]
    cached = __salt__["cp.cache_file"](source)
    if not cached:
        raise CommandExecutionError(f"{key}: could not download {source} to check it")
    algorithm, _, digest = resolved.partition("=")
    got = __salt__["file.get_hash"](cached, algorithm)
    if got != digest:
        raise CommandExecutionError(f"{key}: the download of {source} has {algorithm} "
                                    f"{got}, not the release's {digest}")
    texts = {}
    for what in ("source", "keys"):
        try:
            texts[what] = __salt__["cp.get_file_str"](signature[what])
        except Exception as exc:  # noqa: BLE001 - any fetch error is reported the same way
            raise CommandExecutionError(f"{key}:{what}: could not fetch "
                                        f"{signature[what]}: {exc}") from None
        if not texts[what]:
            raise CommandExecutionError(f"{key}:{what}: could not fetch {signature[what]}")
    return __salt__["apache_dist.verify_signature"](
        cached, texts["source"], texts["keys"], signature["fingerprints"], key=key)


def checksum_file(name, source, source_hash, key="source_hash", signature=None):
    """
    Keep ``name`` holding the checksum of ``source`` for ``archive.extracted``'s
    ``source_hash: file://<name>``; with ``signature`` (``apache_dist.checked_signature``:
    ``source``, ``keys``, ``fingerprints``, ``key``) only once the release's signature by
    a pinned key verified.

    .. code-block:: yaml

        /opt/storm/.checksums/apache-storm-2.8.3.tar.gz.sha512:
          apache_dist.checksum_file:
            - source: https://archive.apache.org/dist/storm/apache-storm-2.8.3/apache-storm-2.8.3.tar.gz
            - source_hash: https://archive.apache.org/dist/storm/apache-storm-2.8.3/apache-storm-2.8.3.tar.gz.sha512
            - key: storm:archive:source_hash
    """
    ret = {"name": name, "changes": {}, "result": True, "comment": ""}
    filename = str(source).rstrip("/").split("/")[-1]
    signed = signature is None or _signed_by(name) in signature["fingerprints"]
    try:
        setting = __salt__["apache_dist.checked_hash"](source, source_hash, key)
        current = _line_for(name, filename)
        if "://" in setting and current and signed:
            ret["comment"] = f"{name} already holds the checksum of {filename}"
            return ret
        if __opts__["test"] and "://" in setting:
            ret["result"] = None
            ret["comment"] = f"would fetch {setting} and write {name}"
            ret["changes"] = {"checksum": {"old": current, "new": f"from {setting}"}}
            return ret
        resolved = __salt__["apache_dist.resolve_hash"](source, source_hash, key)
        line = f"{resolved.partition('=')[2]}  {filename}"
        if current == line and signed:
            ret["comment"] = f"{name} already holds the checksum of {filename}"
            return ret
        if current != line:
            ret["changes"] = {"checksum": {"old": current, "new": line}}
        if __opts__["test"]:
            ret["result"] = None
            checks = f"check the signature of {filename} and " if signature else ""
            ret["comment"] = f"would {checks}write the checksum of {filename} to {name}"
            return ret
        signer = _verify_release(source, resolved, signature) if signature else None
    except CommandExecutionError as exc:
        ret["changes"] = {}
        ret["result"] = False
        ret["comment"] = f"{exc}; nothing was unpacked or replaced"
        return ret
    os.makedirs(os.path.dirname(name), mode=0o755, exist_ok=True)
    tmp = f"{name}.tmp"
    with open(tmp, "w", encoding="utf-8") as handle:
        handle.write(line + "\n")
    os.chmod(tmp, 0o644)
    if signer:
        with open(f"{name}.signed.tmp", "w", encoding="utf-8") as handle:
            handle.write(signer + "\n")
        os.replace(f"{name}.signed.tmp", f"{name}.signed")
        ret["changes"]["signed_by"] = signer
    os.replace(tmp, name)
    ret["comment"] = (f"wrote the checksum of {filename} ({resolved.partition('=')[0]})"
                      + (f", signed by {signer}" if signer else ""))
    return ret
