"""
Test equipment: the Miniforge stand-in installer, Miniforge3-<version>-Linux-x86_64.sh.

Miniforge's download site is out of reach here, so the tests (and the lab) install this
instead: Miniforge's file name, a shell installer with Miniforge's options (-b, -p, -u, -f,
-h) and refusal of an existing prefix, and a prefix with Miniforge's layout whose `conda`
implements the subset of conda's command line the conda formula uses, with conda's
arguments, exit codes and JSON (test/standins/conda, described in its README.md).
STANDIN.txt in the installer's payload and in the installed prefix, the installer's header
and `conda info` say what it is.

The installer is a POSIX sh header followed by a gzip'd tar payload (constructor's
layout): the second-stage installer (install.py), the `conda_standin` package, and the
wheels of pip, packaging and PyYAML downloaded by the given Python (they must fit the
hosts' interpreter, Debian 12's CPython 3.11).  Members are sorted with fixed mtimes and
owners and gzip carries no timestamp: the same inputs give the same bytes, so the
checksum is stable.  Next to the installer goes `<installer>.sha256` in sha256sum format,
as Miniforge publishes it.

    python test/standins/build_miniforge.py [--out build/standins] [--python PY]
                                            [--version 24.11.3-0] [--cache DIR] [--force]
"""

import argparse
import gzip
import hashlib
import io
import json
import os
import pathlib
import re
import subprocess
import sys
import tarfile

HERE = pathlib.Path(__file__).resolve().parent
REPO = HERE.parents[1]
SOURCE = HERE / "conda"
DEFAULT_VERSION = "24.11.3-0"   # the conda formula's default installer version
MTIME = 1700000000  # fixed, so the same inputs give the same installer and checksum
# Installed into the base environment (unpacked, no pip run at install time); pinned.
WHEELS = ["pip==24.3.1", "packaging==24.2", "PyYAML==6.0.2"]
PAYLOAD_FILES = ["install.py", "conda.sh.in", "STANDIN.txt"]


def default_python():
    venv = os.environ.get("LAB_VENV", "/opt/storm-sklearn-lab/venv")
    return str(pathlib.Path(venv) / "bin" / "python")


def run(cmd, **kwargs):
    return subprocess.run(cmd, check=True, capture_output=True, text=True, **kwargs).stdout


def installer_name(version):
    return f"Miniforge3-{version}-Linux-x86_64.sh"


def conda_version(version):
    m = re.fullmatch(r"(\d+\.\d+\.\d+)(?:-\d+)?", version)
    if not m:
        raise SystemExit(f"build_miniforge: version {version!r} is not like 24.11.3-0")
    return m.group(1)


def source_files():
    files = [SOURCE / name for name in PAYLOAD_FILES]
    files += sorted(p for p in (SOURCE / "conda_standin").rglob("*.py")
                    if "__pycache__" not in p.parts)
    return files


def python_tag(python):
    return run([python, "-c", "import sys; print(sys.implementation.cache_tag)"]).strip()


def inputs_digest(version, tag):
    h = hashlib.sha256()
    for path in source_files() + [SOURCE / "header.sh.in", pathlib.Path(__file__)]:
        h.update(str(path.relative_to(REPO)).encode() + b"\0" + path.read_bytes() + b"\0")
    h.update(json.dumps([WHEELS, version, tag]).encode())
    return h.hexdigest()


def wheels(python, cache):
    """pip download the pinned wheels (cached per pins and interpreter)."""
    target = cache / "wheels"
    stamp = cache / "wheels.stamp"
    want = json.dumps([WHEELS, python_tag(python)])
    if stamp.exists() and stamp.read_text() == want and target.is_dir():
        return sorted(target.glob("*.whl"))
    for old in target.glob("*") if target.is_dir() else []:
        old.unlink()
    run([python, "-m", "pip", "download", "--quiet", "--disable-pip-version-check",
         "--no-deps", "--only-binary=:all:", "--dest", str(target), *WHEELS])
    stamp.write_text(want)
    return sorted(target.glob("*.whl"))


def payload(version, found_wheels):
    pip_version = next(w.name.split("-")[1] for w in found_wheels if w.name.startswith("pip-"))
    build = {"miniforge_version": version, "conda_version": conda_version(version),
             "pip_version": pip_version, "wheels": [w.name for w in found_wheels]}
    entries = {str(p.relative_to(SOURCE)): p.read_bytes() for p in source_files()}
    entries["build.json"] = (json.dumps(build, indent=2, sort_keys=True) + "\n").encode()
    for wheel in found_wheels:
        entries[f"wheels/{wheel.name}"] = wheel.read_bytes()
    dirs = {str(p) for name in entries for p in pathlib.PurePosixPath(name).parents} - {"."}
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.GNU_FORMAT) as tar:
        for name in sorted(dirs | set(entries)):
            info = tarfile.TarInfo(name)
            info.mtime, info.uid, info.gid, info.uname, info.gname = MTIME, 0, 0, "root", "root"
            if name in entries:
                info.size, info.mode = len(entries[name]), 0o644
                tar.addfile(info, io.BytesIO(entries[name]))
            else:
                info.type, info.mode = tarfile.DIRTYPE, 0o755
                tar.addfile(info)
    raw = io.BytesIO()
    with gzip.GzipFile(fileobj=raw, mode="wb", mtime=0, filename="") as gz:
        gz.write(buffer.getvalue())
    return raw.getvalue()


def header(version, data):
    text = (SOURCE / "header.sh.in").read_text()
    lines = text.count("\n") + 1  # the payload starts on the line after the header
    text = (text.replace("@VERSION@", version).replace("@LINES@", str(lines))
            .replace("@SHA256@", hashlib.sha256(data).hexdigest()))
    return text.encode()


def build(out, python, version=DEFAULT_VERSION, cache=None, force=False):
    out = pathlib.Path(out)
    out.mkdir(parents=True, exist_ok=True)
    cache = pathlib.Path(cache) if cache else out / ".miniforge-standin-cache"
    cache.mkdir(parents=True, exist_ok=True)
    tag = python_tag(python)
    if tag != "cpython-311":
        raise SystemExit(f"build_miniforge: {python} is {tag}; the hosts run Debian 12's "
                         "python3.11 and the PyYAML wheel must match it")
    conda_version(version)
    target = out / installer_name(version)
    stamp = out / f"{target.name}.inputs"
    digest_in = inputs_digest(version, tag)
    if force or not (target.exists() and stamp.exists() and stamp.read_text() == digest_in):
        data = payload(version, wheels(python, cache))
        tmp = target.with_name(target.name + ".tmp")
        tmp.write_bytes(header(version, data) + data)
        os.chmod(tmp, 0o755)
        os.replace(tmp, target)
        stamp.write_text(digest_in)
    digest = hashlib.sha256(target.read_bytes()).hexdigest()
    (out / f"{target.name}.sha256").write_text(f"{digest}  {target.name}\n")
    return target, digest


def main():
    parser = argparse.ArgumentParser(description=__doc__.strip().split("\n\n")[0])
    parser.add_argument("--out", default=str(REPO / "build" / "standins"))
    parser.add_argument("--python", default=default_python(),
                        help="CPython 3.11 that downloads the wheels (default: "
                             "$LAB_VENV/bin/python)")
    parser.add_argument("--version", default=DEFAULT_VERSION,
                        help="Miniforge release to stand in for, e.g. 24.11.3-0 (gives "
                             "conda 24.11.3)")
    parser.add_argument("--cache", help="wheel cache (default: <out>/.miniforge-standin-cache)")
    parser.add_argument("--force", action="store_true", help="rebuild even if up to date")
    args = parser.parse_args()
    try:
        target, digest = build(args.out, args.python, args.version, args.cache, args.force)
    except subprocess.CalledProcessError as exc:
        sys.exit(f"build_miniforge: {' '.join(exc.cmd)} failed:\n{exc.stderr}")
    print(f"{target}\nsha256={digest}")


if __name__ == "__main__":
    main()
