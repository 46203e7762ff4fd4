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

A release's OpenPGP signature (the ``.asc`` beside it) can be checked too, once per
release, before its checksum is written: :func:`checked_signature` checks the setting at
render time, :func:`verify_signature` runs ``gpgv`` against a keyring made of the given
public keys (Apache's ``KEYS`` file) and accepts only a signature by a key whose
fingerprint is pinned in pillar.  The ``KEYS`` file proves nothing by itself: the pin is
the trust.
"""

import base64
import os
import re
import subprocess
import tempfile

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


_ARMORED_KEYS = re.compile(r"-----BEGIN PGP PUBLIC KEY BLOCK-----(.*?)"
                           r"-----END PGP PUBLIC KEY BLOCK-----", re.S)
# A v4 key's fingerprint (40 hex digits) or a v5/v6 one (64), as pillar may write them:
# in groups, with spaces, either case.
_FINGERPRINT = re.compile(r"^(?:[0-9A-F]{40}|[0-9A-F]{64})$")


def fingerprint(value, key="fingerprints"):
    """A key fingerprint in the form gpg reports it (upper-case hex, no spaces); raises
    naming ``key`` when it is not one (a short or long key id is not a fingerprint)."""
    text = re.sub(r"\s+", "", str(value)).upper()
    if text.startswith("0X"):
        text = text[2:]
    if not _FINGERPRINT.match(text):
        raise CommandExecutionError(
            f"{key}: {value!r} is not a key fingerprint (40 or 64 hex digits, as "
            "`gpg --fingerprint` prints it; a key id is not enough)")
    return text


def checked_signature(signature, source, key, version=None):
    """
    The signature setting of a release download, checked without fetching anything:
    ``None`` when it is off, else ``{"source", "keys", "fingerprints", "key"}`` with the
    ``.asc`` URL (default: the download's URL + ``.asc``; ``{version}`` in a given one
    replaced by ``version``) and the pinned fingerprints normalized.  ``key`` is the
    setting's pillar path, named in every refusal.
    """
    if not signature or not signature.get("enabled"):
        return None
    pins = signature.get("fingerprints") or []
    if not pins:
        raise CommandExecutionError(
            f"{key}:fingerprints: required while {key}:enabled is true: the fingerprints "
            "of the release managers' keys you trust (Apache's KEYS file lists them)")
    if not signature.get("keys"):
        raise CommandExecutionError(
            f"{key}:keys: required while {key}:enabled is true: the URL of the armored "
            "public keys (the project's KEYS file, or a copy of it under salt://)")
    given = signature.get("source")
    if given and version is not None:
        given = given.replace("{version}", str(version))
    return {"source": given or f"{source}.asc",
            "keys": signature["keys"],
            "fingerprints": [fingerprint(pin, f"{key}:fingerprints:{index}")
                             for index, pin in enumerate(pins)],
            "key": key}


def dearmor(text):
    """The binary OpenPGP packets of every armored public key block in ``text`` (a KEYS
    file holds many, with prose between them), concatenated: a keyring for gpgv."""
    blocks = []
    for body in _ARMORED_KEYS.findall(str(text)):
        lines = [line.strip() for line in body.splitlines()[1:]]
        if "" in lines:
            # Armor headers (Comment:, Version:) end at the first blank line.
            lines = lines[lines.index("") + 1:]
        data = "".join(line for line in lines if line and not line.startswith("="))
        try:
            blocks.append(base64.b64decode(data, validate=True))
        except ValueError as exc:
            raise CommandExecutionError(f"a public key block is not valid base64: {exc}") \
                from None
    if not blocks:
        raise CommandExecutionError("no armored public key block "
                                    "(-----BEGIN PGP PUBLIC KEY BLOCK-----) in the keys")
    return b"".join(blocks)


def verify_signature(path, signature, keys, fingerprints, key="signature"):
    """
    Check the detached signature ``signature`` (the text of an ``.asc``) of the file
    ``path`` with ``gpgv``, against a throw-away keyring of ``keys`` (armored public key
    blocks), and accept it only when the signing key, or its primary key, has one of the
    pinned ``fingerprints``.  Returns the fingerprint that signed; raises naming ``key``.

    CLI Example:

    .. code-block:: bash

        salt '*' apache_dist.verify_signature /tmp/apache-storm-2.8.3.tar.gz \
            "$(cat apache-storm-2.8.3.tar.gz.asc)" "$(cat KEYS)" '[<fingerprint>]'
    """
    pinned = {fingerprint(pin, f"{key}:fingerprints") for pin in fingerprints}
    try:
        keyring = dearmor(keys)
    except CommandExecutionError as exc:
        raise CommandExecutionError(f"{key}:keys: {exc}") from None
    with tempfile.TemporaryDirectory(prefix="apache-dist-") as home:
        ring, sig = os.path.join(home, "pinned.gpg"), os.path.join(home, "release.asc")
        with open(ring, "wb") as handle:
            handle.write(keyring)
        with open(sig, "w", encoding="utf-8") as handle:
            handle.write(str(signature))
        try:
            proc = subprocess.run(
                ["gpgv", "--homedir", home, "--status-fd", "1", "--keyring", ring, sig,
                 path], capture_output=True, text=True, timeout=300, check=False)
        except FileNotFoundError:
            raise CommandExecutionError(f"{key}: checking a signature needs gpgv (the "
                                        "gpgv package, or gnupg2)") from None
    valid = [line.split() for line in proc.stdout.splitlines()
             if line.startswith("[GNUPG:] VALIDSIG ")]
    if proc.returncode != 0 or not valid:
        said = " ".join(line for line in proc.stderr.splitlines() if "gpgv:" in line)
        raise CommandExecutionError(
            f"{key}: the signature does not verify {os.path.basename(path)} with the given "
            f"keys: {said.strip()[-600:] or 'gpgv exited ' + str(proc.returncode)}")
    signers = {part.upper() for fields in valid for part in (fields[2:3] + fields[11:12])}
    trusted = sorted(signers & pinned)
    if not trusted:
        raise CommandExecutionError(
            f"{key}:fingerprints: {os.path.basename(path)} is signed by {sorted(signers)}, "
            "no key pinned in fingerprints")
    return trusted[0]
