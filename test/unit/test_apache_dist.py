"""Checksums of Apache downloads: both historical .sha512 formats, pins and refusals."""

import hashlib

import pytest
from salt.exceptions import CommandExecutionError

DIGEST = hashlib.sha512(b"apache-storm-2.8.8.tar.gz payload").hexdigest()
NAME = "apache-storm-2.8.8.tar.gz"
URL = f"https://downloads.apache.org/storm/apache-storm-2.8.8/{NAME}"


def gpg_print_md(name, digest):
    """What `gpg --print-md SHA512 FILE` wrote for releases before mid-2024."""
    groups = [digest[i:i + 8].upper() for i in range(0, len(digest), 8)]
    lines, indent = [], " " * (len(name) + 2)
    for start in range(0, len(groups), 8):
        lines.append(" ".join(groups[start:start + 8]))
    return f"{name}: " + f"\n{indent}".join(lines) + "\n"


@pytest.fixture
def dist(loader):
    return loader("_modules", "apache_dist")


def test_sha512sum_format(dist):
    assert dist.parse_sha512(f"{DIGEST}  {NAME}\n", NAME) == DIGEST


def test_sha512sum_binary_marker_and_path(dist):
    assert dist.parse_sha512(f"{DIGEST} *dist/{NAME}\n", NAME) == DIGEST


def test_gpg_print_md_format(dist):
    text = gpg_print_md(NAME, DIGEST)
    assert "\n" in text.strip() and text.split(":")[1].strip()[:8].isupper()
    assert dist.parse_sha512(text, NAME) == DIGEST


def test_hash_for_another_file_is_refused(dist):
    with pytest.raises(CommandExecutionError, match="not 'apache-storm-2.8.8.tar.gz'"):
        dist.parse_sha512(gpg_print_md("apache-storm-2.8.7.tar.gz", DIGEST), NAME)
    with pytest.raises(CommandExecutionError, match="no line for"):
        dist.parse_sha512(f"{DIGEST}  apache-storm-2.8.7.tar.gz\n", NAME)


def test_garbage_is_refused(dist):
    with pytest.raises(CommandExecutionError, match="not a .sha512 file"):
        dist.parse_sha512("<html>404 Not Found</html>", NAME)
    with pytest.raises(CommandExecutionError, match="empty"):
        dist.parse_sha512("  \n", NAME)


def test_pinned_hashes_are_normalised(dist):
    assert dist.source_hash(URL, f"SHA512={DIGEST.upper()}") == f"sha512={DIGEST}"
    assert dist.source_hash(URL, DIGEST) == f"sha512={DIGEST}"
    sha256 = hashlib.sha256(b"x").hexdigest()
    assert dist.source_hash(URL, f"sha256={sha256}") == f"sha256={sha256}"


@pytest.mark.parametrize("value", [None, ""])
def test_missing_checksum_names_the_key(dist, value):
    with pytest.raises(CommandExecutionError, match=r"^storm:archive:source_hash: missing"):
        dist.source_hash(URL, value, key="storm:archive:source_hash")


def test_short_digest_names_the_key(dist):
    with pytest.raises(CommandExecutionError, match=r"^k: sha512 needs 128 hex digits"):
        dist.source_hash(URL, "sha512=abc", key="k")


def test_hash_file_is_fetched_and_parsed(loader):
    fetched = []

    def get_file_str(url):
        fetched.append(url)
        return gpg_print_md(NAME, DIGEST)

    dist = loader("_modules", "apache_dist", salt={"cp.get_file_str": get_file_str})
    assert dist.source_hash(URL, URL + ".sha512") == f"sha512={DIGEST}"
    assert fetched == [URL + ".sha512"]


def test_unfetchable_hash_file_names_the_key(loader):
    dist = loader("_modules", "apache_dist", salt={"cp.get_file_str": lambda url: False})
    with pytest.raises(CommandExecutionError, match=r"^zk:hash: could not fetch"):
        dist.source_hash(URL, URL + ".sha512", key="zk:hash")
