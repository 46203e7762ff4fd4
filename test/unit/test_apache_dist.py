"""Checksums of Apache downloads: both historical .sha512 formats, pins and refusals."""

import hashlib

import pytest
from salt.exceptions import CommandExecutionError

DIGEST = hashlib.sha512(b"apache-storm-2.8.3.tar.gz payload").hexdigest()
NAME = "apache-storm-2.8.3.tar.gz"
URL = f"https://archive.apache.org/dist/storm/apache-storm-2.8.3/{NAME}"


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
    with pytest.raises(CommandExecutionError, match="not 'apache-storm-2.8.3.tar.gz'"):
        dist.parse_sha512(gpg_print_md("apache-storm-2.8.7.tar.gz", DIGEST), NAME)
    with pytest.raises(CommandExecutionError, match="no line for"):
        dist.parse_sha512(f"{DIGEST}  apache-storm-2.8.7.tar.gz\n", NAME)


def test_garbage_is_refused(dist):
    with pytest.raises(CommandExecutionError, match="not a .sha512 file"):
        dist.parse_sha512("<html>404 Not Found</html>", NAME)
    with pytest.raises(CommandExecutionError, match="empty"):
        dist.parse_sha512("  \n", NAME)


def test_pinned_hashes_are_normalised(dist):
    assert dist.checked_hash(URL, f"SHA512={DIGEST.upper()}") == f"sha512={DIGEST}"
    assert dist.checked_hash(URL, DIGEST) == f"sha512={DIGEST}"
    sha256 = hashlib.sha256(b"x").hexdigest()
    assert dist.checked_hash(URL, f"sha256={sha256}") == f"sha256={sha256}"
    assert dist.resolve_hash(URL, f"sha256={sha256}") == f"sha256={sha256}"


@pytest.mark.parametrize("algo,digest", [("md5", "a" * 32), ("sha1", "b" * 40),
                                         ("sha384", "c" * 96)])
def test_weak_or_unknown_algorithms_are_refused(dist, algo, digest):
    with pytest.raises(CommandExecutionError,
                       match=rf"^k: '{algo}' is not a checksum the formulas accept"):
        dist.checked_hash(URL, f"{algo}={digest}", key="k")


@pytest.mark.parametrize("value", [None, ""])
def test_missing_checksum_names_the_key(dist, value):
    with pytest.raises(CommandExecutionError, match=r"^storm:archive:source_hash: missing"):
        dist.checked_hash(URL, value, key="storm:archive:source_hash")


def test_short_digest_names_the_key(dist):
    with pytest.raises(CommandExecutionError, match=r"^k: sha512 needs 128 hex digits"):
        dist.checked_hash(URL, "sha512=abc", key="k")


def test_a_url_is_checked_for_its_form_without_fetching(loader):
    def get_file_str(url):
        raise AssertionError(f"fetched {url} while checking the form")
    dist = loader("_modules", "apache_dist", salt={"cp.get_file_str": get_file_str})
    assert dist.checked_hash(URL, URL + ".sha512") == URL + ".sha512"
    assert dist.checked_hash(URL, "/srv/x.sha512") == "file:///srv/x.sha512"
    with pytest.raises(CommandExecutionError, match=r"^k: 'ftp://m/x.sha512' is neither"):
        dist.checked_hash(URL, "ftp://m/x.sha512", key="k")


def test_hash_file_is_fetched_and_parsed_at_apply_time(loader):
    fetched = []

    def get_file_str(url):
        fetched.append(url)
        return gpg_print_md(NAME, DIGEST)

    dist = loader("_modules", "apache_dist", salt={"cp.get_file_str": get_file_str})
    assert dist.resolve_hash(URL, URL + ".sha512") == f"sha512={DIGEST}"
    assert fetched == [URL + ".sha512"]


def test_unfetchable_hash_file_names_the_key_and_the_url(loader):
    dist = loader("_modules", "apache_dist", salt={"cp.get_file_str": lambda url: False})
    with pytest.raises(CommandExecutionError,
                       match=rf"^zk:hash: could not fetch {URL}.sha512$"):
        dist.resolve_hash(URL, URL + ".sha512", key="zk:hash")


@pytest.fixture
def checksum_state(loader):
    def make(get_file_str, test=False):
        dist = loader("_modules", "apache_dist", salt={"cp.get_file_str": get_file_str})
        salt = {"apache_dist.checked_hash": dist.checked_hash,
                "apache_dist.resolve_hash": dist.resolve_hash}
        return loader("_states", "apache_dist", salt=salt, opts={"test": test})
    return make


def test_checksum_file_fetches_once_and_writes_sha512sum_format(checksum_state, tmp_path):
    fetched = []

    def get_file_str(url):
        fetched.append(url)
        return gpg_print_md(NAME, DIGEST)
    target = tmp_path / ".checksums" / f"{NAME}.sha512"
    state = checksum_state(get_file_str)
    first = state.checksum_file(str(target), URL, URL + ".sha512", key="storm:h")
    assert first["result"] is True and first["changes"]
    assert target.read_text() == f"{DIGEST}  {NAME}\n"
    again = state.checksum_file(str(target), URL, URL + ".sha512", key="storm:h")
    assert again["result"] is True and again["changes"] == {}
    assert fetched == [URL + ".sha512"]  # a release's checksum never changes: no refetch


def test_checksum_file_from_a_pin_follows_the_pin(checksum_state, tmp_path):
    target = tmp_path / f"{NAME}.sha512"
    state = checksum_state(lambda url: pytest.fail("a pin needs no fetch"))
    assert state.checksum_file(str(target), URL, f"sha512={DIGEST}")["changes"]
    other = hashlib.sha512(b"other").hexdigest()
    changed = state.checksum_file(str(target), URL, f"sha512={other}")
    assert changed["changes"] and target.read_text() == f"{other}  {NAME}\n"
    assert state.checksum_file(str(target), URL, f"sha512={other}")["changes"] == {}


def test_an_unreachable_checksum_fails_naming_key_and_url_and_writes_nothing(
        checksum_state, tmp_path):
    def refused(url):
        raise OSError("Connection refused")
    target = tmp_path / f"{NAME}.sha512"
    ret = checksum_state(refused).checksum_file(str(target), URL, URL + ".sha512",
                                                key="storm:archive:source_hash")
    assert ret["result"] is False and ret["changes"] == {}
    assert ret["comment"] == (f"storm:archive:source_hash: could not fetch {URL}.sha512: "
                              "Connection refused; nothing was unpacked or replaced")
    assert not target.exists()


def test_checksum_file_in_test_mode_changes_nothing(checksum_state, tmp_path):
    target = tmp_path / f"{NAME}.sha512"
    ret = checksum_state(lambda url: pytest.fail("no fetch in test mode"), test=True) \
        .checksum_file(str(target), URL, URL + ".sha512")
    assert ret["result"] is None and not target.exists()
