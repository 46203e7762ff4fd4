"""
Checksums of Apache release downloads, for ``archive.extracted``/``file.managed``
``source_hash``.

Apache publishes a ``.sha512`` file beside every release.  Releases since mid-2024 write it
the ``sha512sum`` way (``<hex>  <file>``); older ones were made with ``gpg --print-md``::

    apache-storm-2.4.0.tar.gz: 2B0A3B5F 7B1C... (upper-case hex in groups of 8,
                               wrapped over several lines)

Salt's own hash-file parser only reads the first format.  So the formulas check the
setting's form at render time (:func:`checked_hash`, which never fetches: a render stays
pure), and the ``apache_dist.checksum_file`` state fetches and parses the file at apply
time (:func:`resolve_hash`, either format) and writes it the ``sha512sum`` way for
``archive.extracted``.  Only sha256 and sha512 are accepted.
"""

import re

from salt.exceptions import CommandExecutionError

__virtualname__ = "apache_dist"

# md5 and sha1 are refused: neither protects a download any more.
ALGORITHMS = {"sha256": 64, "sha512": 128}
_HEX = re.compile(r"^[0-9a-f]+$")


def __virtual__():
    return __virtualname__


def parse_sha512(text, filename=None):
    """
    The sha512 digest (lower-case hex) in the text of a ``.sha512`` file, either format.
    When the file lists several files, ``filename`` picks the line.

    CLI Example:

    .. code-block:: bash

        salt '*' apache_dist.parse_sha512 "$(cat apache-storm-2.8.8.tar.gz.sha512)"
    """
    text = text.strip()
    if not text:
        raise CommandExecutionError("the .sha512 file is empty")
    # gpg --print-md: "<file>: <hex groups over several lines>"; the file name itself may
    # hold no colon, so the first colon ends it.
    head, sep, rest = text.partition(":")
    if sep and " " not in head.strip() and re.fullmatch(r"[0-9A-Fa-f\s]+", rest):
        digest = re.sub(r"\s+", "", rest).lower()
        if len(digest) == ALGORITHMS["sha512"]:
            if filename and head.strip().split("/")[-1] != filename:
                raise CommandExecutionError(
                    f"the .sha512 file is for {head.strip()!r}, not {filename!r}"
                )
            return digest
    # sha512sum: one "<hex> [ *]<file>" line per file.
    candidates = []
    for line in text.splitlines():
        parts = line.split()
        if not parts:
            continue
        digest = parts[0].lower()
        name = parts[1].lstrip("*").split("/")[-1] if len(parts) > 1 else None
        if len(digest) == ALGORITHMS["sha512"] and _HEX.match(digest):
            candidates.append((name, digest))
    if filename:
        named = [d for n, d in candidates if n in (filename, None)]
        if named:
            return named[0]
        if candidates:
            raise CommandExecutionError(f"the .sha512 file has no line for {filename!r}")
    if len(candidates) == 1:
        return candidates[0][1]
    raise CommandExecutionError(
        "not a .sha512 file in either Apache format (sha512sum or gpg --print-md)"
    )


def checked_hash(source, source_hash, key="source_hash"):
    """
    The form of a download's checksum setting, checked without fetching anything (so a
    render stays pure): a pin comes back as ``<algo>=<hex>`` (sha256 or sha512), the URL
    of a ``.sha512`` file (``https://``, ``http://``, ``salt://``, ``file://`` or an
    absolute path) as a URL, fetched and verified at apply time by
    :func:`resolve_hash` (the ``apache_dist.checksum_file`` state).  ``key`` names the
    pillar key in error messages.

    CLI Example:

    .. code-block:: bash

        salt '*' apache_dist.checked_hash \
            https://archive.apache.org/dist/storm/apache-storm-2.8.3/apache-storm-2.8.3.tar.gz \
            https://archive.apache.org/dist/storm/apache-storm-2.8.3/apache-storm-2.8.3.tar.gz.sha512
    """
    return __utils__["formula_schema.hash_setting"](source_hash, key)


def resolve_hash(source, source_hash, key="source_hash"):
    """
    The checksum of ``source`` as ``<algo>=<hex>``: a pin as it is, a ``.sha512`` URL
    fetched and parsed in either of Apache's formats (its line for the source's file
    name).  Runs at apply time; a fetch that fails names the key and the URL.

    CLI Example:

    .. code-block:: bash

        salt '*' apache_dist.resolve_hash \
            https://archive.apache.org/dist/storm/apache-storm-2.8.3/apache-storm-2.8.3.tar.gz \
            https://archive.apache.org/dist/storm/apache-storm-2.8.3/apache-storm-2.8.3.tar.gz.sha512
    """
    value = checked_hash(source, source_hash, key)
    if "://" not in value:
        return value
    try:
        text = __salt__["cp.get_file_str"](value)
    except Exception as exc:  # noqa: BLE001 - any fetch error is reported the same way
        raise CommandExecutionError(f"{key}: could not fetch {value}: {exc}") from None
    if not text:
        raise CommandExecutionError(f"{key}: could not fetch {value}")
    filename = str(source).rstrip("/").split("/")[-1] if source else None
    try:
        return "sha512=" + parse_sha512(text, filename)
    except CommandExecutionError as exc:
        raise CommandExecutionError(f"{key}: {value}: {exc}") from None
