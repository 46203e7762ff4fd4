"""
Test equipment: the Storm 2.8.8 stand-in distribution, apache-storm-2.8.8.tar.gz.

Apache's download site is out of reach here, so the tests (and the lab) install this
instead: Apache's file name and top directory, bin/storm, conf/storm.yaml, RELEASE, and a
Python implementation of the daemons against Storm's real interfaces (test/standins/
storm, described in test/standins/README.md).  STANDIN.txt at the top of the archive and
`storm version` say what it is.

The archive vendors what the daemons import besides the stdlib (kazoo, thriftpy2 and its
dependencies, PyYAML) into lib/standin-python, installed by `pip install --target` run by
the given Python so compiled parts match the hosts' interpreter (Debian 12's python3.11),
and Storm's Thrift IDL as streamparse 5.0.1 ships it.  Members are sorted with fixed
mtimes and owners and gzip carries no timestamp: the same inputs give the same bytes, so
the checksum is stable.

    python test/standins/build_storm.py [--out build/standins] [--python PY]
                                        [--sha512-format sha512sum|gpg] [--force]
"""

import argparse
import ast
import gzip
import hashlib
import io
import json
import os
import pathlib
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile

HERE = pathlib.Path(__file__).resolve().parent
REPO = HERE.parents[1]
SOURCE = HERE / "storm"
KEYS = REPO / "storm" / "parameters" / "storm_keys.yaml"
VERSION = (SOURCE / "RELEASE").read_text().strip()
TOP = f"apache-storm-{VERSION}"
MTIME = 1700000000  # fixed, so the same inputs give the same archive and checksum
# What the daemons import, pinned with the dependencies pip would pick (installed --no-deps).
VENDORED = ["kazoo==2.11.0", "thriftpy2==0.7.1", "ply==3.11", "ijson==3.6.0",
            "PyYAML==6.0.4"]
IDL_FROM = "streamparse==5.0.1"
IDL_HEADER = ("# Apache Storm's storm.thrift as streamparse 5.0.1 ships it "
              "(streamparse/thrift.py).\n# Apache License 2.0, (c) The Apache Software "
              "Foundation.  Loaded with thriftpy2.\n")


def default_python():
    venv = os.environ.get("LAB_VENV", "/opt/storm-sklearn-lab/venv")
    return str(pathlib.Path(venv) / "bin" / "python")


def run(cmd, **kwargs):
    return subprocess.run(cmd, check=True, capture_output=True, text=True, **kwargs).stdout


def python_tag(python):
    return run([python, "-c", "import sys; print(sys.implementation.cache_tag)"]).strip()


def source_files():
    return sorted(p for p in SOURCE.rglob("*") if p.is_file()
                  and "__pycache__" not in p.parts and p.suffix != ".pyc")


def inputs_digest(python, tag):
    h = hashlib.sha256()
    for path in source_files() + [KEYS, pathlib.Path(__file__)]:
        h.update(str(path.relative_to(REPO)).encode() + b"\0" + path.read_bytes() + b"\0")
    h.update(json.dumps([VENDORED, IDL_FROM, tag]).encode())
    return h.hexdigest()


def vendor(python, cache):
    """pip install --target the pinned packages (cached per pins and interpreter)."""
    target = cache / "standin-python"
    stamp = cache / "standin-python.stamp"
    want = json.dumps([VENDORED, python_tag(python)])
    if stamp.exists() and stamp.read_text() == want and target.is_dir():
        return target
    shutil.rmtree(target, ignore_errors=True)
    run([python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
         "--no-deps", "--only-binary=:all:", "--no-compile", "--target", str(target),
         *VENDORED])
    shutil.rmtree(target / "bin", ignore_errors=True)
    for pycache in list(target.rglob("__pycache__")):
        shutil.rmtree(pycache, ignore_errors=True)
    lines = ["Python packages vendored for the Storm stand-in's daemons (pip install "
             "--target, --no-deps):", ""]
    for meta in sorted(target.glob("*.dist-info/METADATA")):
        fields = dict(line.split(": ", 1) for line in meta.read_text().splitlines()
                      if ": " in line and not line.startswith(" "))
        lines.append(f"{fields.get('Name')} {fields.get('Version')}  licence: "
                     f"{fields.get('License-Expression') or fields.get('License') or '?'}")
    (target / "VENDORED.txt").write_text("\n".join(lines) + "\n")
    stamp.write_text(want)
    return target


def storm_idl(python, cache):
    """storm.thrift, taken from the streamparse wheel (its _THRIFT_STR)."""
    cached = cache / "storm.thrift"
    if cached.exists():
        return cached.read_text()
    with tempfile.TemporaryDirectory() as tmp:
        run([python, "-m", "pip", "download", "--quiet", "--disable-pip-version-check",
             "--no-deps", "--only-binary=:all:", "--dest", tmp, IDL_FROM])
        wheel = next(pathlib.Path(tmp).glob("streamparse-*.whl"))
        with zipfile.ZipFile(wheel) as archive:
            module = ast.parse(archive.read("streamparse/thrift.py").decode())
    for node in module.body:
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") == "_THRIFT_STR":
            text = IDL_HEADER + node.value.value.lstrip("\n")
            cached.write_text(text)
            return text
    raise SystemExit("build_storm: streamparse/thrift.py has no _THRIFT_STR")


def add(tar, name, data=None, mode=0o644):
    info = tarfile.TarInfo(f"{TOP}/{name}" if name else TOP)
    info.mtime, info.uname, info.gname = MTIME, "root", "root"
    if data is None:
        info.type, info.mode = tarfile.DIRTYPE, 0o755
        tar.addfile(info)
    else:
        info.size, info.mode = len(data), mode
        tar.addfile(info, io.BytesIO(data))


def gpg_print_md(name, digest):
    """`gpg --print-md SHA512` layout: name, colon, upper-case hex in groups of 8."""
    groups = [digest[i:i + 8].upper() for i in range(0, len(digest), 8)]
    rows = [" ".join(groups[i:i + 8]) for i in range(0, len(groups), 8)]
    return f"{name}: " + ("\n" + " " * (len(name) + 2)).join(rows) + "\n"


def build(out, python, sha512_format="sha512sum", force=False):
    out = pathlib.Path(out)
    cache = out / ".storm-standin-cache"
    cache.mkdir(parents=True, exist_ok=True)
    tag = python_tag(python)
    if tag != "cpython-311":
        raise SystemExit(f"build_storm: {python} is {tag}; the hosts run Debian 12's "
                         "python3.11 and the vendored compiled modules must match it")
    target = out / f"{TOP}.tar.gz"
    stamp = out / f"{TOP}.tar.gz.inputs"
    digest_in = inputs_digest(python, tag)
    if not force and target.exists() and stamp.exists() and stamp.read_text() == digest_in:
        digest = hashlib.sha512(target.read_bytes()).hexdigest()
    else:
        files = {}
        for path in source_files():
            files[str(path.relative_to(SOURCE))] = path
        files["lib/standin/stormstandin/storm_keys.yaml"] = KEYS
        vendored = vendor(python, cache)
        for path in vendored.rglob("*"):
            if path.is_file():
                files[str(pathlib.Path("lib/standin-python") / path.relative_to(vendored))] = path
        idl = storm_idl(python, cache).encode()
        entries = {name: path.read_bytes() for name, path in files.items()}
        entries["lib/standin/stormstandin/storm.thrift"] = idl
        dirs = {str(p) for name in entries for p in pathlib.PurePosixPath(name).parents}
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w", format=tarfile.GNU_FORMAT) as tar:
            for name in sorted(dirs | set(entries)):
                if name in entries:
                    executable = name == "bin/storm" or name.endswith(".so")
                    add(tar, name, entries[name], 0o755 if executable else 0o644)
                else:
                    add(tar, "" if name == "." else name)
        # gzip with a fixed mtime and no file name in the header: reproducible bytes.
        with open(target, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0,
                                                       filename="") as gz:
            gz.write(buffer.getvalue())
        digest = hashlib.sha512(target.read_bytes()).hexdigest()
        stamp.write_text(digest_in)
    checksum = out / f"{target.name}.sha512"
    if sha512_format == "gpg":
        checksum.write_text(gpg_print_md(target.name, digest))
    else:
        checksum.write_text(f"{digest}  {target.name}\n")
    return target, digest


def main():
    parser = argparse.ArgumentParser(description=__doc__.strip().split("\n\n")[0])
    parser.add_argument("--out", default=str(REPO / "build" / "standins"))
    parser.add_argument("--python", default=default_python(),
                        help="Python 3.11 that runs pip for the vendored packages "
                             "(default: $LAB_VENV/bin/python)")
    parser.add_argument("--sha512-format", choices=("sha512sum", "gpg"), default="sha512sum",
                        help="sha512sum: '<hex>  <file>' (Apache since mid-2024); gpg: the "
                             "older `gpg --print-md SHA512` layout")
    parser.add_argument("--force", action="store_true", help="rebuild even if up to date")
    args = parser.parse_args()
    try:
        target, digest = build(args.out, args.python, args.sha512_format, args.force)
    except subprocess.CalledProcessError as exc:
        sys.exit(f"build_storm: {' '.join(exc.cmd)} failed:\n{exc.stderr}")
    print(f"{target}\nsha512={digest}")


if __name__ == "__main__":
    main()
