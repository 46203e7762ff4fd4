"""build_miniforge.py: Miniforge's file name, a sha256sum-format .sha256, a constructor-like
header over a reproducible payload."""

import hashlib
import io
import re
import subprocess
import sys
import tarfile

from test_conda_fixtures import BUILD, BUILDER

NAME = "Miniforge3-24.11.3-2-Linux-x86_64.sh"


def build(out, *args):
    proc = subprocess.run([sys.executable, str(BUILDER), "--out", str(out), "--python",
                           sys.executable, "--cache", str(BUILD / ".miniforge-standin-cache"),
                           *args], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    return proc


def split(installer):
    data = installer.read_bytes()
    head, _, payload = data.partition(b"@@END_HEADER@@\n")
    return head.decode(), payload


def test_name_checksum_header_and_reproducibility(tmp_path):
    proc = build(tmp_path, "--version", "24.11.3-2")
    installer = tmp_path / NAME
    first = hashlib.sha256(installer.read_bytes()).hexdigest()
    assert proc.stdout.splitlines() == [str(installer), f"sha256={first}"]
    assert (tmp_path / f"{NAME}.sha256").read_text() == f"{first}  {NAME}\n"
    assert installer.stat().st_mode & 0o777 == 0o755

    header, payload = split(installer)
    assert header.startswith("#!/bin/sh\n")
    assert "# VER:   24.11.3-2\n" in header and "NOT Miniforge" in header
    lines = int(re.search(r"# LINES: (\d+)", header).group(1))
    assert lines == header.count("\n") + 2  # payload starts right after @@END_HEADER@@
    assert hashlib.sha256(payload).hexdigest() in header

    with tarfile.open(fileobj=io.BytesIO(payload)) as tar:
        members = {m.name: m for m in tar.getmembers()}
        build_json = tar.extractfile("build.json").read().decode()
        standin = tar.extractfile("STANDIN.txt").read()
    assert '"conda_version": "24.11.3"' in build_json
    assert b"NOT Miniforge" in standin
    for needed in ("install.py", "conda.sh.in", "conda_standin/cli.py"):
        assert needed in members, needed
    wheels = sorted(n for n in members if n.startswith("wheels/"))
    assert [w.split("/")[1].split("-")[0] for w in wheels] == ["PyYAML", "packaging", "pip"]
    assert {m.mtime for m in members.values()} == {1700000000}
    assert {m.uname for m in members.values()} == {"root"}

    build(tmp_path, "--version", "24.11.3-2", "--force")
    assert hashlib.sha256(installer.read_bytes()).hexdigest() == first


def test_bad_version_refused(tmp_path):
    proc = subprocess.run([sys.executable, str(BUILDER), "--out", str(tmp_path), "--python",
                           sys.executable, "--version", "latest"], capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode != 0 and "not like 24.11.3-0" in proc.stderr
