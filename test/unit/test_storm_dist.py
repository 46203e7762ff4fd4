"""tools/storm_dist.py: the Storm distribution assembled from Apache's release jars."""

import hashlib
import re
import subprocess
import sys
import tarfile
from pathlib import Path, PurePosixPath

import pytest
from modloader import load_tool

REPO = Path(__file__).resolve().parents[2]
OUT = REPO / "build" / "storm"
VERSION = "2.8.3"


storm_dist = load_tool("storm_dist")


@pytest.fixture(scope="module")
def dist():
    try:
        return storm_dist.build(VERSION, OUT)
    except SystemExit as exc:
        pytest.fail(f"could not build the Storm {VERSION} distribution: {exc}")


def _members(tarball):
    with tarfile.open(tarball, "r:gz") as tar:
        return tar.getmembers()


def _jars(members, directory):
    top = f"apache-storm-{VERSION}/{directory}/"
    return {m.name[len(top):] for m in members
            if m.name.startswith(top) and "/" not in m.name[len(top):] and m.isfile()}


def test_tarball_layout(dist):
    members = _members(dist["tarball"])
    names = [m.name for m in members]
    top = f"apache-storm-{VERSION}"
    assert {PurePosixPath(n).parts[0] for n in names} == {top}
    children = {PurePosixPath(n).parts[1] for n in names if n != top}
    assert {"lib", "lib-worker", "extlib", "extlib-daemon", "RELEASE",
            "ASSEMBLED.txt"} <= children
    assert not children & {"bin", "lib-webapp"}

    lib, worker = _jars(members, "lib"), _jars(members, "lib-worker")
    for artifact in ("storm-server", "storm-client", "storm-core"):
        assert f"{artifact}-{VERSION}.jar" in lib
    assert not [j for j in lib if re.match(r"(storm-clojure|carbonite|clojure)", j)], lib
    assert f"storm-client-{VERSION}.jar" in worker
    assert not [j for j in worker if j.startswith("storm-server")], worker
    assert all(j.endswith(".jar") for j in lib | worker)

    by_name = {m.name: m for m in members}
    for empty in ("extlib", "extlib-daemon"):
        assert by_name[f"{top}/{empty}"].isdir()
        assert not [n for n in names if n.startswith(f"{top}/{empty}/")]
    with tarfile.open(dist["tarball"], "r:gz") as tar:
        assert tar.extractfile(f"{top}/RELEASE").read().decode() == f"{VERSION}\n"
        assembled = tar.extractfile(f"{top}/ASSEMBLED.txt").read().decode()
    assert "Maven" in assembled and "storm-core" in assembled


def test_tarball_is_normalised(dist):
    members = _members(dist["tarball"])
    assert len({m.mtime for m in members}) == 1
    assert {(m.uid, m.gid, m.uname, m.gname) for m in members} == {(0, 0, "root", "root")}
    assert all(m.isdir() or m.isfile() for m in members)
    names = [m.name for m in members]
    assert names == sorted(names, key=lambda n: PurePosixPath(n).parts)
    with open(dist["tarball"], "rb") as f:
        header = f.read(10)
    assert header[:3] == b"\x1f\x8b\x08" and header[4:8] == bytes(4)  # gzip, mtime 0


def test_tree_on_disk_matches_the_tarball(dist):
    members = _members(dist["tarball"])
    for directory, key in (("lib", "lib"), ("lib-worker", "lib_worker")):
        on_disk = {p.name: p.stat().st_size for p in dist[key].iterdir()}
        in_tar = {PurePosixPath(m.name).name: m.size for m in members
                  if PurePosixPath(m.name).parent.name == directory and m.isfile()}
        assert on_disk == in_tar


def test_sha512_file_matches(dist):
    text = dist["sha512"].read_text()
    digest = hashlib.sha512(dist["tarball"].read_bytes()).hexdigest()
    assert text == f"{digest}  {dist['tarball'].name}\n"


def test_second_build_is_a_no_op(dist):
    before = dist["tarball"].stat().st_mtime_ns, dist["sha512"].read_text()
    again = storm_dist.build(VERSION, OUT)
    assert again["cached"] is True
    assert (again["tarball"].stat().st_mtime_ns, again["sha512"].read_text()) == before


def test_force_rebuilds_identical_bytes(dist):
    digest = hashlib.sha512(dist["tarball"].read_bytes()).hexdigest()
    mtime = dist["tarball"].stat().st_mtime_ns
    proc = subprocess.run([sys.executable, str(REPO / "tools" / "storm_dist.py"), "--version",
                           VERSION, "--out", str(OUT), "--force"],
                          capture_output=True, text=True, timeout=1800, check=False)
    assert proc.returncode == 0, proc.stderr
    assert "cached:" not in proc.stderr and "resolve:" in proc.stderr
    assert dist["tarball"].stat().st_mtime_ns != mtime          # it was written again
    assert hashlib.sha512(dist["tarball"].read_bytes()).hexdigest() == digest
    assert storm_dist.build(VERSION, OUT)["cached"] is True


def test_unresolvable_version_fails_naming_the_artifact(tmp_path):
    """A release that was never published: mvn fails within seconds (bounded by timeout)."""
    version = "0.0.0-never-released"
    with pytest.raises(SystemExit) as failure:
        storm_dist.build(version, tmp_path, timeout=180)
    message = str(failure.value)
    assert f"org.apache.storm:storm-server:jar:{version}" in message, message
    assert f"org.apache.storm:storm-client:jar:{version}" in message, message
    assert "://" not in message
    assert not (tmp_path / f"apache-storm-{version}.tar.gz").exists()


@pytest.mark.parametrize("line, expected", [
    ("[ERROR] Failed to execute goal on project lib: Could not resolve dependencies for project "
     "local.storm-dist:lib:pom:1: Failed to collect dependencies at "
     "org.apache.storm:storm-server:jar:2.8.4: Failed to read artifact descriptor for "
     "org.apache.storm:storm-server:jar:2.8.4: Could not find artifact "
     "org.apache.storm:storm:pom:2.8.4 in central (https://mirror.invalid/m2) -> [Help 1]",
     "org.apache.storm:storm:pom:2.8.4 (needed by org.apache.storm:storm-server:jar:2.8.4): "
     "not found"),
    ("[ERROR] Failed to execute goal on project lib: Could not resolve dependencies for project "
     "local.storm-dist:lib:pom:1: org.apache.storm:storm-server:jar:9.9.9 was not found in "
     "https://mirror.invalid/m2 during a previous attempt. This failure was cached",
     "org.apache.storm:storm-server:jar:9.9.9: not found (failure cached by Maven)"),
    ("[ERROR] Failed to execute goal on project lib: Could not resolve dependencies for project "
     "local.storm-dist:lib:pom:1: Could not transfer artifact "
     "org.apache.storm:storm-core:jar:2.8.3 from/to central (https://mirror.invalid/m2): "
     "Connection refused -> [Help 1]",
     "org.apache.storm:storm-core:jar:2.8.3: could not be downloaded: Connection refused"),
])
def test_failure_explanations(line, expected):
    explained = storm_dist.explain_failure(f"\x1b[0m{line}\n[ERROR] \n")
    assert explained == expected
    assert "mirror.invalid" not in storm_dist.redact(line)
