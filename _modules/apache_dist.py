"""
Checksums of Apache release downloads, for ``archive.extracted``/``file.managed``
``source_hash``.

Apache publishes a ``.sha512`` file beside every release.  Releases since mid-2024 write it
the ``sha512sum`` way (``<hex>  <file>``); older ones were made with ``gpg --print-md``::

    apache-storm-2.4.0.tar.gz: 2B0A3B5F 7B1C... (upper-case hex in groups of 8,
                               wrapped over several lines)

Salt's own hash-file parser only reads the first format, so the formulas resolve the
checksum through :func:`source_hash`, which reads both and always returns
``sha512=<lower-case hex>``.
"""

import re

from salt.exceptions import CommandExecutionError

__virtualname__ = "apache_dist"

ALGORITHMS = {"md5": 32, "sha1": 40, "sha256": 64, "sha384": 96, "sha512": 128}
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


def source_hash(source, source_hash, key="source_hash"):
    """
    Normalise a download's checksum setting into ``<algo>=<hex>``.

    ``source_hash`` is either a pinned ``<algo>=<hex>`` (or bare sha512 hex), or the URL
    (``https://``, ``http://``, ``salt://``, ``file://`` or a path) of the release's
    ``.sha512`` file, fetched and parsed in either of Apache's formats.  ``key`` names the
    pillar key in error messages.

    CLI Example:

    .. code-block:: bash

        salt '*' apache_dist.source_hash \
            https://downloads.apache.org/storm/apache-storm-2.8.8/apache-storm-2.8.8.tar.gz \
            https://downloads.apache.org/storm/apache-storm-2.8.8/apache-storm-2.8.8.tar.gz.sha512
    """
    if not source_hash:
        raise CommandExecutionError(
            f"{key}: missing; every download must be verified (a pinned "
            "'sha512=<hex>' or the URL of the release's .sha512 file)"
        )
    value = str(source_hash).strip()
    algo, sep, digest = value.partition("=")
    if sep and algo.lower() in ALGORITHMS and "/" not in value:
        digest = digest.strip().lower()
        if len(digest) != ALGORITHMS[algo.lower()] or not _HEX.match(digest):
            raise CommandExecutionError(
                f"{key}: {algo} needs {ALGORITHMS[algo.lower()]} hex digits, got {digest!r}"
            )
        return f"{algo.lower()}={digest}"
    if _HEX.match(value.lower()) and len(value) == ALGORITHMS["sha512"]:
        return f"sha512={value.lower()}"
    if "://" not in value and not value.startswith("/"):
        raise CommandExecutionError(
            f"{key}: {value!r} is neither '<algo>=<hex>' nor the URL of a .sha512 file"
        )
    if value.startswith("/"):
        value = "file://" + value
    text = __salt__["cp.get_file_str"](value)
    if not text:
        raise CommandExecutionError(f"{key}: could not fetch {value}")
    filename = str(source).rstrip("/").split("/")[-1] if source else None
    try:
        return "sha512=" + parse_sha512(text, filename)
    except CommandExecutionError as exc:
        raise CommandExecutionError(f"{key}: {value}: {exc}") from None
