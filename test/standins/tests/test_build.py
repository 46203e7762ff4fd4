"""build_storm.py: Apache's name and layout, both .sha512 formats, reproducible bytes."""

import hashlib
import pathlib
import re
import subprocess
import sys
import tarfile

REPO = pathlib.Path(__file__).resolve().parents[3]
BUILDER = REPO / "test" / "standins" / "build_storm.py"
NAME = "apache-storm-2.8.8.tar.gz"


def build(out, *args):
    result = subprocess.run([sys.executable, str(BUILDER), "--out", str(out), "--python",
                             sys.executable, *args], capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stderr
    return out / NAME


def test_layout_checksums_and_reproducibility(tmp_path):
    # Sharing the vendored-package cache keeps the second build fast; --force rebuilds.
    tarball = build(tmp_path)
    first = hashlib.sha512(tarball.read_bytes()).hexdigest()
    line = (tmp_path / f"{NAME}.sha512").read_text()
    assert line == f"{first}  {NAME}\n"  # sha512sum format

    build(tmp_path, "--force", "--sha512-format", "gpg")
    assert hashlib.sha512(tarball.read_bytes()).hexdigest() == first
    gpg = (tmp_path / f"{NAME}.sha512").read_text()
    assert gpg.startswith(f"{NAME}: ")
    groups = re.findall(r"\b[0-9A-F]{8}\b", gpg.split(":", 1)[1])
    assert len(groups) == 16 and "".join(groups).lower() == first
    assert len(gpg.splitlines()) == 2  # wrapped over lines like gpg --print-md

    with tarfile.open(tarball) as tar:
        members = {m.name: m for m in tar.getmembers()}
        top = {name.split("/")[0] for name in members}
        assert top == {"apache-storm-2.8.8"}
        assert members["apache-storm-2.8.8/bin/storm"].mode == 0o755
        assert tar.extractfile("apache-storm-2.8.8/RELEASE").read() == b"2.8.8\n"
        assert b"NOT an Apache Storm release" in \
            tar.extractfile("apache-storm-2.8.8/STANDIN.txt").read()
        keys = tar.extractfile("apache-storm-2.8.8/lib/standin/stormstandin/storm_keys.yaml")
        assert keys.read() == (REPO / "storm/parameters/storm_keys.yaml").read_bytes()
        for needed in ("conf/storm.yaml", "conf/storm-env.sh",
                       "lib/standin/stormstandin/storm.thrift",
                       "lib/standin-python/kazoo/__init__.py",
                       "lib/standin-python/thriftpy2/__init__.py",
                       "lib/standin-python/yaml/__init__.py"):
            assert f"apache-storm-2.8.8/{needed}" in members, needed
        assert {m.mtime for m in members.values()} == {1700000000}
