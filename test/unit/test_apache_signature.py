"""Signatures of Apache releases: a real detached .asc made with a throw-away key, checked
by gpgv the way the hosts check it, accepted only for a pinned fingerprint, and the
checksum state that writes a release's checksum only after its signature verified."""

import hashlib
import os
import shutil
import subprocess

import pytest
from salt.exceptions import CommandExecutionError

pytestmark = pytest.mark.skipif(not (shutil.which("gpg") and shutil.which("gpgv")),
                                reason="gpg and gpgv (test/bootstrap.sh installs them)")
NAME = "apache-storm-2.8.3.tar.gz"
URL = f"https://mirror.invalid/storm/{NAME}"
KEY = "storm:archive:signature"


def gpg(home, *args, data=None):
    return subprocess.run(["gpg", "--homedir", str(home), "--batch", "--quiet",
                           "--pinentry-mode", "loopback", "--passphrase", "", *args],
                          input=data, capture_output=True, check=True)


class Signer:
    """A release manager: one key, its armored public block and its fingerprint."""

    def __init__(self, home, name):
        home.mkdir(mode=0o700)
        self.home = home
        gpg(home, "--quick-gen-key", f"{name} <{name}@example.invalid>", "ed25519", "sign",
            "never")
        listing = gpg(home, "--with-colons", "--fingerprint").stdout.decode()
        self.fingerprint = next(line.split(":")[9] for line in listing.splitlines()
                                if line.startswith("fpr:"))
        self.public = gpg(home, "--armor", "--export", self.fingerprint).stdout.decode()

    def sign(self, path):
        return gpg(self.home, "--armor", "--detach-sign", "--output", "-",
                   str(path)).stdout.decode()


@pytest.fixture(scope="module")
def signers(tmp_path_factory):
    base = tmp_path_factory.mktemp("gpg")
    return Signer(base / "rm", "release-manager"), Signer(base / "other", "someone-else")


@pytest.fixture
def release(tmp_path):
    path = tmp_path / NAME
    path.write_bytes(b"the release tarball " * 1000)
    return path


@pytest.fixture
def dist(loader):
    return loader("_modules", "apache_dist")


def keys_file(*signers):
    """Apache's KEYS: prose, then each key's listing and armored block."""
    return "This file contains the PGP keys of the release managers.\n\n" + "\n".join(
        f"pub   ed25519 {s.fingerprint}\n{s.public}" for s in signers)


def spaced(fingerprint):
    return " ".join(fingerprint[i:i + 4] for i in range(0, len(fingerprint), 4)).lower()


def test_a_signature_by_a_pinned_key_verifies(dist, signers, release):
    rm, other = signers
    signer = dist.verify_signature(str(release), rm.sign(release), keys_file(other, rm),
                                   [spaced(rm.fingerprint)], key=KEY)
    assert signer == rm.fingerprint


def test_a_signature_by_a_key_in_keys_but_not_pinned_is_refused(dist, signers, release):
    """KEYS proves nothing by itself: whoever can change the tarball can change KEYS."""
    rm, other = signers
    with pytest.raises(CommandExecutionError, match=f"{KEY}:fingerprints: .*no key pinned"):
        dist.verify_signature(str(release), other.sign(release), keys_file(rm, other),
                              [rm.fingerprint], key=KEY)


def test_a_changed_release_is_refused(dist, signers, release):
    rm, _ = signers
    signature = rm.sign(release)
    release.write_bytes(release.read_bytes() + b"!")
    with pytest.raises(CommandExecutionError, match=f"{KEY}: the signature does not verify"):
        dist.verify_signature(str(release), signature, keys_file(rm), [rm.fingerprint],
                              key=KEY)


def test_a_signature_without_its_key_is_refused(dist, signers, release):
    rm, other = signers
    with pytest.raises(CommandExecutionError, match="does not verify"):
        dist.verify_signature(str(release), rm.sign(release), keys_file(other),
                              [rm.fingerprint], key=KEY)


@pytest.mark.parametrize("keys, message", [
    ("no keys here", "no armored public key block"),
    ("-----BEGIN PGP PUBLIC KEY BLOCK-----\n\n***\n-----END PGP PUBLIC KEY BLOCK-----",
     "a public key block is not valid base64"),
])
def test_keys_that_are_not_keys_are_named(dist, release, keys, message):
    with pytest.raises(CommandExecutionError, match=f"{KEY}:keys: {message}"):
        dist.verify_signature(str(release), "sig", keys, ["A" * 40], key=KEY)


@pytest.mark.parametrize("value", ["DEADBEEF", "0x" + "A" * 16, "G" * 40, "A" * 41])
def test_a_key_id_is_not_a_fingerprint(dist, value):
    with pytest.raises(CommandExecutionError, match="storm:archive:signature:fingerprints:0"):
        dist.checked_signature({"enabled": True, "keys": "salt://KEYS",
                                "fingerprints": [value]}, URL, KEY)


def test_the_setting_is_checked_at_render_time(dist, signers):
    rm, _ = signers
    assert dist.checked_signature({"enabled": False, "fingerprints": []}, URL, KEY) is None
    got = dist.checked_signature({"enabled": True, "source": None, "keys": "salt://KEYS",
                                  "fingerprints": ["0x" + spaced(rm.fingerprint)]}, URL, KEY)
    assert got == {"source": URL + ".asc", "keys": "salt://KEYS",
                   "fingerprints": [rm.fingerprint], "key": KEY}
    mirrored = dist.checked_signature({"enabled": True, "source": "salt://m/{version}.asc",
                                       "keys": "salt://KEYS", "fingerprints": [rm.fingerprint]},
                                      URL, KEY, version="2.8.3")
    assert mirrored["source"] == "salt://m/2.8.3.asc"
    with pytest.raises(CommandExecutionError, match=f"{KEY}:fingerprints: required"):
        dist.checked_signature({"enabled": True, "keys": "salt://KEYS",
                                "fingerprints": []}, URL, KEY)
    with pytest.raises(CommandExecutionError, match=f"{KEY}:keys: required"):
        dist.checked_signature({"enabled": True, "keys": "",
                                "fingerprints": [rm.fingerprint]}, URL, KEY)


@pytest.fixture
def signed_state(loader, signers, release):
    """The checksum state with the release, its .sha512, its .asc and KEYS "served"."""
    rm, other = signers
    digest = hashlib.sha512(release.read_bytes()).hexdigest()
    served = {URL + ".sha512": f"{digest}  {NAME}\n", URL + ".asc": rm.sign(release),
              "salt://KEYS": keys_file(other, rm)}
    downloads = []

    def make(test=False):
        dist = loader("_modules", "apache_dist",
                      salt={"cp.get_file_str": lambda url: served.get(url)})
        salt = {f"apache_dist.{f}": getattr(dist, f)
                for f in ("checked_hash", "resolve_hash", "verify_signature")}
        salt["cp.cache_file"] = lambda url: downloads.append(url) or str(release)
        salt["cp.get_file_str"] = served.get
        salt["file.get_hash"] = lambda path, form: hashlib.file_digest(
            open(path, "rb"), form).hexdigest()
        return dist, loader("_states", "apache_dist", salt=salt, opts={"test": test})
    return make, served, downloads


def test_the_checksum_is_written_only_after_the_signature_verified(signed_state, signers,
                                                                   tmp_path):
    make, served, downloads = signed_state
    rm, other = signers
    dist, state = make()
    target = tmp_path / "checksums" / f"{NAME}.sha512"
    signature = dist.checked_signature({"enabled": True, "keys": "salt://KEYS",
                                        "fingerprints": [rm.fingerprint]}, URL, KEY)
    first = state.checksum_file(str(target), URL, URL + ".sha512", signature=signature)
    assert first["result"] is True, first["comment"]
    assert first["changes"]["signed_by"] == rm.fingerprint and downloads == [URL]
    assert (tmp_path / "checksums" / f"{NAME}.sha512.signed").read_text().strip() == \
        rm.fingerprint
    again = state.checksum_file(str(target), URL, URL + ".sha512", signature=signature)
    assert again["result"] is True and again["changes"] == {} and downloads == [URL]
    # Pinning another key afterwards checks the release again, and refuses it.
    other_pin = dict(signature, fingerprints=[other.fingerprint])
    refused = state.checksum_file(str(target), URL, URL + ".sha512", signature=other_pin)
    assert refused["result"] is False and "no key pinned" in refused["comment"]


def test_a_bad_signature_leaves_no_checksum(signed_state, signers, tmp_path):
    make, served, _ = signed_state
    rm, _ = signers
    # A pinned key's signature, of some other file.
    decoy = tmp_path / "decoy"
    decoy.write_bytes(b"another release")
    served[URL + ".asc"] = rm.sign(decoy)
    dist, state = make()
    target = tmp_path / f"{NAME}.sha512"
    signature = dist.checked_signature({"enabled": True, "keys": "salt://KEYS",
                                        "fingerprints": [rm.fingerprint]}, URL, KEY)
    ret = state.checksum_file(str(target), URL, URL + ".sha512", signature=signature)
    assert ret["result"] is False and ret["changes"] == {}
    assert KEY in ret["comment"] and "nothing was unpacked" in ret["comment"]
    assert not target.exists() and not os.path.exists(f"{target}.signed")
    # Without the check (the protection off) the same release gets its checksum.
    unchecked = state.checksum_file(str(target), URL, URL + ".sha512")
    assert unchecked["result"] is True and target.exists()


def test_a_download_that_differs_from_the_checksum_is_refused(signed_state, signers,
                                                              tmp_path):
    make, served, _ = signed_state
    rm, _ = signers
    served[URL + ".sha512"] = f"{'0' * 128}  {NAME}\n"
    dist, state = make()
    signature = dist.checked_signature({"enabled": True, "keys": "salt://KEYS",
                                        "fingerprints": [rm.fingerprint]}, URL, KEY)
    ret = state.checksum_file(str(tmp_path / "x.sha512"), URL, URL + ".sha512",
                              signature=signature)
    assert ret["result"] is False and "not the release's" in ret["comment"]


def test_test_mode_says_it_would_check_the_signature(signed_state, signers, tmp_path):
    make, _, downloads = signed_state
    rm, _ = signers
    dist, state = make(test=True)
    signature = dist.checked_signature({"enabled": True, "keys": "salt://KEYS",
                                        "fingerprints": [rm.fingerprint]}, URL, KEY)
    pinned = f"sha512={hashlib.sha512(b'x').hexdigest()}"
    ret = state.checksum_file(str(tmp_path / "x.sha512"), URL, pinned, signature=signature)
    assert ret["result"] is None and "signature" in ret["comment"] and downloads == []
