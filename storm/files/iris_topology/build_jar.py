#!/usr/bin/env python3
"""
Build the topology jar without Leiningen: a zip holding ``resources/<everything in src/>``,
which is what ``sparse jar`` would produce for a topology without Java components, and
what ``sparse submit -j iris.jar`` uploads to nimbus.  Storm unpacks ``resources/`` into
the topology's code directory on each supervisor, and runs the components there as
``<virtualenv>/bin/streamparse_run -s json spouts.iris.IrisSpout`` and so on.

    python3 build_jar.py [--src src] [--out iris.jar]

Reproducible: sorted entries, fixed timestamps and modes, no ``__pycache__``; the same
sources give the same bytes.  Standard library only.
"""

import argparse
import os
import sys
import zipfile

FIXED_TIME = (1980, 1, 1, 0, 0, 0)
SKIP_DIRS = {"__pycache__", ".pytest_cache", ".mypy_cache", ".ruff_cache"}


def members(src):
    for directory, dirs, files in os.walk(src):
        dirs[:] = sorted(d for d in dirs if d not in SKIP_DIRS and not d.startswith("."))
        for name in sorted(files):
            if name.endswith((".pyc", ".pyo")) or name.startswith("."):
                continue
            path = os.path.join(directory, name)
            yield path, "resources/" + os.path.relpath(path, src).replace(os.sep, "/")


def build(src, out):
    entries = sorted(members(src), key=lambda m: m[1])
    if not any(arcname.endswith(".py") for _path, arcname in entries):
        raise SystemExit(f"build_jar.py: no Python sources under {src}")
    tmp = f"{out}.tmp-{os.getpid()}"
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as jar:
        for path, arcname in entries:
            info = zipfile.ZipInfo(arcname, FIXED_TIME)
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            with open(path, "rb") as handle:
                jar.writestr(info, handle.read())
    os.replace(tmp, out)
    return [arcname for _path, arcname in entries]


def main(argv=None):
    here = os.path.dirname(os.path.abspath(__file__))
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--src", default=os.path.join(here, "src"))
    parser.add_argument("--out", default=os.path.join(os.getcwd(), "iris.jar"))
    args = parser.parse_args(argv)
    names = build(args.src, args.out)
    print(f"{args.out}: {len(names)} files under resources/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
