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


def checksum_file(name, source, source_hash, key="source_hash"):
    """
    Keep ``name`` holding the checksum of ``source`` for ``archive.extracted``'s
    ``source_hash: file://<name>``.

    .. code-block:: yaml

        /opt/storm/.checksums/apache-storm-2.8.3.tar.gz.sha512:
          apache_dist.checksum_file:
            - source: https://archive.apache.org/dist/storm/apache-storm-2.8.3/apache-storm-2.8.3.tar.gz
            - source_hash: https://archive.apache.org/dist/storm/apache-storm-2.8.3/apache-storm-2.8.3.tar.gz.sha512
            - key: storm:archive:source_hash
    """
    ret = {"name": name, "changes": {}, "result": True, "comment": ""}
    filename = str(source).rstrip("/").split("/")[-1]
    try:
        setting = __salt__["apache_dist.checked_hash"](source, source_hash, key)
        current = _line_for(name, filename)
        if "://" in setting and current:
            ret["comment"] = f"{name} already holds the checksum of {filename}"
            return ret
        if __opts__["test"] and "://" in setting:
            ret["result"] = None
            ret["comment"] = f"would fetch {setting} and write {name}"
            ret["changes"] = {"checksum": {"old": current, "new": f"from {setting}"}}
            return ret
        resolved = __salt__["apache_dist.resolve_hash"](source, source_hash, key)
    except CommandExecutionError as exc:
        ret["result"] = False
        ret["comment"] = f"{exc}; nothing was downloaded or replaced"
        return ret
    line = f"{resolved.partition('=')[2]}  {filename}"
    if current == line:
        ret["comment"] = f"{name} already holds the checksum of {filename}"
        return ret
    ret["changes"] = {"checksum": {"old": current, "new": line}}
    if __opts__["test"]:
        ret["result"] = None
        ret["comment"] = f"would write the checksum of {filename} to {name}"
        return ret
    os.makedirs(os.path.dirname(name), mode=0o755, exist_ok=True)
    tmp = f"{name}.tmp"
    with open(tmp, "w", encoding="utf-8") as handle:
        handle.write(line + "\n")
    os.chmod(tmp, 0o644)
    os.replace(tmp, name)
    ret["comment"] = f"wrote the checksum of {filename} ({resolved.partition('=')[0]})"
    return ret
